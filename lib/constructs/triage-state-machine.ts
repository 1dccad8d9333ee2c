/**
 * The batch state machine (Standard): PrepareBatch → Distributed Map over items.jsonl (ItemBatcher, Express children
 * Preprocess → Classify → Triage → Persist) → Report. Written in JSONPath (not JSONata) so the local runner's ASL
 * interpreter executes the very same definition.
 *
 * Failure handling: each task retries transient errors with backoff; a child batch that still fails is tolerated by
 * the map (its assets become FAILED / NOT_PROCESSED in Report's reconciliation), and a map-level failure is caught and
 * still reported. A batch-level refusal ends at the `BatchRefused` Succeed state with the reason in the output.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  Choice,
  Condition,
  DefinitionBody,
  DistributedMap,
  Fail,
  ItemBatcher,
  JsonPath,
  LogLevel,
  S3JsonLItemReader,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  type IChainable,
  type TaskStateBase,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { StageName } from '../../lambdas/stages';

export interface TriageStateMachineProps {
  readonly functions: Record<StageName, IFunction>;
  /** Bucket holding each batch's items.jsonl (the map's ItemReader source). */
  readonly dataBucket: IBucket;
  /**
   * Child executions running at once; size it to the endpoints' concurrency.
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * Assets per child execution (ItemBatcher). Express children stop at 5 minutes, so a child's worst case (the four
   * stage timeouts) must fit in that; 10 assets keep a cold serverless endpoint well inside it.
   * @default 10
   */
  readonly assetsPerChild?: number;
}

/** State names are part of the local runner's contract (it replaces the Distributed Map by name). */
export const STATE_NAMES = {
  prepare: 'PrepareBatch',
  refused: 'BatchRefused',
  anyItems: 'AnyAssetsToProcess',
  map: 'ProcessAssets',
  report: 'Report',
  done: 'BatchReported',
  failed: 'BatchFailed',
} as const;

export class TriageStateMachine extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: TriageStateMachineProps) {
    super(scope, id);
    const task = (stage: StageName, payload?: TaskInput): TaskStateBase =>
      new LambdaInvoke(this, stage, {
        lambdaFunction: props.functions[stage],
        payload,
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
      }).addRetry({ errors: ['States.TaskFailed'], interval: Duration.seconds(2), maxAttempts: 2, backoffRate: 2 });

    const failed = new Fail(this, STATE_NAMES.failed, { error: 'BatchFailed', cause: 'A batch-level stage failed after retries' });
    const prepare = task('PrepareBatch').addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    const report = task('Report', TaskInput.fromObject({ batchId: JsonPath.stringAt('$.batchId') }))
      .addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' })
      .next(new Succeed(this, STATE_NAMES.done));

    // Best effort: a failed cross-check must not keep the batch from being reported.
    const crossCheck = task('CrossCheck', TaskInput.fromObject({ batchId: JsonPath.stringAt('$.batchId') }))
      .addCatch(report, { errors: ['States.ALL'], resultPath: '$.crossCheckError' });
    crossCheck.next(report);

    const child: IChainable = task('Preprocess').next(task('Classify')).next(task('Triage')).next(task('Persist'));
    const processAssets = new DistributedMap(this, STATE_NAMES.map, {
      itemReader: new S3JsonLItemReader({ bucket: props.dataBucket, key: JsonPath.stringAt('$.itemsKey') }),
      itemBatcher: new ItemBatcher({ maxItemsPerBatch: props.assetsPerChild ?? 10 }),
      maxConcurrency: props.maxConcurrency ?? 5,
      mapExecutionType: StateMachineType.EXPRESS,
      // Report reconciles from the records table, so a failed child never needs to stop the others.
      toleratedFailurePercentage: 100,
      resultPath: JsonPath.DISCARD,
      label: 'ProcessAssets',
    });
    processAssets.itemProcessor(child);
    processAssets.addCatch(crossCheck, { errors: ['States.ALL'], resultPath: '$.mapError' });

    const definition = prepare.next(
      new Choice(this, 'IsBatchRefused')
        .when(Condition.stringEquals('$.status', 'REFUSED'), new Succeed(this, STATE_NAMES.refused))
        .otherwise(
          new Choice(this, STATE_NAMES.anyItems)
            .when(Condition.numberGreaterThan('$.itemsToProcess', 0), processAssets.next(crossCheck))
            .otherwise(report),
        ),
    );

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      definitionBody: DefinitionBody.fromChainable(definition),
      stateMachineType: StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
        level: LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    // Distributed Map IAM gaps (aws/aws-cdk#28820, #32144, #35390): aws-cdk-lib 2.276 adds its own
    // DistributedMapPolicy (start/describe/stop child executions); the test suite asserts it is there. The
    // ItemReader reads items.jsonl from the data bucket.
    props.dataBucket.grantRead(this.stateMachine);
    for (const fn of Object.values(props.functions)) fn.grantInvoke(this.stateMachine);
  }
}
