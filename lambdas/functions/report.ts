/**
 * Report: reads the batch's records from DynamoDB (not the map's results), reconciles them against the assets
 * PrepareBatch expected — a missing one becomes FAILED / NOT_PROCESSED with the row, file and listing it was planned
 * with, so nothing is silently dropped — sweeps review revisions that have no message yet (an earlier crash), then
 * writes the report tables (assets, exceptions, batches; core/report-tables.ts), the summary, the batch's HTML page
 * with its KPIs, drift and quality gates (stored on the batch record too), and refreshes the day's roll-up page.
 */
import { failureCounts } from '../core/failures';
import { baseLineage } from '../core/lineage';
import { assetRecord, type AssetRecord } from '../core/records';
import { loadQualityGates } from '../core/gates/quality-gates';
import type { BatchSummary } from '../core/report';
import { itemsKey, stagingPrefix } from '../core/work-items';
import { recordMerchantBatch } from '../adapters/merchant-profiles';
import { writeBatchReport, type BatchReportSummary } from '../adapters/batch-report';
import { writeDailyRollup } from '../adapters/daily-rollup';
import { getObjectBytes } from '../adapters/object-store';
import { getBatchRecord, listAssetRecords, putAssetRecord, upsertBatchRecord } from '../adapters/record-store';
import { sweepReviewMessages } from '../adapters/review-queue';
import { readWorkItems } from '../adapters/work-item-reader';
import { setting } from '../adapters/settings';
import { logger } from './logger';
import { countRecordedAssets, instrumented } from './metrics';

// Validated when the function starts (and at synth), so a bad config/quality-gates.json fails before any batch.
const gatesConfig = loadQualityGates();

export interface ReportInput {
  batchId: string;
}

export const handler = instrumented('Report', report);

async function report(input: ReportInput): Promise<ReportOutput> {
  const { batchId } = input;
  const batch = await getBatchRecord(batchId);
  if (batch === undefined) throw new Error(`batch ${batchId} has no batch record`);
  const pipelineVersion = setting('pipelineVersion');
  const dataBucket = setting('dataBucket');
  const expected = JSON.parse((await getObjectBytes(dataBucket, `${stagingPrefix(batchId)}expected-assets.json`)).toString('utf8')) as { assetKeys: string[] };

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
    const written = await putAssetRecord(
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
    if (written) countRecordedAssets([{ outcome: 'FAILED', reasons: ['NOT_PROCESSED'] }]);
  }
  const swept = await sweepReviewMessages(batchId, records);
  if (swept > 0) logger.warn('review messages sent by the sweep (an earlier sender stopped before marking them)', { count: swept });
  if (missing.length > 0 || swept > 0) records = await listAssetRecords(batchId);

  const reportsBucket = setting('reportsBucket');
  // KPIs, drift and gates go with the tables, the summary and the page (adapters/batch-report.ts); the run window is
  // from PrepareBatch starting this run (its lastRunAt) to now.
  const run = { startedAt: batch.lastRunAt, completedAt: now };
  const summary = await writeBatchReport({ batch, records, pipelineVersion, run, now, reportsBucket, tableName: setting('tableName'), gatesConfig });
  await recordMerchantMix(batchId, records, now);
  await upsertBatchRecord({
    ...batch,
    status: 'COMPLETED',
    counts: summary.outcomes,
    failures: failureCounts(records),
    completedAt: now,
    lastRunAt: now,
    lastRun: run,
    gates: summary.gates,
  });
  const rollup = await writeDailyRollup({ date: batch.dt, reportsBucket, tableName: setting('tableName'), now });
  if (summary.gates.overall !== 'pass')
    logger.warn('quality gates', {
      overall: summary.gates.overall,
      gates: summary.gates.gates.filter((gate) => gate.status === 'warn' || gate.status === 'fail'),
    });
  logger.info('batch reported', { outcomes: summary.outcomes });
  return { ...stateOutput(summary), rollup: rollup.rollupKey, status: 'COMPLETED' };
}

/**
 * What the state machine's output carries: the summary without the per-bin detail (mixes, PSI terms, per-class
 * agreement), which lives in summary.json — a state's output is limited to 256 KiB and a batch can have many categories.
 */
export type ReportOutput = BatchSummary & Pick<BatchReportSummary, 'gates'> & { rollup: string; status: 'COMPLETED' };

function stateOutput(summary: BatchReportSummary): Omit<ReportOutput, 'rollup' | 'status'> {
  const { kpis: _kpis, drift: _drift, mix: _mix, receivedAt: _receivedAt, completedAt: _completedAt, archiveKey: _archiveKey, ...rest } = summary;
  return rest;
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
