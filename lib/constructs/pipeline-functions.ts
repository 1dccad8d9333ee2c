/**
 * One StageFunction per entry of the stage registry, each granted exactly the access its entry declares.
 */
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SettingKey } from '../../lambdas/adapters/settings';
import { CLASSIFY_MODEL_CALL_BUDGET_MS, DEFAULT_MODEL_RETRY_BASE_DELAY_MS, STAGES, STAGE_NAMES, type Access, type StageName } from '../../lambdas/stages';
import { StageFunction } from './stage-function';

export interface PipelineFunctionsProps {
  readonly dataBucket: IBucket;
  readonly reportsBucket: IBucket;
  readonly table: ITableV2;
  readonly reviewQueue: IQueue;
  /** Grants sagemaker:InvokeEndpoint on the model endpoints. */
  readonly grantModelInvoke: (grantee: IGrantable) => void;
  /**
   * Grants states:StartExecution on the triage state machine. Called while the functions are created, before the state
   * machine (which invokes them) exists: defer the grant, e.g. with a Lazy ARN.
   */
  readonly grantExecutionStart: (grantee: IGrantable) => void;
  /** Settings that are not resource names (pipeline version, model ids/versions, payload limits, endpoint names). */
  readonly settings: Partial<Record<SettingKey, string>>;
}

export class PipelineFunctions extends Construct {
  readonly functions: Record<StageName, StageFunction>;

  constructor(scope: Construct, id: string, props: PipelineFunctionsProps) {
    super(scope, id);
    const settings: Partial<Record<SettingKey, string>> = {
      ...props.settings,
      tableName: props.table.tableName,
      dataBucket: props.dataBucket.bucketName,
      reportsBucket: props.reportsBucket.bucketName,
      reviewQueueUrl: props.reviewQueue.queueUrl,
      // Derived from Classify's timeout, so the deadline moves with it.
      modelCallBudgetMs: String(CLASSIFY_MODEL_CALL_BUDGET_MS),
      modelRetryBaseDelayMs: String(DEFAULT_MODEL_RETRY_BASE_DELAY_MS),
    };
    const grants: Record<Access, (grantee: IGrantable) => void> = {
      'data:read': (g) => props.dataBucket.grantRead(g),
      'data:write': (g) => props.dataBucket.grantPut(g),
      'reports:write': (g) => props.reportsBucket.grantPut(g),
      // The report tree only (the drift baseline and the roll-up read earlier summaries), not Athena's results.
      'reports:read': (g) => props.reportsBucket.grantRead(g, 'reports/*'),
      'records:read': (g) => props.table.grantReadData(g),
      'records:write': (g) => props.table.grantWriteData(g),
      'review:send': (g) => props.reviewQueue.grantSendMessages(g),
      'models:invoke': props.grantModelInvoke,
      'executions:start': props.grantExecutionStart,
      // Only the guard's own items: a leading-key condition keeps Classify away from asset and batch records.
      'models:guard': (g) =>
        Grant.addToPrincipal({
          grantee: g,
          actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
          resourceArns: [props.table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SEMAPHORE#*'] } },
        }),
    };
    this.functions = Object.fromEntries(
      STAGE_NAMES.map((stageName) => {
        const stage = STAGES[stageName];
        const fn = new StageFunction(this, stageName, { stageName, stage, settings });
        for (const access of stage.access) grants[access](fn);
        return [stageName, fn];
      }),
    ) as Record<StageName, StageFunction>;
  }
}
