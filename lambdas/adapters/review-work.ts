/**
 * The reviewer's work loop — claim, decide, release — over the review queue (the work signal) and the records table
 * (the truth). Target-agnostic: the same code runs against the local stand-ins and a deployed stack; the caller
 * resolves the names (`ReviewTarget`).
 *
 * - Claiming receives messages and keeps one that this reviewer may take, extending its visibility to the claim length
 *   and storing the claim (with the receipt handle) in the table. Messages that are superseded (the record moved to a
 *   newer revision), duplicates of the live message, or for a task that is already final are deleted silently; those
 *   this reviewer may not take (already reviewed by them, or waiting for an adjudicator) are handed back at once.
 * - Deciding stores the decision (once per reviewer and task), consolidates, writes the result on the record, and only
 *   then deletes the message — or hands it back when the task needs another reviewer or an adjudicator.
 * - An abandoned claim comes back: the message's visibility runs out and the claim item expires with it.
 * - Gold items are mixed in at the review policy's rate and shown exactly like other tasks.
 */
import { createHash } from 'node:crypto';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { isCurrentTask } from '../core/review-task';
import { currentReviewRevision, assetSk, batchPk, type AssetRecord } from '../core/records';
import { caseView, type CaseView } from '../core/review/case-view';
import { consolidate, roleFor, type ReviewDecision, type ReviewState } from '../core/review/decisions';
import { goldKey, isGoldTurn, type GoldItem } from '../core/review/gold';
import type { ReviewLabel } from '../core/review/labels';
import { requiredReviewers, type ReviewPolicy } from '../core/review/review-policy';
import type { Taxonomy } from '../core/taxonomy';
import { sqsClient } from './aws-clients';
import { ReviewStore, type ReviewClaim } from './review-store';

export interface ReviewTarget {
  tableName: string;
  reviewQueueUrl: string;
  dataBucket: string;
  /** Where a reviewer opens an image: a local file path (local mode) or a presigned URL (deployed stack). */
  imageLocation(bucket: string, key: string): Promise<string | null>;
}

export interface ClaimedCase {
  claim: ReviewClaim;
  view: CaseView;
}

export class ReviewError extends Error {
  constructor(
    message: string,
    readonly code: 'NOT_CLAIMED' | 'CLAIM_EXPIRED' | 'AMBIGUOUS' | 'ALREADY_DECIDED' | 'NO_RECORD',
  ) {
    super(message);
    this.name = 'ReviewError';
  }
}

interface ReviewMessageBody {
  reviewTaskId: string;
  revision: number;
  batchId: string;
  assetKey: string;
  recordKey: { pk: string; sk: string };
}

/** Gold tasks are not record revisions: their id names the gold item, so each reviewer answers each gold item once. */
export function goldTaskId(item: { batchId: string; assetKey: string }): string {
  return `gold-${createHash('sha256').update(goldKey(item)).digest('hex').slice(0, 40)}`;
}

export class ReviewWork {
  private readonly store: ReviewStore;

  constructor(
    private readonly target: ReviewTarget,
    private readonly taxonomy: Taxonomy,
    private readonly policy: ReviewPolicy,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.store = new ReviewStore(target.tableName);
  }

  /** Claims the next case this reviewer may take (or returns the one they already hold); undefined when none. */
  async next(reviewerId: string, options: { adjudicator?: boolean } = {}): Promise<ClaimedCase | undefined> {
    const now = this.clock();
    const held = await this.liveClaims(reviewerId, now);
    if (held[0] !== undefined) return { claim: held[0], view: await this.viewFor(held[0]) };

    const claimNumber = await this.store.countClaim(reviewerId);
    if (isGoldTurn(reviewerId, claimNumber, this.policy.gold.rate)) {
      const gold = await this.claimGold(reviewerId, now);
      if (gold !== undefined) return gold;
    }
    return this.claimFromQueue(reviewerId, now, options.adjudicator === true);
  }

  private async liveClaims(reviewerId: string, now: Date): Promise<ReviewClaim[]> {
    const live: ReviewClaim[] = [];
    for (const claim of await this.store.claims(reviewerId)) {
      if (claim.expiresAt > now.toISOString()) {
        live.push(claim);
        continue;
      }
      await this.store.deleteClaim(claim);
      await this.store.audit({
        at: now.toISOString(),
        actor: reviewerId,
        action: 'CLAIM_EXPIRED',
        batchId: claim.batchId,
        assetKey: claim.assetKey,
        reviewTaskId: claim.reviewTaskId,
        details: { claimedAt: claim.claimedAt },
      });
    }
    return live;
  }

