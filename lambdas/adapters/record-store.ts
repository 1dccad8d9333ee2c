/**
 * DynamoDB access for batch and asset records. Writes are single-item and conditional (no transactions) so retries,
 * reruns and concurrent children never create duplicates and never overwrite a decision that already stands.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AssetRecord, BatchRecord } from '../core/records';
import { batchPk } from '../core/records';
import { documentClient } from './aws-clients';
import { setting } from './settings';

const table = (): string => setting('tableName');

/**
 * Stores an asset record unless the asset already has one that stands. A rerun replaces only FAILED records
 * (a rerun retries failures); every other outcome stays as first decided (reviewers may already be acting on it).
 * Returns whether this call wrote the record.
 */
export async function putAssetRecord(record: AssetRecord): Promise<boolean> {
  try {
    await documentClient().send(
      new PutCommand({
        TableName: table(),
        Item: record,
        ConditionExpression: 'attribute_not_exists(pk) OR outcome = :failed',
        ExpressionAttributeValues: { ':failed': 'FAILED' },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') {
      return false;
    }
    throw error;
  }
}

export async function getAssetRecord(pk: string, sk: string): Promise<AssetRecord | undefined> {
  const response = await documentClient().send(new GetCommand({ TableName: table(), Key: { pk, sk }, ConsistentRead: true }));
  return response.Item as AssetRecord | undefined;
}

/**
 * Records that the review message of `revision` was sent (its message id). Never moves backwards: a slower sender of
 * an older revision cannot overwrite the mark of a newer one. Returns whether this call moved the mark.
 */
export async function markReviewSent(pk: string, sk: string, revision: number, messageId: string, at: string): Promise<boolean> {
  try {
    await documentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk, sk },
        UpdateExpression: 'SET reviewSentRevision = :revision, reviewMessageId = :id, reviewEnqueuedAt = :at',
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(reviewSentRevision) OR reviewSentRevision < :revision)',
        ExpressionAttributeValues: { ':revision': revision, ':id': messageId, ':at': at },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/** All asset records of a batch (paginated query, consistent read). */
export async function listAssetRecords(batchId: string, tableName = table()): Promise<AssetRecord[]> {
  const records: AssetRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :asset)',
        ExpressionAttributeValues: { ':pk': batchPk(batchId), ':asset': 'ASSET#' },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    records.push(...((page.Items ?? []) as AssetRecord[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return records;
}

export async function getBatchRecord(batchId: string, tableName = table()): Promise<BatchRecord | undefined> {
  const response = await documentClient().send(new GetCommand({ TableName: tableName, Key: { pk: batchPk(batchId), sk: 'BATCH' }, ConsistentRead: true }));
  return response.Item as BatchRecord | undefined;
}

/**
 * Creates or refreshes the batch record. `receivedAt` and `dt` are set only the first time, so a rerun keeps the
 * original partition; everything else describes the latest run. Returns the stored record.
 */
export async function upsertBatchRecord(record: BatchRecord, tableName = table()): Promise<BatchRecord> {
  const { pk, sk, receivedAt, dt, ...rest } = record;
  const names: Record<string, string> = { '#receivedAt': 'receivedAt', '#dt': 'dt' };
  const values: Record<string, unknown> = { ':receivedAt': receivedAt, ':dt': dt };
  const sets = ['#receivedAt = if_not_exists(#receivedAt, :receivedAt)', '#dt = if_not_exists(#dt, :dt)'];
  const removes: string[] = [];
  for (const [field, value] of Object.entries(rest)) {
    names[`#${field}`] = field;
    if (value === undefined) {
      removes.push(`#${field}`);
    } else {
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
  }
  const response = await documentClient().send(
    new UpdateCommand({
      TableName: tableName,
      Key: { pk, sk },
      UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    }),
  );
  return response.Attributes as BatchRecord;
}

/** Index of asset records by their image's perceptual hash (see lib/constructs/records-table.ts). */
export const IMAGE_HASH_INDEX = 'byImageHash';

/** Asset records, of any batch, whose image has exactly this perceptual hash. */
export async function recordsWithImageHash(perceptualHash: string, limit = 50): Promise<AssetRecord[]> {
  const response = await documentClient().send(
    new QueryCommand({
      TableName: table(),
      IndexName: IMAGE_HASH_INDEX,
      KeyConditionExpression: 'perceptualHash = :hash',
      ExpressionAttributeValues: { ':hash': perceptualHash },
      Limit: limit,
    }),
  );
  return (response.Items ?? []) as AssetRecord[];
}

/**
 * Replaces a record with an amended version of itself, only if nobody changed it since it was read (its decidedAt
 * is the one we saw). Returns whether it was written.
 */
export async function replaceRecord(updated: AssetRecord, previousDecidedAt: string): Promise<boolean> {
  try {
    await documentClient().send(
      new PutCommand({
        TableName: table(),
        Item: updated,
        ConditionExpression: 'decidedAt = :previous',
        ExpressionAttributeValues: { ':previous': previousDecidedAt },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
