/**
 * The batch state machine (Standard): PrepareBatch → Distributed Map over items.jsonl (ItemBatcher, Express children
 * Preprocess → Classify → Triage → Persist) → Report. Written in JSONPath (not JSONata) so the local runner's ASL
 * interpreter executes the very same definition.
 *
 * Failure handling: the batch-level tasks (Standard execution) retry Lambda service errors and task failures with
 * backoff. The child tasks run in an Express execution that stops at 5 minutes, retries and waits included, so their
 * retries are budgeted (CHILD_RETRIES): Preprocess, Triage and Persist get one retry after 2 s, Classify none (it
 * retries its model calls itself, within a deadline). A child batch that still fails is tolerated by the map (its
 * assets become FAILED / NOT_PROCESSED in Report's reconciliation), and a map-level failure is caught and still
 * reported. A batch-level refusal ends at the `BatchRefused` Succeed state with the reason in the output.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import {
  Choice,
  type RetryProps,
  Condition,
  DefinitionBody,
  DistributedMap,
  Fail,
  ResultWriterV2,
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
import { PIPELINE_STAGE_NAMES, type StageName } from '../../lambdas/stages';

/** Stages of a map child, in order. */
type ChildStage = 'Preprocess' | 'Classify' | 'Triage' | 'Persist';

/**
 * Step Functions retries of each child task. Express children stop at 5 minutes, so the worst case (each attempt
 * running into its function timeout, lambdas/stages.ts) must fit: 2 × 35 + 2 (Preprocess) + 140 (Classify) +
 * 2 × 10 + 2 (Triage) + 2 × 15 + 2 (Persist) = 266 s. One retrier on `States.TaskFailed` covers Lambda service and
 * throttling errors as well as a failed invocation (it matches every error but `States.Timeout`). Classify has none:
 * it retries model errors and throttling itself within its deadline, and a second Classify attempt (140 s) does not
 * fit. test/cdk/stack.test.ts recomputes the worst case from the synthesized template.
 */
export const CHILD_RETRIES: Record<ChildStage, RetryProps | undefined> = {
  Preprocess: { errors: ['States.TaskFailed'], interval: Duration.seconds(2), maxAttempts: 1 },
  Classify: undefined,
  Triage: { errors: ['States.TaskFailed'], interval: Duration.seconds(2), maxAttempts: 1 },
  Persist: { errors: ['States.TaskFailed'], interval: Duration.seconds(2), maxAttempts: 1 },
};

/** Step Functions limits a child's state (each input and output) to 256 KiB (`States.DataLimitExceeded`). */
const STATE_PAYLOAD_LIMIT_BYTES = 256 * 1024;

export interface TriageStateMachineProps {
  readonly functions: Record<StageName, IFunction>;
  /** Bucket holding each batch's items.jsonl (the map's ItemReader source). */
  readonly dataBucket: IBucket;
  /**
   * Child executions running at once (Distributed Map MaxConcurrency, 1-10,000); size it to the endpoints'
   * concurrency. Across executions the endpoint concurrency guard (lambdas/adapters/endpoint-guard.ts) holds.
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * Assets per child execution (ItemBatcher `MaxItemsPerBatch`). Express children stop at 5 minutes, retries
   * included, and the child stages' timeouts (lambdas/stages.ts) are sized for 5 assets: Preprocess decodes each
   * image (up to ≈4 s for a 35 MP JPEG on arm64) and Classify must leave room for a cold serverless endpoint (up to
   * 60 s, retried once) on top of the other assets. At most {@link MAX_ASSETS_PER_CHILD}; raise that only together
   * with those timeouts.
   * @default 5
   */
  readonly assetsPerChild?: number;
  /**
   * Most bytes of work items per child execution (ItemBatcher `MaxInputBytesPerBatch`), whatever the listings hold.
   * A child's state carries every asset's work item from Preprocess to Persist and grows per asset by the image facts
   * (≈0.5 KiB), the two models' label scores and lineage (≈2 KiB with 17 candidate labels) and the triage decision
   * with its evidence and explanation (≈2 KiB): ≈4-5 KiB (the demo batch's records, which hold all of it but the raw
   * label scores, are at most 2.6 KB beyond their listing), counted as 8 KiB. With 64 KiB of items and
   * 5 assets the largest state is 64 + 5 × 8 = 104 KiB, under half of the 256 KiB limit; a single item of up to
   * ≈16 KiB (the manifest's field limits) still makes a batch of its own. Must stay at most 256 KiB.
   * @default 65536 (64 KiB)
   */
  readonly maxInputBytesPerBatch?: number;
}

/** The child stages' timeouts (lambdas/stages.ts) are sized for this many assets per child. */
export const MAX_ASSETS_PER_CHILD = 5;
/** The Distributed Map's own ceiling on MaxConcurrency. */
export const DISTRIBUTED_MAP_MAX_CONCURRENCY = 10_000;

/** 64 KiB: see {@link TriageStateMachineProps.maxInputBytesPerBatch}. */
export const DEFAULT_MAX_INPUT_BYTES_PER_BATCH = 64 * 1024;