  private claimExpiry(now: Date): string {
    return new Date(now.getTime() + this.policy.claimMinutes * 60_000).toISOString();
  }

  private async claimGold(reviewerId: string, now: Date): Promise<ClaimedCase | undefined> {
    for (const item of await this.store.goldItems()) {
      const taskId = goldTaskId(item);
      if ((await this.store.decisions(taskId)).some((decision) => decision.reviewerId === reviewerId)) continue;
      const record = await this.record(item.batchId, item.assetKey);
      if (record === undefined) continue;
      const claim: ReviewClaim = {
        reviewerId,
        batchId: item.batchId,
        assetKey: item.assetKey,
        reviewTaskId: taskId,
        revision: currentReviewRevision(record),
        role: 'gold',
        claimedAt: now.toISOString(),
        expiresAt: this.claimExpiry(now),
      };
      if (!(await this.store.putClaim(claim))) continue;
      // Audited like any claim, without saying it is gold where a reviewer could see it in their own tools.
      await this.store.audit({
        at: claim.claimedAt,
        actor: reviewerId,
        action: 'CLAIMED',
        batchId: claim.batchId,
        assetKey: claim.assetKey,
        reviewTaskId: taskId,
        details: { role: 'gold' },
      });
      return { claim, view: await this.viewOf(record, claim.revision) };
    }
    return undefined;
  }

  private async claimFromQueue(reviewerId: string, now: Date, adjudicator: boolean): Promise<ClaimedCase | undefined> {
    const handBack: Message[] = [];
    const seen = new Set<string>();
    try {
      for (;;) {
        const received = await sqsClient().send(
          // One at a time: every message received and handed back counts against the queue's maxReceiveCount, so a
          // reviewer looks at no more messages than it takes to find one they may take.
          new ReceiveMessageCommand({ QueueUrl: this.target.reviewQueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 60, WaitTimeSeconds: 0 }),
        );
        const fresh = (received.Messages ?? []).filter((message) => !seen.has(message.MessageId!));
        if (fresh.length === 0) return undefined;
        let chosen: ClaimedCase | undefined;
        for (const message of fresh) {
          seen.add(message.MessageId!);
          if (chosen !== undefined) {
            handBack.push(message);
            continue;
          }
          chosen = await this.consider(message, reviewerId, now, adjudicator, handBack);
        }
        if (chosen !== undefined) return chosen;
      }
    } finally {
      for (const message of handBack) await this.setVisibility(message.ReceiptHandle!, 0);
    }
  }

  /** Decides what to do with one received message: claim it, drop it, or hand it back (pushed to `handBack`). */
  private async consider(message: Message, reviewerId: string, now: Date, adjudicator: boolean, handBack: Message[]): Promise<ClaimedCase | undefined> {
    let body: ReviewMessageBody;
    try {
      body = JSON.parse(message.Body ?? '') as ReviewMessageBody;
    } catch {
      // Unreadable: leave it to the queue's redrive policy (dead-letter queue after maxReceiveCount).
      handBack.push(message);
      return undefined;
    }
    const record = await this.store.getItem<AssetRecord>(body.recordKey);
    const drop = async (why: string): Promise<undefined> => {
      await this.deleteMessage(message.ReceiptHandle!);
      await this.store.audit({
        at: now.toISOString(),
        actor: reviewerId,
        action: 'DROPPED_MESSAGE',
        batchId: body.batchId,
        assetKey: body.assetKey,
        reviewTaskId: body.reviewTaskId,
        details: { why, messageId: message.MessageId },
      });
      return undefined;
    };
    if (record === undefined) return drop('no record');
    if (record.supersededBy !== undefined)
      return drop(`superseded by batch ${record.supersededBy.batchId} (${record.supersededBy.assetKey}), whose content changed`);
    if (!isCurrentTask(body, record)) return drop('superseded by a newer revision of the record');
    if (record.reviewMessageId !== undefined && record.reviewMessageId !== message.MessageId) return drop('duplicate of the live message of this task');
    const state = consolidate(await this.store.decisions(body.reviewTaskId), requiredReviewers(this.policy, record));
    if (state.status === 'FINAL') return drop('task already final');
    const role = roleFor(state, reviewerId, { adjudicator });
    if (role === undefined) {
      handBack.push(message);
      return undefined;
    }
    const claim: ReviewClaim = {
      reviewerId,
      batchId: record.batchId,
      assetKey: record.assetKey,
      reviewTaskId: body.reviewTaskId,
      revision: body.revision,
      role,
      claimedAt: now.toISOString(),
      expiresAt: this.claimExpiry(now),
      receiptHandle: message.ReceiptHandle,
      messageId: message.MessageId,
    };
    await this.setVisibility(message.ReceiptHandle!, Math.max(1, Math.round(this.policy.claimMinutes * 60)));
    if (!(await this.store.putClaim(claim))) {
      handBack.push(message);
      return undefined;
    }
    await this.store.audit({
      at: claim.claimedAt,
      actor: reviewerId,
      action: 'CLAIMED',
      batchId: claim.batchId,
      assetKey: claim.assetKey,
      reviewTaskId: claim.reviewTaskId,
      details: { role, revision: claim.revision },
    });
    return { claim, view: await this.viewOf(record, claim.revision) };
  }

