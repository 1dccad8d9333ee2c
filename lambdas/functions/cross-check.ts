/**
 * CrossCheck: signals that need the whole batch and the history, added after the map. Finds the same or a
 * near-identical image listed by another merchant or under another category (exact hash matches in earlier batches
 * through the image-hash index; near matches within the batch), amends those records (AUTO_PASS → NEEDS_REVIEW,
 * with reason codes and the matches) and sends them to review once. Reruns change nothing already amended.
 */
import { mapWithConcurrency } from '../core/concurrency';
import { findDuplicates, type HashedAsset } from '../core/duplicates';
import { withDuplicateFinding, type AssetRecord } from '../core/records';
import { loadTaxonomy } from '../core/taxonomy';
import { loadTriagePolicy } from '../core/triage-policy';
import { listAssetRecords, recordsWithImageHash, replaceRecord } from '../adapters/record-store';
import { enqueueForReview } from '../adapters/review-queue';
import { logger } from './logger';
import { instrumented } from './metrics';

export interface CrossCheckInput {
  batchId: string;
}

export interface CrossCheckOutput {
  batchId: string;
  checked: number;
  amended: number;
}

function hashed(record: AssetRecord): HashedAsset | undefined {
  if (record.perceptualHash === undefined) return undefined;
  return {
    batchId: record.batchId,
    assetKey: record.assetKey,
    merchantId: record.listing.merchantId,
    declaredCategoryId: record.listing.declaredCategoryId,
    perceptualHash: record.perceptualHash,
  };
}

export const handler = instrumented('CrossCheck', crossCheck);

async function crossCheck(input: CrossCheckInput): Promise<CrossCheckOutput> {
  const { batchId } = input;
  const records = (await listAssetRecords(batchId)).filter((record) => record.outcome !== 'REJECTED_INPUT' && record.outcome !== 'FAILED');
  const batch = records.map(hashed).filter((asset): asset is HashedAsset => asset !== undefined);
  const hashes = [...new Set(batch.map((asset) => asset.perceptualHash))];
  const history = (await mapWithConcurrency(hashes, 8, (hash) => recordsWithImageHash(hash)))
    .flat()
    .filter((record) => record.batchId !== batchId)
    .map(hashed)
    .filter((asset): asset is HashedAsset => asset !== undefined);

  const findings = findDuplicates(batch, history, loadTaxonomy(), loadTriagePolicy().duplicates.nearDistance);
  const byKey = new Map(records.map((record) => [record.assetKey, record]));
  let amended = 0;
  const now = new Date().toISOString();
  for (const finding of findings) {
    const record = byKey.get(finding.assetKey)!;
    const updated = withDuplicateFinding(record, finding, now);
    if (updated === undefined) continue;
    if (await replaceRecord(updated, record.decidedAt)) {
      amended += 1;
      await enqueueForReview(updated);
    }
  }
  if (amended > 0) logger.info('duplicate images found', { batchId, amended });
  return { batchId, checked: batch.length, amended };
}
