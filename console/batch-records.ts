/**
 * Reads the Batches page needs from the records table, by explicit table name so any target (local session or a
 * deployed stack's table) can use them: the batch record, how many asset records a batch has so far, and the assets
 * as the page lists them.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../lambdas/adapters/aws-clients';
import { REASON_CODES } from '../lambdas/core/outcomes';
import { batchPk, type AssetRecord, type BatchRecord } from '../lambdas/core/records';
import type { BatchAsset } from './batches';

export async function readBatchRecord(tableName: string, batchId: string): Promise<BatchRecord | undefined> {
  const response = await documentClient().send(new GetCommand({ TableName: tableName, Key: { pk: batchPk(batchId), sk: 'BATCH' }, ConsistentRead: true }));
  return response.Item as BatchRecord | undefined;
}

async function queryAssets<T>(
  tableName: string,
  batchId: string,
  select: 'COUNT' | 'ALL_ATTRIBUTES',
  collect: (page: { Items?: unknown[]; Count?: number }) => T[],
): Promise<T[]> {
  const collected: T[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :asset)',
        ExpressionAttributeValues: { ':pk': batchPk(batchId), ':asset': 'ASSET#' },
        Select: select,
        ExclusiveStartKey: startKey,
      }),
    );
    collected.push(...collect(page));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return collected;
}

export async function countAssetRecords(tableName: string, batchId: string): Promise<number> {
  const counts = await queryAssets(tableName, batchId, 'COUNT', (page) => [page.Count ?? 0]);
  return counts.reduce((sum, count) => sum + count, 0);
}

export async function batchAssets(tableName: string, batchId: string): Promise<BatchAsset[]> {
  const records = await queryAssets(tableName, batchId, 'ALL_ATTRIBUTES', (page) => (page.Items ?? []) as AssetRecord[]);
  return records
    .sort((a, b) => a.assetKey.localeCompare(b.assetKey))
    .map((record) => ({
      assetKey: record.assetKey,
      assetId: record.listing.assetId,
      file: record.file,
      merchantId: record.listing.merchantId,
      declaredCategory: record.listing.declaredCategory,
      title: record.listing.title,
      outcome: record.outcome,
      reasons: record.reasons.map((code) => ({ code, meaning: REASON_CODES[code] })),
      explanation: record.explanation,
      reviewStatus: record.reviewStatus,
      reviewOutcome: record.reviewOutcome,
    }));
}
