/**
 * DynamoDB items of the human review loop, in the records table beside the asset records (single-table design; none
 * of them carries the attributes the table's GSIs index):
 *
 *   pk TASK#<reviewTaskId>        sk DECISION#<reviewerId>   one per reviewer and task, append-only (put-if-absent)
 *   pk REVIEWER#<reviewerId>      sk CLAIM#<batchId>/<assetKey>   the reviewer's live claim (deleted when decided/released)
 *   pk REVIEWER#<reviewerId>      sk COUNTERS                claims taken (drives the gold mix)
 *   pk AUDIT#<yyyy-mm>            sk <iso time>#<random>     the audit log: every review state change, put-if-absent only
 *   pk GOLD                       sk <batchId>/<assetKey>    known-answer items
 *
 * The asset record keeps the consolidated result (`reviewStatus`, `reviewOutcome`, …), written conditionally on the
 * review revision it consolidates, so a record that changed meanwhile is never given a stale outcome.
 */
import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ReviewDecision, ReviewState } from '../core/review/decisions';
import type { GoldItem } from '../core/review/gold';
import { claimTtlEpoch, TTL_ATTRIBUTE } from '../core/retention';
import { documentClient } from './aws-clients';

export interface ReviewClaim {
  reviewerId: string;
  batchId: string;
  assetKey: string;
  reviewTaskId: string;
  revision: number;
  role: ReviewDecision['role'];
  claimedAt: string;
  expiresAt: string;
  /** The SQS message behind the claim (absent for gold items, which do not come from the queue). */
  receiptHandle?: string;
  messageId?: string;
}

export type AuditAction =
  | 'CLAIMED'
  | 'RELEASED'
  | 'DECIDED'
  | 'FINALIZED'
  | 'DROPPED_MESSAGE'
  | 'CLAIM_EXPIRED'
  | 'GOLD_ADDED'
  /** Persist: a later batch's changed version of the asset closed this record's review (adapters/asset-identity-store.ts). */
  | 'SUPERSEDED'
  /** `media-triage purge`: what was erased for a merchant (counts only, never the erased data). */
  | 'PURGED';

export interface AuditEntry {
  at: string;
  actor: string;
  action: AuditAction;
  batchId?: string;
  assetKey?: string;
  reviewTaskId?: string;
  /** What changed, e.g. the decision, the consolidated state, or why a message was dropped. */
  details: Record<string, unknown>;
}

function isConditionFailure(error: unknown): boolean {
  return (error as Error).name === 'ConditionalCheckFailedException';
}

const claimSk = (batchId: string, assetKey: string): string => `CLAIM#${batchId}/${assetKey}`;

export class ReviewStore {
  constructor(private readonly tableName: string) {}

