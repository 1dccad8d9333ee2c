/**
 * Report: reads the batch's records from DynamoDB (not the map's results), reconciles them against the assets
 * PrepareBatch expected — a missing one becomes FAILED / NOT_PROCESSED with the row, file and listing it was planned
 * with, so nothing is silently dropped — sweeps review revisions that have no message yet (an earlier crash), then
 * writes the report tables (assets, exceptions, batches; core/report-tables.ts) and the summary.
 */
import { failureCounts } from '../core/failures';
import { baseLineage } from '../core/lineage';
import { assetRecord, type AssetRecord } from '../core/records';
import { assetsCsv, reportKey, summarize, type BatchSummary, type ReportKeys } from '../core/report';
import { batchesCsv, exceptionsCsv } from '../core/report-tables';
import { itemsKey, stagingPrefix } from '../core/work-items';
import { recordMerchantBatch } from '../adapters/merchant-profiles';
import { getObjectBytes, putJson, putObject } from '../adapters/object-store';
import { getBatchRecord, listAssetRecords, putAssetRecord, upsertBatchRecord } from '../adapters/record-store';
import { sweepReviewMessages } from '../adapters/review-queue';
import { readWorkItems } from '../adapters/work-item-reader';
import { setting } from '../adapters/settings';
import { logger } from './logger';

export interface ReportInput {
  batchId: string;
}

export async function handler(input: ReportInput): Promise<BatchSummary & { status: 'COMPLETED' }> {
  const { batchId } = input;
  const batch = await getBatchRecord(batchId);
  if (batch === undefined) throw new Error(`batch ${batchId} has no batch record`);
  const pipelineVersion = setting('pipelineVersion');
  const dataBucket = setting('dataBucket');
  const expected = JSON.parse(
    (await getObjectBytes(dataBucket, `${stagingPrefix(batchId)}expected-assets.json`)).toString('utf8'),
  ) as { assetKeys: string[] };

  let records = await listAssetRecords(batchId);
  const recorded = new Set(records.map((record) => record.assetKey));
  const missing = expected.assetKeys.filter((key) => !recorded.has(key));
  if (missing.length > 0) logger.warn('assets without a record after the map', { count: missing.length });
  const now = new Date().toISOString();
  const context = { batchId, receivedAt: batch.receivedAt, lineage: baseLineage(pipelineVersion), now };
  // Every expected asset without a record was handed to the map, so items.jsonl has the row, file and listing it was
  // planned with: the FAILED record (and its CSV row) stays as complete as any other.
  const planned = await readWorkItems(dataBucket, itemsKey(batchId), new Set(missing));
  for (const assetKey of missing) {
    const item = planned.get(assetKey);
    if (item === undefined) logger.warn('expected asset missing from items.jsonl', { assetKey });
    await putAssetRecord(
      assetRecord(context, {
        assetKey,
        rowNumber: item?.rowNumber,
        file: item?.file,
        listing: item?.listing ?? {},
        outcome: 'FAILED',
        reasons: ['NOT_PROCESSED'],
        explanation: 'No stage recorded an outcome for this asset (its map batch failed after retries); a rerun retries it.',
        decidedBy: 'Report',
      }),
    );
  }
  const swept = await sweepReviewMessages(batchId, records);
  if (swept > 0) logger.warn('review messages sent by the sweep (an earlier sender stopped before marking them)', { count: swept });
  if (missing.length > 0 || swept > 0) records = await listAssetRecords(batchId);

  const reportsBucket = setting('reportsBucket');
  const keys: ReportKeys = {
    assets: reportKey('assets', batch.dt, batchId, 'assets.csv'),
    summary: reportKey('summaries', batch.dt, batchId, 'summary.json'),
    exceptions: reportKey('exceptions', batch.dt, batchId, 'exceptions.csv'),
    batches: reportKey('batches', batch.dt, batchId, 'batches.csv'),
  };
  const summary = summarize({ ...batch, pipelineVersion }, records, keys);
  await putObject(reportsBucket, keys.assets, assetsCsv(records), 'text/csv');
  await putObject(reportsBucket, keys.exceptions, exceptionsCsv(records), 'text/csv');
  await putObject(reportsBucket, keys.batches, batchesCsv({ batch, records, completedAt: now, pipelineVersion }), 'text/csv');
  await putJson(reportsBucket, keys.summary, summary);
  await recordMerchantMix(batchId, records, now);
  await upsertBatchRecord({ ...batch, status: 'COMPLETED', counts: summary.outcomes, failures: failureCounts(records), completedAt: now, lastRunAt: now });
  logger.info('batch reported', { outcomes: summary.outcomes });
  return { ...summary, status: 'COMPLETED' };
}

/**
 * The batch's contribution to each merchant's profile: assets with a valid listing, per declared category. Written
 * here, once per batch, so later batches see it and the current one never sees itself.
 */
async function recordMerchantMix(batchId: string, records: AssetRecord[], now: string): Promise<void> {
  const mix = new Map<string, Record<string, number>>();
  for (const record of records) {
    const { merchantId, declaredCategoryId } = record.listing;
    if (merchantId === undefined || declaredCategoryId === undefined || record.outcome === 'REJECTED_INPUT') continue;
    const categories = mix.get(merchantId) ?? {};
    categories[declaredCategoryId] = (categories[declaredCategoryId] ?? 0) + 1;
    mix.set(merchantId, categories);
  }
  for (const [merchantId, categories] of mix) await recordMerchantBatch(merchantId, batchId, categories, now);
}
