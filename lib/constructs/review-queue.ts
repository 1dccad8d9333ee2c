/**
 * The human review queue: a standard SQS queue, KMS-encrypted (SQS-managed), TLS only, with a dead-letter queue
 * after `maxReceiveCount` failed receives.
 */
import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ReviewQueueProps {
  /**
   * How long a reviewer holds a message before it becomes visible to others.
   * @default Duration.minutes(15)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives before a message moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * @default Duration.days(14)
   */
  readonly retentionPeriod?: Duration;
}

export class ReviewQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ReviewQueueProps = {}) {
    super(scope, id);
    const retentionPeriod = props.retentionPeriod ?? Duration.days(14);
    this.deadLetterQueue = new Queue(this, 'DeadLetter', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod,
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod,
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(15),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
  }
}