  /** Appends to the audit log; entries are never updated or deleted by any tool. */
  async audit(entry: AuditEntry): Promise<void> {
    await documentClient().send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `AUDIT#${entry.at.slice(0, 7)}`, sk: `${entry.at}#${randomUUID()}`, recordType: 'REVIEW_AUDIT', ...entry },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /** Audit entries from the months that overlap [from, to], oldest first. */
  async auditLog(from: Date, to: Date): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    for (const month of monthsBetween(from, to)) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await documentClient().send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: { ':pk': `AUDIT#${month}`, ':from': from.toISOString(), ':to': `${to.toISOString()}~` },
            ExclusiveStartKey: startKey,
          }),
        );
        entries.push(...((page.Items ?? []) as AuditEntry[]));
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
    }
    return entries;
  }

  /** Stores a decision once per reviewer and task. Returns false when this reviewer already decided the task. */
  async putDecision(decision: ReviewDecision): Promise<boolean> {
    try {
      await documentClient().send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `TASK#${decision.reviewTaskId}`, sk: `DECISION#${decision.reviewerId}`, recordType: 'REVIEW_DECISION', ...decision },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async decisions(reviewTaskId: string): Promise<ReviewDecision[]> {
    const response = await documentClient().send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :decision)',
        ExpressionAttributeValues: { ':pk': `TASK#${reviewTaskId}`, ':decision': 'DECISION#' },
        ConsistentRead: true,
      }),
    );
    return (response.Items ?? []) as ReviewDecision[];
  }

  /**
   * Takes a claim for the reviewer, unless the reviewer already holds a live one on the asset. An expired claim is
   * replaced (an abandoned claim comes back).
   */
  async putClaim(claim: ReviewClaim): Promise<boolean> {
    try {
      await documentClient().send(
        new PutCommand({
          TableName: this.tableName,
          // The TTL attribute lets DynamoDB remove an abandoned claim a day after it lapsed (core/retention.ts).
          Item: {
            pk: `REVIEWER#${claim.reviewerId}`,
            sk: claimSk(claim.batchId, claim.assetKey),
            recordType: 'REVIEW_CLAIM',
            ...claim,
            [TTL_ATTRIBUTE]: claimTtlEpoch(claim.expiresAt),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': claim.claimedAt },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** The reviewer's claims (live and expired), optionally only those on one asset key. */
  async claims(reviewerId: string): Promise<ReviewClaim[]> {
    const response = await documentClient().send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :claim)',
        ExpressionAttributeValues: { ':pk': `REVIEWER#${reviewerId}`, ':claim': 'CLAIM#' },
        ConsistentRead: true,
      }),
    );
    return (response.Items ?? []) as ReviewClaim[];
  }

  async deleteClaim(claim: Pick<ReviewClaim, 'reviewerId' | 'batchId' | 'assetKey'>): Promise<void> {
    await documentClient().send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: `REVIEWER#${claim.reviewerId}`, sk: claimSk(claim.batchId, claim.assetKey) } }),
    );
  }

  /** Counts one more claim for the reviewer and returns the new count. */
  async countClaim(reviewerId: string): Promise<number> {
    const response = await documentClient().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `REVIEWER#${reviewerId}`, sk: 'COUNTERS' },
        UpdateExpression: 'ADD claims :one SET recordType = :type',
        ExpressionAttributeValues: { ':one': 1, ':type': 'REVIEWER_COUNTERS' },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Number(response.Attributes?.['claims'] ?? 1);
  }

  async putGold(item: GoldItem): Promise<void> {
    await documentClient().send(
      new PutCommand({ TableName: this.tableName, Item: { pk: 'GOLD', sk: `${item.batchId}/${item.assetKey}`, recordType: 'REVIEW_GOLD', ...item } }),
    );
  }

  async goldItems(): Promise<GoldItem[]> {
    const items: GoldItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await documentClient().send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'GOLD' },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...((page.Items ?? []) as GoldItem[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  /**
   * Writes the consolidated review state on the asset record, only while the record is still at `revision` (a record
   * that gained reasons meanwhile is a new task and keeps its own state). Returns whether it was written.
   */
  async setRecordReviewState(key: { pk: string; sk: string }, revision: number, state: ReviewState, at: string): Promise<boolean> {
    const final = state.status === 'FINAL';
    try {
      await documentClient().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: final
            ? 'SET reviewStatus = :status, reviewOutcome = :label, reviewOutcomeBy = :by, reviewedBy = :reviewers, reviewedAt = :at, reviewOutcomeRevision = :revision'
            : 'SET reviewStatus = :status, reviewedBy = :reviewers',
          ConditionExpression: 'reviewRevision = :revision',
          ExpressionAttributeValues: {
            ':status': state.status,
            ':reviewers': state.reviewers,
            ':revision': revision,
            ...(final ? { ':label': state.label, ':by': state.by, ':at': at } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async getItem<T>(key: { pk: string; sk: string }): Promise<T | undefined> {
    const response = await documentClient().send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return response.Item as T | undefined;
  }
}

/** `yyyy-mm` of every month from `from` to `to`, inclusive. */
export function monthsBetween(from: Date, to: Date): string[] {
  const months: string[] = [];
  const cursor = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1));
  while (cursor <= to) {
    months.push(cursor.toISOString().slice(0, 7));
    cursor.setUTCMonth(cursor.getUTCMonth() + 1);
  }
  return months;
}
