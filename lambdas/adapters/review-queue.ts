/**
 * Sends review tasks to the human review queue (SQS FIFO): one message per review revision of a record, whatever
 * crashes (see core/review-task.ts for the argument). The order is: the record is stored first (it is the source of
 * truth), then the message is sent with the task id as deduplication id, then the revision is marked sent. A crash
 * before the send leaves a pending revision that the next sender (the stage's retry, CrossCheck, Report's sweep) sends;
 * a crash after the send but before the mark makes that next sender's SendMessage a deduplicated no-op that returns the
 * first message's id, which is then marked.
 */
import { sqsSafeJson } from '../core/sqs-body';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { needsReview, type AssetRecord } from '../core/records';
import { pendingReviewRevision, reviewMessageGroupId, reviewTaskId } from '../core/review-task';
import { sqsClient } from './aws-clients';
import { listAssetRecords, markReviewSent } from './record-store';
import { setting } from './settings';

/** The review message body: enough for a reviewer tool to show the case without another lookup. Versioned. */
export interface ReviewMessage {
  schemaVersion: 1;
  /** Deterministic id of this review task (record + revision); consumers key their work by it. */
  reviewTaskId: string;
  /** The record's review revision this message describes; a later revision supersedes it. */
  revision: number;
  /** The task this one replaces (the same record's previous revision), when the record changed after its first message. */
  supersedes?: string;
  batchId: string;
  assetKey: string;
  assetId?: string;
  merchantId?: string;
  outcome: string;
  /** True when the asset passed automatically and was sampled for an audit by a person. */
  audit: boolean;
  reasons: string[];
  explanation: string;
  declaredCategoryId?: string;
  title?: string;
  file?: string;
  modelInputKey?: string;
  recordKey: { pk: string; sk: string };
  lineage: AssetRecord['lineage'];
  decidedAt: string;
}

export function reviewMessage(record: AssetRecord, revision: number): ReviewMessage {
  return {
    schemaVersion: 1,
    reviewTaskId: reviewTaskId(record, revision),
    revision,
    supersedes: revision > 1 ? reviewTaskId(record, revision - 1) : undefined,
    batchId: record.batchId,
    assetKey: record.assetKey,
    assetId: record.listing.assetId,
    merchantId: record.listing.merchantId,
    outcome: record.outcome,
    audit: record.auditSampled === true,
    reasons: record.reasons,
    explanation: record.explanation,
    declaredCategoryId: record.listing.declaredCategoryId,
    title: record.listing.title,
    file: record.file,
    modelInputKey: record.image?.modelInputKey,
    recordKey: { pk: record.pk, sk: record.sk },
    lineage: record.lineage,
    decidedAt: record.decidedAt,
  };
}

/**
 * Sends the record's pending review revision, if it has one, and marks it sent. Returns the message id when a message
 * was owed (also when the queue deduplicated it to an earlier send of the same task), undefined when none was owed.
 * Errors propagate: the revision then stays pending for the next sender.
 */
export async function enqueueForReview(record: AssetRecord, now = new Date()): Promise<string | undefined> {
  const revision = pendingReviewRevision(record);
  if (revision === undefined) return undefined;
  const body = reviewMessage(record, revision);
  const response = await sqsClient().send(
    new SendMessageCommand({
      QueueUrl: setting('reviewQueueUrl'),
      MessageBody: sqsSafeJson(body),
      MessageGroupId: reviewMessageGroupId(record),
      MessageDeduplicationId: body.reviewTaskId,
      MessageAttributes: {
        outcome: { DataType: 'String', StringValue: record.outcome },
        audit: { DataType: 'String', StringValue: String(record.auditSampled === true) },
        batchId: { DataType: 'String', StringValue: record.batchId },
        reviewTaskId: { DataType: 'String', StringValue: body.reviewTaskId },
      },
    }),
  );
  if (response.MessageId === undefined) throw new Error(`SendMessage for review task ${body.reviewTaskId} returned no message id`);
  await markReviewSent(record.pk, record.sk, revision, response.MessageId, now.toISOString());
  return response.MessageId;
}

/**
 * The sweep: every record of the batch whose review revision has no message gets it. Report runs it after the map and
 * CrossCheck; anything later can run it again (it sends nothing twice). Returns how many messages were owed.
 */
export async function sweepReviewMessages(batchId: string, records?: AssetRecord[]): Promise<number> {
  const candidates = (records ?? (await listAssetRecords(batchId))).filter((record) => needsReview(record) && pendingReviewRevision(record) !== undefined);
  let sent = 0;
  for (const record of candidates) if ((await enqueueForReview(record)) !== undefined) sent += 1;
  return sent;
}
