/**
 * Reads of one batch from the records table, by explicit table name so any target (a local session or a deployed
 * stack's table) can use them: the batch record, how many asset records the batch has so far, and those records.
 * The console's Batches page and `submit --stack` share them.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { batchPk, type AssetRecord, type BatchRecord } from '../core/records';
import { documentClient } from './aws-clients';

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

export function listBatchAssetRecords(tableName: string, batchId: string): Promise<AssetRecord[]> {
  return queryAssets(tableName, batchId, 'ALL_ATTRIBUTES', (page) => (page.Items ?? []) as AssetRecord[]);
}
