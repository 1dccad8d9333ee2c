/**
 * Merchant profiles: one item per merchant and batch (`pk=MERCHANT#<id>, sk=BATCH#<batchId>`) with the batch's asset
 * counts per declared category. Only the Report stage writes them (once per batch, an idempotent put), so map
 * children never race; PrepareBatch sums a merchant's items from earlier batches, excluding the current one.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { MerchantProfile } from '../core/triage';
import { mapWithConcurrency } from '../core/concurrency';
import { documentClient } from './aws-clients';
import { setting } from './settings';

const merchantPk = (merchantId: string): string => `MERCHANT#${merchantId}`;
const batchSk = (batchId: string): string => `BATCH#${batchId}`;

interface MerchantBatchItem {
  pk: string;
  sk: string;
  recordType: 'MERCHANT_BATCH';
  batchId: string;
  assets: number;
  categories: Record<string, number>;
  recordedAt: string;
}

export async function recordMerchantBatch(merchantId: string, batchId: string, categories: Record<string, number>, now: string): Promise<void> {
  const item: MerchantBatchItem = {
    pk: merchantPk(merchantId),
    sk: batchSk(batchId),
    recordType: 'MERCHANT_BATCH',
    batchId,
    assets: Object.values(categories).reduce((sum, count) => sum + count, 0),
    categories,
    recordedAt: now,
  };
  await documentClient().send(new PutCommand({ TableName: setting('tableName'), Item: item }));
}

/** Each merchant's category mix over all batches recorded so far except `excludeBatchId`. */
export async function merchantProfiles(merchantIds: Iterable<string>, excludeBatchId: string): Promise<Map<string, MerchantProfile>> {
  const profiles = new Map<string, MerchantProfile>();
  await mapWithConcurrency([...new Set(merchantIds)], 8, async (merchantId) => {
    const profile: MerchantProfile = { assets: 0, categories: {} };
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await documentClient().send(
        new QueryCommand({
          TableName: setting('tableName'),
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :batch)',
          ExpressionAttributeValues: { ':pk': merchantPk(merchantId), ':batch': 'BATCH#' },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of (page.Items ?? []) as MerchantBatchItem[]) {
        if (item.batchId === excludeBatchId) continue;
        profile.assets += item.assets;
        for (const [categoryId, count] of Object.entries(item.categories)) {
          profile.categories[categoryId] = (profile.categories[categoryId] ?? 0) + count;
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    profiles.set(merchantId, profile);
  });
  return profiles;
}
