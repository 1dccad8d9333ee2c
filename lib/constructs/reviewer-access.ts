/**
 * What a human reviewer's credentials may do — attach `policy` to the reviewers' IAM role, group or SSO permission set
 * — and the alarm that says the review queue is falling behind.
 *
 * Least privilege for the review tools (`media-triage review … --stack`, `review serve --stack`): receive, hand back
 * and delete review messages; read the preprocessed images they are shown; read records; write their own claims,
 * decisions and the audit log; consolidate the asset record. DynamoDB access is fenced by partition key
 * (`dynamodb:LeadingKeys`): items can be created in the audit log but never updated or deleted there, decisions are
 * put-only, and only claims (REVIEWER# partitions) can be deleted. The stack name lookup (`--stack`) needs
 * DescribeStacks on this stack only.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Effect, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** Key prefixes of the review loop's items in the records table (lambdas/adapters/review-store.ts). */
export const REVIEW_KEY_PREFIXES = {
  assetRecords: 'BATCH#',
  decisions: 'TASK#',
  reviewers: 'REVIEWER#',
  audit: 'AUDIT#',
  gold: 'GOLD',
} as const;

export interface ReviewerAccessProps {
  readonly reviewQueue: IQueue;
  readonly table: ITableV2;
  readonly dataBucket: IBucket;
  /** Key prefix of the images reviewers are shown (Preprocess's model inputs). */
  readonly imagePrefix: string;
  /**
   * The oldest review message's age at which the backlog alarm fires.
   * @default Duration.hours(24)
   */
  readonly maxBacklogAge?: Duration;
  /**
   * The customer-managed key of the queue, table and buckets, if any: reviewers decrypt what they read and encrypt
   * what they write (decisions, claims, audit entries).
   * @default none (AWS-managed keys need no grant)
   */
  readonly encryptionKey?: IKey;
}

export class ReviewerAccess extends Construct {
  readonly policy: ManagedPolicy;
  readonly backlogAlarm: Alarm;

  constructor(scope: Construct, id: string, props: ReviewerAccessProps) {
    super(scope, id);
    const leadingKeys = (...prefixes: string[]) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}*`) } });
    const p = REVIEW_KEY_PREFIXES;
    this.policy = new ManagedPolicy(this, 'Policy', {
      description: 'media-triage reviewers: work the review queue, read the images and records, record decisions (no edits to the audit log)',
      statements: [
        new PolicyStatement({
          sid: 'WorkTheReviewQueue',
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          resources: [props.reviewQueue.queueArn],
        }),
        new PolicyStatement({
          sid: 'ReadTheImagesShown',
          actions: ['s3:GetObject'],
          resources: [props.dataBucket.arnForObjects(`${props.imagePrefix}*`)],
        }),
        new PolicyStatement({ sid: 'ReadRecordsAndReviewItems', actions: ['dynamodb:GetItem', 'dynamodb:Query'], resources: [props.table.tableArn] }),
        new PolicyStatement({
          sid: 'AppendDecisionsAuditAndClaims',
          actions: ['dynamodb:PutItem'],
          resources: [props.table.tableArn],
          conditions: leadingKeys(p.decisions, p.audit, p.reviewers, p.gold),
        }),
        new PolicyStatement({
          sid: 'ConsolidateRecordsAndCountClaims',
          actions: ['dynamodb:UpdateItem'],
          resources: [props.table.tableArn],
          conditions: leadingKeys(p.assetRecords, p.reviewers),
        }),
        new PolicyStatement({
          sid: 'ReleaseOwnClaims',
          actions: ['dynamodb:DeleteItem'],
          resources: [props.table.tableArn],
          conditions: leadingKeys(p.reviewers),
        }),
        new PolicyStatement({
          sid: 'NoAuditLogEdits',
          effect: Effect.DENY,
          actions: ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
          resources: [props.table.tableArn],
          conditions: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': [`${p.audit}*`, `${p.decisions}*`] } },
        }),
        new PolicyStatement({ sid: 'FindTheStack', actions: ['cloudformation:DescribeStacks'], resources: [Stack.of(this).stackId] }),
        ...(props.encryptionKey === undefined
          ? []
          : [
              new PolicyStatement({
                sid: 'UseTheDataKey',
                actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
                resources: [props.encryptionKey.keyArn],
              }),
            ]),
      ],
    });

    const maxAge = props.maxBacklogAge ?? Duration.hours(24);
    this.backlogAlarm = new Alarm(this, 'BacklogAgeAlarm', {
      alarmDescription: `The oldest review message has waited more than ${maxAge.toHumanString()}: the review backlog is growing faster than reviewers work it.`,
      metric: props.reviewQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: maxAge.toSeconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
