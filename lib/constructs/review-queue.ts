/**
 * The human review queue: an SQS FIFO queue, KMS-encrypted (SQS-managed), TLS only, with a (FIFO) dead-letter queue
 * after `maxReceiveCount` failed receives.
 *
 * FIFO for its deduplication, not its ordering: senders give each review task a deterministic deduplication id, so a
 * retry or resume after a crash between SendMessage and the record's mark gets the first message back instead of a
 * second one (lambdas/core/review-task.ts). Each record is its own message group, so reviewers never wait behind
 * another asset's message, and high-throughput mode (deduplication and throughput per message group) keeps the FIFO
 * limits far above any review team's pace.
 */
import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption, type QueueProps } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ReviewQueueProps {
  /**
   * How long a reviewer holds a message before it becomes visible to others.
   * @default Duration.minutes(15)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives before a message moves to the dead-letter queue. Reviewer tools hand a message back when its asset needs
   * a different reviewer (the second blind reviewer, an adjudicator), and each hand-back counts as a receive, so the
   * limit is sized for a double review plus adjudication among several polling reviewers, not for a single consumer.
   * @default 50
   */
  readonly maxReceiveCount?: number;
  /**
   * @default Duration.days(14)
   */
  readonly retentionPeriod?: Duration;
  /**
   * Customer-managed KMS key for the queue and its dead-letter queue.
   * @default SQS-managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: IKey;
}

/** SSE-SQS, or SSE-KMS with the given key (data keys reused for 5 minutes, SQS's default, to bound KMS calls). */
export function queueEncryption(key: IKey | undefined): Pick<QueueProps, 'encryption' | 'encryptionMasterKey'> {
  return key === undefined ? { encryption: QueueEncryption.SQS_MANAGED } : { encryption: QueueEncryption.KMS, encryptionMasterKey: key };
}

export class ReviewQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ReviewQueueProps = {}) {
    super(scope, id);
    const retentionPeriod = props.retentionPeriod ?? Duration.days(14);
    this.deadLetterQueue = new Queue(this, 'DeadLetter', {
      fifo: true,
      ...queueEncryption(props.encryptionKey),
      enforceSSL: true,
      retentionPeriod,
    });
    this.queue = new Queue(this, 'Queue', {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      ...queueEncryption(props.encryptionKey),
      enforceSSL: true,
      retentionPeriod,
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(15),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 50 },
    });
  }
}
