/**
 * Runs the Nightly stage (lambdas/functions/nightly.ts) once a day with EventBridge Scheduler: an
 * `AWS::Scheduler::Schedule` on a cron expression, a role that may invoke exactly that function (and write to the
 * schedule's dead-letter queue), a retry policy and a dead-letter queue for invocations Scheduler could not deliver.
 *
 * Scheduler invokes Lambda asynchronously: its retry policy and DLQ cover delivery (throttling, a missing permission,
 * the function gone). What the jobs themselves find or fail at is in the handler's result, its log line and the
 * `NightlyJobErrors` metric (alarmed by lib/constructs/monitoring.ts).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { queueEncryption } from './review-queue';

/** 03:00 UTC every day: after the day's uploads have had their grace period, before the working day in Europe. */
export const DEFAULT_NIGHTLY_CRON = 'cron(0 3 * * ? *)';

export interface NightlyScheduleProps {
  /** The Nightly stage's function. */
  readonly target: IFunction;
  /** The stack's customer-managed key, when it has one: the dead-letter queue is encrypted with it like the others. */
  readonly encryptionKey?: IKey;
  /**
   * When it runs: an EventBridge Scheduler expression (`cron(minutes hours day-of-month month day-of-week year)`).
   * @default DEFAULT_NIGHTLY_CRON (03:00 every day)
   */
  readonly scheduleExpression?: string;
  /**
   * Time zone of the cron expression.
   * @default 'UTC'
   */
  readonly timeZone?: string;
  /**
   * Delivery retries before the event goes to the dead-letter queue.
   * @default 3
   */
  readonly retryAttempts?: number;
  /**
   * How long Scheduler keeps retrying one night's invocation.
   * @default Duration.hours(2)
   */
  readonly maxEventAge?: Duration;
}

export class NightlySchedule extends Construct {
  readonly schedule: CfnSchedule;
  readonly role: Role;
  /** Invocations Scheduler gave up delivering. */
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: NightlyScheduleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.deadLetterQueue = new Queue(this, 'DeadLetter', {
      ...queueEncryption(props.encryptionKey),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.role = new Role(this, 'Role', {
      description: 'EventBridge Scheduler: invokes the media-triage Nightly function and dead-letters what it cannot deliver',
      // Only schedules of this account may assume it (confused-deputy guard).
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      inlinePolicies: {
        InvokeNightly: new PolicyDocument({
          statements: [
            new PolicyStatement({ sid: 'InvokeTheNightlyFunction', actions: ['lambda:InvokeFunction'], resources: [props.target.functionArn] }),
            new PolicyStatement({ sid: 'DeadLetterUndelivered', actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
            // Sending to a KMS-encrypted queue needs the data key (exact actions: no wildcard for cdk-nag to flag).
            ...(props.encryptionKey === undefined
              ? []
              : [
                  new PolicyStatement({
                    sid: 'DeadLetterEncryption',
                    actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
                    resources: [props.encryptionKey.keyArn],
                  }),
                ]),
          ],
        }),
      },
    });
    const maxEventAge = props.maxEventAge ?? Duration.hours(2);
    this.schedule = new CfnSchedule(this, 'Schedule', {
      description: 'media-triage nightly jobs: re-drive unstarted or unfinished batches, send owed review messages',
      scheduleExpression: props.scheduleExpression ?? DEFAULT_NIGHTLY_CRON,
      scheduleExpressionTimezone: props.timeZone ?? 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: props.target.functionArn,
        roleArn: this.role.roleArn,
        // The handler's defaults (grace period, lookback window) apply; see NightlyInput.
        input: JSON.stringify({}),
        retryPolicy: { maximumRetryAttempts: props.retryAttempts ?? 3, maximumEventAgeInSeconds: maxEventAge.toSeconds() },
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      },
    });
  }
}
