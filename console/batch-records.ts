/** The assets of a batch as the console's Batches page lists them, from the records table of any target. */
import { listBatchAssetRecords } from '../lambdas/adapters/batch-table-reads';
import { REASON_CODES } from '../lambdas/core/outcomes';
import type { BatchAsset } from './batches';

export async function batchAssets(tableName: string, batchId: string): Promise<BatchAsset[]> {
  const records = await listBatchAssetRecords(tableName, batchId);
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
