/**
 * Review tasks: what a reviewer is asked to look at, derived from the asset record (the source of truth).
 *
 * A record that needs a person has a `reviewRevision`: 1 when it is first decided reviewable, one more each time its
 * reviewer-visible state changes afterwards (CrossCheck adding reasons, an auto-pass becoming NEEDS_REVIEW). Each
 * revision is one review task with a deterministic id, and gets exactly one review message:
 *
 * - the message is sent to a FIFO queue with the task id as its deduplication id, so every retry, resume or concurrent
 *   sender within SQS's 5-minute deduplication window gets the first message's id back instead of a second message;
 * - `reviewSentRevision` on the record says which revision has a message; anything below `reviewRevision` is pending
 *   and is (re)sent by Persist, CrossCheck and Report's sweep until it is marked, so a crash at any point never leaves
 *   a reviewable record without its message;
 * - past the deduplication window (a sender died between SendMessage and the mark and nothing retried for 5 minutes)
 *   a second message for the same task is possible; it is harmless because consumers key work by `reviewTaskId` and
 *   read the record: a message whose revision is not the record's current one is superseded (`isCurrentTask`).
 */
import { createHash } from 'node:crypto';
import { currentReviewRevision, needsReview, sentReviewRevision, type AssetRecord } from './records';

type ReviewFields = Pick<AssetRecord, 'outcome' | 'auditSampled' | 'reviewRevision' | 'reviewSentRevision' | 'reviewMessageId'> &
  Partial<Pick<AssetRecord, 'supersededBy'>>;

/** The revision still waiting for its review message, or undefined when none is owed. */
export function pendingReviewRevision(record: ReviewFields): number | undefined {
  if (!needsReview(record) || record.supersededBy !== undefined) return undefined;
  const revision = currentReviewRevision(record);
  return sentReviewRevision(record) < revision ? revision : undefined;
}

function recordDigest(record: Pick<AssetRecord, 'pk' | 'sk'>): string {
  return createHash('sha256').update(`${record.pk}\n${record.sk}`).digest('hex');
}

/**
 * Deterministic task id, also the SQS deduplication id: ASCII, at most 128 characters (SQS's limit), the same for every
 * sender of the same record revision.
 */
export function reviewTaskId(record: Pick<AssetRecord, 'pk' | 'sk'>, revision: number): string {
  return `${recordDigest(record).slice(0, 48)}-r${revision}`;
}

/** One message group per record: messages of different assets never wait for each other; revisions stay in order. */
export function reviewMessageGroupId(record: Pick<AssetRecord, 'pk' | 'sk'>): string {
  return recordDigest(record).slice(0, 48);
}

/**
 * Whether a review message (by its task revision) still describes the record's current review task. A record
 * superseded by a later batch's changed version of the asset has no current task (core/asset-identity.ts).
 */
export function isCurrentTask(message: { revision: number }, record: ReviewFields): boolean {
  return record.supersededBy === undefined && needsReview(record) && message.revision === currentReviewRevision(record);
}
