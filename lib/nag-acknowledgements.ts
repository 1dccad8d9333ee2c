/**
 * cdk-nag (AwsSolutions) findings this stack accepts, each with the reason. cdk-nag 3 reports through CDK's
 * validation API, where an acknowledgement must name the exact finding (rule id plus `[Action::…]` or
 * `[Resource::…]`), so the findings below are spelled out from the resources' logical ids. Anything not listed
 * fails synthesis, and the CDK test fails with it.
 */
import { Stack, Token, Validations, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { MODEL_INPUT_PREFIX } from '../lambdas/core/work-items';
import { PIPELINE_STAGE_NAMES } from '../lambdas/stages';
import { STATE_NAMES } from './constructs/triage-state-machine';
import type { MediaTriageStack } from './media-triage-stack';

function acknowledge(scope: IConstruct, findings: string[], reason: string): void {
  for (const id of findings) Validations.of(scope).acknowledge({ id: `AwsSolutions::${id}`, reason });
}

const LAMBDA_LOGS_POLICY = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
const LAMBDA_LOGS_REASON = 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs: the standard minimal policy.';
const S3_READ_ACTIONS = ['s3:GetBucket*', 's3:GetObject*', 's3:List*'].map((action) => `AwsSolutions-IAM5[Action::${action}]`);
const S3_GRANT_ACTIONS = ['AwsSolutions-IAM5[Action::s3:Abort*]', ...S3_READ_ACTIONS];

export function acknowledgeNagFindings(stack: MediaTriageStack): void {
  const ref = (construct: IConstruct): string => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const data = ref(stack.storage.dataBucket);
  const reports = ref(stack.storage.reportsBucket);
  const table = ref(stack.records.table);

  acknowledge(stack.pipeline, [LAMBDA_LOGS_POLICY], LAMBDA_LOGS_REASON);
  acknowledge(
    stack.pipeline,
    [
      ...S3_GRANT_ACTIONS,
      `AwsSolutions-IAM5[Resource::<${data}.Arn>/*]`,
      `AwsSolutions-IAM5[Resource::<${reports}.Arn>/*]`,
      `AwsSolutions-IAM5[Resource::<${reports}.Arn>/reports/*]`,
      `AwsSolutions-IAM5[Resource::<${table}.Arn>/index/*]`,
      'AwsSolutions-IAM5[Resource::*]',
    ],
    'Grants are scoped to this stack’s own buckets, table and queue. Object keys are per batch (staging/<batch>/, ' +
      'preprocessed/<sha256>.jpg, reports/<table>/dt=…/batch_id=…/), so they end in /*; Report reads back only the report tree (reports/*: ' +
      'earlier summaries for the drift baseline and the daily roll-up), never the Athena results; grantReadData covers the table’s ' +
      'indexes (index/*); X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (Resource::*).',
  );

  const stateMachine = stack.stateMachine.stateMachine;
  const smName = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${ref(stateMachine)}"}]}]}`;
  // With a concrete account (cdk synth with credentials) the policy holds the account number, not the pseudo-parameter.
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  const executions = `arn:<AWS::Partition>:states:${stack.region}:${account}:execution:${smName}`;
  acknowledge(
    stack.stateMachine,
    [
      ...PIPELINE_STAGE_NAMES.map((stage) => `AwsSolutions-IAM5[Resource::<${ref(stack.pipeline.functions[stage])}.Arn>:*]`),
      ...S3_READ_ACTIONS,
      `AwsSolutions-IAM5[Resource::<${data}.Arn>/*]`,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${data}>/*]`,
      `AwsSolutions-IAM5[Resource::${executions}:*]`,
      `AwsSolutions-IAM5[Resource::${executions}/ProcessAssets:*]`,
      'AwsSolutions-IAM5[Resource::*]',
    ],
    'The state machine invokes its stage functions (any version: ARN:*), reads each batch’s items.jsonl from the data ' +
      'bucket and writes the Map Run results under map-results/<map run id>/ there (ResultWriter), describes/stops its own Distributed Map child executions (names known only at run time), and delivers ' +
      'X-Ray traces and logs, which support no resource-level permissions.',
  );

  acknowledge(
    stack.reviewers,
    [`AwsSolutions-IAM5[Resource::<${data}.Arn>/${MODEL_INPUT_PREFIX}*]`],
    'Reviewers read the preprocessed images they are shown; those keys are content-addressed (preprocessed/<sha256>.jpg), ' +
      'so the grant is the prefix: nothing else in the data bucket.',
  );

  if (stack.encryptionKey !== undefined) {
    acknowledge(
      stack.pipeline,
      ['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]'],
      'With customerManagedKey, the bucket, table and queue grants of aws-cdk-lib add the key actions S3, DynamoDB and SQS ' +
        'need for SSE-KMS (GenerateDataKey* covers the with/without-plaintext variants, ReEncrypt* from/to), on this one key only.',
    );
  }
  const mapRuns = `arn:<AWS::Partition>:states:${stack.region}:${account}:mapRun:${smName}/${STATE_NAMES.map}`;
  acknowledge(
    stack.operators,
    [`AwsSolutions-IAM5[Resource::${executions}:*]`, `AwsSolutions-IAM5[Resource::${mapRuns}:*]`],
    'Operators describe and redrive this state machine’s own executions and Map Runs, whose ids are known only at run ' +
      'time: the grant is this state machine’s execution and map-run ARNs, nothing else.',
  );

  acknowledge(stack.triggerDeadLetterQueue, ['AwsSolutions-SQS3'], 'This queue is itself the dead-letter queue of the EventBridge rule target.');
  acknowledge(
    stack.nightly.deadLetterQueue,
    ['AwsSolutions-SQS3'],
    'This queue is itself the dead-letter queue of the nightly EventBridge Scheduler schedule.',
  );

  // The S3 → EventBridge notification custom resource that aws-cdk-lib adds at stack level.
  for (const child of Stack.of(stack).node.children) {
    if (child.node.id.startsWith('BucketNotificationsHandler')) {
      acknowledge(child, [LAMBDA_LOGS_POLICY], `${LAMBDA_LOGS_REASON} (aws-cdk-lib's bucket-notifications custom resource)`);
      acknowledge(child, ['AwsSolutions-IAM5[Resource::*]'], "aws-cdk-lib's bucket-notifications custom resource calls s3:PutBucketNotification.");
    }
  }
}