/** Where the map's ResultWriter puts each Map Run's results in the data bucket (`<prefix>/<map run id>/manifest.json`). */
export const MAP_RESULTS_PREFIX = 'map-results';

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
    // Batch-level tasks: the Standard execution has no time limit worth budgeting against.
    const task = (stage: StageName, payload?: TaskInput): TaskStateBase =>
      new LambdaInvoke(this, stage, {
        lambdaFunction: props.functions[stage],
        payload,
        payloadResponseOnly: true,
        retryOnServiceExceptions: true,
      }).addRetry({ errors: ['States.TaskFailed'], interval: Duration.seconds(2), maxAttempts: 2, backoffRate: 2 });
    // Child tasks: exactly the retries of CHILD_RETRIES (no service-exception retrier, whose six attempts alone
    // would wait 126 s).
    const childTask = (stage: ChildStage): TaskStateBase => {
      const invoke = new LambdaInvoke(this, stage, {
        lambdaFunction: props.functions[stage],
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
      });
      const retry = CHILD_RETRIES[stage];
      return retry === undefined ? invoke : invoke.addRetry(retry);
    };
    const maxInputBytesPerBatch = props.maxInputBytesPerBatch ?? DEFAULT_MAX_INPUT_BYTES_PER_BATCH;
    if (!Number.isInteger(maxInputBytesPerBatch) || maxInputBytesPerBatch < 1 || maxInputBytesPerBatch > STATE_PAYLOAD_LIMIT_BYTES) {
      throw new Error(`maxInputBytesPerBatch must be an integer from 1 to ${STATE_PAYLOAD_LIMIT_BYTES}, got ${maxInputBytesPerBatch}`);
    }
    const maxConcurrency = props.maxConcurrency ?? 5;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > DISTRIBUTED_MAP_MAX_CONCURRENCY) {
      throw new Error(`maxConcurrency must be an integer from 1 to ${DISTRIBUTED_MAP_MAX_CONCURRENCY}, got ${maxConcurrency}`);
    }
    const assetsPerChild = props.assetsPerChild ?? MAX_ASSETS_PER_CHILD;
    if (!Number.isInteger(assetsPerChild) || assetsPerChild < 1 || assetsPerChild > MAX_ASSETS_PER_CHILD) {
      throw new Error(
        `assetsPerChild must be an integer from 1 to ${MAX_ASSETS_PER_CHILD} (the child stages' timeouts are sized for ${MAX_ASSETS_PER_CHILD}), got ${assetsPerChild}`,
      );
    }

    const failed = new Fail(this, STATE_NAMES.failed, { error: 'BatchFailed', cause: 'A batch-level stage failed after retries' });
    // PrepareBatch stores the execution's ARN on the batch record, so `media-triage status <batchId> --stack` can
    // find the execution of a batch (the upload starts it through EventBridge, which names no execution).
    const prepare = task(
      'PrepareBatch',
      TaskInput.fromObject({
        bucket: JsonPath.stringAt('$.bucket'),
        key: JsonPath.stringAt('$.key'),
        receivedAt: JsonPath.stringAt('$.receivedAt'),
        executionArn: JsonPath.executionId,
      }),
    ).addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    const report = task('Report', TaskInput.fromObject({ batchId: JsonPath.stringAt('$.batchId') }))
      .addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' })
      .next(new Succeed(this, STATE_NAMES.done));

    // Best effort: a failed cross-check must not keep the batch from being reported.
    const crossCheck = task('CrossCheck', TaskInput.fromObject({ batchId: JsonPath.stringAt('$.batchId') })).addCatch(report, {
      errors: ['States.ALL'],
      resultPath: '$.crossCheckError',
    });
    crossCheck.next(report);

    const child: IChainable = childTask('Preprocess').next(childTask('Classify')).next(childTask('Triage')).next(childTask('Persist'));
    const processAssets = new DistributedMap(this, STATE_NAMES.map, {
      itemReader: new S3JsonLItemReader({ bucket: props.dataBucket, key: JsonPath.stringAt('$.itemsKey') }),
      itemBatcher: new ItemBatcher({ maxItemsPerBatch: assetsPerChild, maxInputBytesPerBatch }),
      maxConcurrency,
      mapExecutionType: StateMachineType.EXPRESS,
      // Report reconciles from the records table, so a failed child never needs to stop the others.
      toleratedFailurePercentage: 100,
      resultPath: JsonPath.DISCARD,
      // The children's results go to S3, not into the map's output: without a ResultWriter every child's output
      // (and every failed child's error and cause) adds to the map's result, which may hold 256 KiB — a batch of
      // thousands of children would fail there with States.DataLimitExceeded.
      resultWriterV2: new ResultWriterV2({ bucket: props.dataBucket, prefix: MAP_RESULTS_PREFIX }),
      label: 'ProcessAssets',
    });
    processAssets.itemProcessor(child);
    processAssets.addCatch(crossCheck, { errors: ['States.ALL'], resultPath: '$.mapError' });

    const definition = prepare.next(
      new Choice(this, 'IsBatchRefused')
        .when(Condition.stringEquals('$.status', 'REFUSED'), new Succeed(this, STATE_NAMES.refused))
        .otherwise(
          new Choice(this, STATE_NAMES.anyItems).when(Condition.numberGreaterThan('$.itemsToProcess', 0), processAssets.next(crossCheck)).otherwise(report),
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
    // Only its own stages: the scheduled Nightly is invoked by the scheduler, never by the state machine.
    for (const stage of PIPELINE_STAGE_NAMES) props.functions[stage].grantInvoke(this.stateMachine);
  }
}