  /** Records the reviewer's decision on a case they hold, consolidates, and settles the message. */
  async decide(
    reviewerId: string,
    assetKey: string,
    label: ReviewLabel,
    options: { note?: string; batchId?: string } = {},
  ): Promise<{ decision: ReviewDecision; state?: ReviewState }> {
    const now = this.clock();
    const claim = await this.claimFor(reviewerId, assetKey, options.batchId, now);
    const record = await this.record(claim.batchId, claim.assetKey);
    if (record === undefined) throw new ReviewError(`no record for ${claim.batchId}/${claim.assetKey}`, 'NO_RECORD');
    const decision: ReviewDecision = {
      batchId: claim.batchId,
      assetKey: claim.assetKey,
      reviewTaskId: claim.reviewTaskId,
      revision: claim.revision,
      reviewerId,
      role: claim.role,
      label,
      note: options.note,
      claimedAt: claim.claimedAt,
      decidedAt: now.toISOString(),
      timeToLabelMs: now.getTime() - Date.parse(claim.claimedAt),
      seen: { lineage: record.lineage, outcome: record.outcome, reasons: record.reasons, reviewPolicyVersion: this.policy.version },
    };
    if (!(await this.store.putDecision(decision)))
      throw new ReviewError(`${reviewerId} already decided ${claim.assetKey} (task ${claim.reviewTaskId})`, 'ALREADY_DECIDED');
    await this.store.audit({
      at: decision.decidedAt,
      actor: reviewerId,
      action: 'DECIDED',
      batchId: decision.batchId,
      assetKey: decision.assetKey,
      reviewTaskId: decision.reviewTaskId,
      details: { decision },
    });

    let state: ReviewState | undefined;
    if (claim.role !== 'gold') {
      state = consolidate(await this.store.decisions(claim.reviewTaskId), requiredReviewers(this.policy, record));
      const written = await this.store.setRecordReviewState({ pk: record.pk, sk: record.sk }, claim.revision, state, decision.decidedAt);
      if (written && state.status === 'FINAL') {
        await this.store.audit({
          at: decision.decidedAt,
          actor: reviewerId,
          action: 'FINALIZED',
          batchId: record.batchId,
          assetKey: record.assetKey,
          reviewTaskId: claim.reviewTaskId,
          details: { state, recordKey: { pk: record.pk, sk: record.sk } },
        });
      }
      // The message goes only once the decision is stored: deleted when the task is final, handed back otherwise.
      if (claim.receiptHandle !== undefined) {
        if (state.status === 'FINAL') await this.deleteMessage(claim.receiptHandle);
        else await this.setVisibility(claim.receiptHandle, 0);
      }
    }
    await this.store.deleteClaim(claim);
    return { decision, state };
  }

