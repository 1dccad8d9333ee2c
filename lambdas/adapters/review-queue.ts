/**
 * Sends FLAGGED / NEEDS_REVIEW assets to the human review queue, at most once per record: the record's conditional
 * claim comes first, the message second, the message id last. A crash between claim and send leaves a stale claim
 * that the Report stage's reconciliation re-enqueues.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { needsReview, type AssetRecord } from '../core/records';
import { sqsClient } from './aws-clients';
import { claimReviewEnqueue, markReviewEnqueued, releaseReviewClaim } from './record-store';
import { setting } from './settings';

/** The review message body: enough for a reviewer tool to show the case without another lookup. Versioned. */
export interface ReviewMessage {
  schemaVersion: 1;
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

export function reviewMessage(record: AssetRecord): ReviewMessage {
  return {
    schemaVersion: 1,
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

/** Returns the message id when this call sent the message, undefined when it was not needed or already sent. */
export async function enqueueForReview(record: AssetRecord, now = new Date()): Promise<string | undefined> {
  if (!needsReview(record)) return undefined;
  if (!(await claimReviewEnqueue(record.pk, record.sk, now))) return undefined;
  try {
    const response = await sqsClient().send(
      new SendMessageCommand({
        QueueUrl: setting('reviewQueueUrl'),
        MessageBody: JSON.stringify(reviewMessage(record)),
        MessageAttributes: {
          outcome: { DataType: 'String', StringValue: record.outcome },
          audit: { DataType: 'String', StringValue: String(record.auditSampled === true) },
          batchId: { DataType: 'String', StringValue: record.batchId },
        },
      }),
    );
    const messageId = response.MessageId ?? 'unknown';
    await markReviewEnqueued(record.pk, record.sk, messageId, now.toISOString());
    return messageId;
  } catch (error) {
    await releaseReviewClaim(record.pk, record.sk);
    throw error;
  }
}