  /**
   * Gives back the reviewer's claims (all, or the one on `assetKey`); returns how many. `hideForSeconds` keeps a
   * released message out of the queue for a while (a "skip"): with 0 the next `next()` hands the same asset straight
   * back, since it is the oldest visible message.
   */
  async release(reviewerId: string, assetKey?: string, batchId?: string, options: { hideForSeconds?: number } = {}): Promise<number> {
    const now = this.clock();
    const claims = (await this.liveClaims(reviewerId, now)).filter(
      (claim) => (assetKey === undefined || claim.assetKey === assetKey) && (batchId === undefined || claim.batchId === batchId),
    );
    for (const claim of claims) {
      if (claim.receiptHandle !== undefined) await this.setVisibility(claim.receiptHandle, Math.max(0, Math.round(options.hideForSeconds ?? 0)));
      await this.store.deleteClaim(claim);
      await this.store.audit({
        at: now.toISOString(),
        actor: reviewerId,
        action: 'RELEASED',
        batchId: claim.batchId,
        assetKey: claim.assetKey,
        reviewTaskId: claim.reviewTaskId,
        details: options.hideForSeconds ? { hideForSeconds: options.hideForSeconds } : {},
      });
    }
    return claims.length;
  }

  /** Makes a known-answer item out of a record (e.g. a consolidated review promoted to gold). */
  async addGold(item: GoldItem, actor: string): Promise<void> {
    await this.store.putGold(item);
    await this.store.audit({
      at: this.clock().toISOString(),
      actor,
      action: 'GOLD_ADDED',
      batchId: item.batchId,
      assetKey: item.assetKey,
      details: { label: item.label, source: item.source },
    });
  }

  private async claimFor(reviewerId: string, assetKey: string, batchId: string | undefined, now: Date): Promise<ReviewClaim> {
    const matching = (await this.store.claims(reviewerId)).filter(
      (claim) => claim.assetKey === assetKey && (batchId === undefined || claim.batchId === batchId),
    );
    if (matching.length === 0) throw new ReviewError(`${reviewerId} holds no claim on ${assetKey}; run \`review next\` first`, 'NOT_CLAIMED');
    if (matching.length > 1)
      throw new ReviewError(
        `${reviewerId} holds claims on ${assetKey} in several batches (${matching.map((c) => c.batchId).join(', ')}); say which with --batch`,
        'AMBIGUOUS',
      );
    const claim = matching[0]!;
    if (claim.expiresAt <= now.toISOString()) {
      await this.store.deleteClaim(claim);
      await this.store.audit({
        at: now.toISOString(),
        actor: reviewerId,
        action: 'CLAIM_EXPIRED',
        batchId: claim.batchId,
        assetKey: claim.assetKey,
        reviewTaskId: claim.reviewTaskId,
        details: { claimedAt: claim.claimedAt },
      });
      throw new ReviewError(`the claim on ${assetKey} expired at ${claim.expiresAt} and went back to the queue; run \`review next\``, 'CLAIM_EXPIRED');
    }
    return claim;
  }

  private async record(batchId: string, assetKey: string): Promise<AssetRecord | undefined> {
    return this.store.getItem<AssetRecord>({ pk: batchPk(batchId), sk: assetSk(assetKey) });
  }

  private async viewFor(claim: ReviewClaim): Promise<CaseView> {
    const record = await this.record(claim.batchId, claim.assetKey);
    if (record === undefined) throw new ReviewError(`no record for ${claim.batchId}/${claim.assetKey}`, 'NO_RECORD');
    return this.viewOf(record, claim.revision);
  }

  private async viewOf(record: AssetRecord, revision: number): Promise<CaseView> {
    const key = record.image?.modelInputKey;
    const location = key === undefined ? null : await this.target.imageLocation(this.target.dataBucket, key);
    return caseView(record, this.taxonomy, { bucket: this.target.dataBucket, location }, revision);
  }

  private async setVisibility(receiptHandle: string, seconds: number): Promise<void> {
    await sqsClient()
      .send(new ChangeMessageVisibilityCommand({ QueueUrl: this.target.reviewQueueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }))
      .catch(ignoreStaleReceipt);
  }

  private async deleteMessage(receiptHandle: string): Promise<void> {
    await sqsClient()
      .send(new DeleteMessageCommand({ QueueUrl: this.target.reviewQueueUrl, ReceiptHandle: receiptHandle }))
      .catch(ignoreStaleReceipt);
  }
}

/**
 * A receipt handle stops working once its visibility ran out (someone else may hold the message now). The message then
 * comes back by itself and is settled by whoever receives it next (a final task's message is dropped), so this is not
 * an error for the reviewer.
 */
function ignoreStaleReceipt(error: Error): void {
  if (['ReceiptHandleIsInvalid', 'InvalidParameterValue', 'MessageNotInflight', 'AWS.SimpleQueueService.MessageNotInflight'].includes(error.name)) return;
  throw error;
}
