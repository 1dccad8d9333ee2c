/**
 * A batch's report, written whole: the report tables (assets, exceptions, batches), the summary JSON (with KPIs,
 * drift, gates and the batch's mixes, which later batches read as their baseline), the stakeholder page and the
 * gates on the batch record. The Report stage calls it after reconciling; `media-triage report` and the daily roll-up
 * call it again to refresh a batch after reviews happened (same files, same keys, newer review figures).
 *
 *   reports/<table>/dt=<dt>/batch_id=<id>/<table>.csv     the report tables (Athena)
 *   reports/summaries/dt=<dt>/batch_id=<id>/summary.json  the summary (BatchReportSummary)
 *   reports/html/dt=<dt>/batch_id=<id>/index.html        the batch page — outside every Athena table's location
 */
import { assetsCsv, reportKey, summarize, type BatchSummary, type ReportKeys } from '../core/report';
import { batchesCsv, exceptionsCsv } from '../core/report-tables';
import { batchDrift, batchMix, type BatchDrift, type BatchMix } from '../core/drift/batch-drift';
import { evaluateGates, loadQualityGates, type GateReport, type QualityGatesConfig } from '../core/gates/quality-gates';
import { batchKpis, type BatchKpis, type RunWindow } from '../core/kpis/batch-kpis';
import { renderBatchPage, type BatchReportFacts } from '../core/report-html/batch-page';
import type { AssetRecord, BatchRecord } from '../core/records';
import { currentReviewRevision } from '../core/records';
import type { ReviewDecision } from '../core/review/decisions';
import { goldKey, type GoldItem } from '../core/review/gold';
import { reviewTaskId } from '../core/review-task';
import { putJson, putObject } from './object-store';
import { upsertBatchRecord } from './record-store';
import { readSummaries, shiftDate } from './report-history';
import { ReviewStore } from './review-store';
import { goldTaskId } from './review-work';

/** The summary JSON of a batch (fields are only added): BatchSummary plus what the pages and the baseline need. */
export interface BatchReportSummary extends BatchSummary, BatchReportFacts {
  reports: ReportKeys;
  mix: BatchMix;
}

export function batchReportKeys(dt: string, batchId: string): ReportKeys {
  return {
    assets: reportKey('assets', dt, batchId, 'assets.csv'),
    summary: reportKey('summaries', dt, batchId, 'summary.json'),
    exceptions: reportKey('exceptions', dt, batchId, 'exceptions.csv'),
    batches: reportKey('batches', dt, batchId, 'batches.csv'),
    html: `reports/html/dt=${dt}/batch_id=${batchId}/index.html`,
  };
}

export interface WriteBatchReportInput {
  batch: BatchRecord;
  records: readonly AssetRecord[];
  pipelineVersion: string;
  /** The run the throughput is measured over. */
  run: RunWindow;
  /** When this report is written. */
  now: string;
  reportsBucket: string;
  tableName: string;
  gatesConfig?: QualityGatesConfig;
}

/** Review decisions on the batch's tasks (every revision of every record a person touched) and its gold items. */
export async function batchReviewData(
  records: readonly AssetRecord[],
  tableName: string,
): Promise<{ decisions: ReviewDecision[]; gold: Map<string, GoldItem> }> {
  const store = new ReviewStore(tableName);
  const decisions: ReviewDecision[] = [];
  // A record gets a reviewStatus with its first decision, so untouched records cost no query.
  for (const record of records.filter((r) => r.reviewStatus !== undefined)) {
    for (let revision = 1; revision <= currentReviewRevision(record); revision += 1) decisions.push(...(await store.decisions(reviewTaskId(record, revision))));
  }
  const batchIds = new Set(records.map((record) => record.batchId));
  const gold = new Map((await store.goldItems()).filter((item) => batchIds.has(item.batchId)).map((item) => [goldKey(item), item]));
  for (const item of gold.values()) decisions.push(...(await store.decisions(goldTaskId(item))));
  return { decisions, gold };
}

/** The baseline window's batches: every other batch reported in the `baselineDays` days before `dt` and on `dt`. */
export async function baselineMixes(reportsBucket: string, batchId: string, dt: string, days: number): Promise<Array<{ batchId: string; mix: BatchMix }>> {
  const baseline: Array<{ batchId: string; mix: BatchMix }> = [];
  for (let back = days; back >= 0; back -= 1) {
    for (const summary of await readSummaries<Partial<BatchReportSummary> & Pick<BatchSummary, 'batchId' | 'dt'>>(reportsBucket, shiftDate(dt, -back))) {
      // Summaries written before mixes existed cannot serve as a baseline.
      if (summary.batchId !== batchId && summary.mix !== undefined) baseline.push({ batchId: summary.batchId, mix: summary.mix });
    }
  }
  return baseline;
}

export function gateInputs(kpis: BatchKpis, drift: BatchDrift): Parameters<typeof evaluateGates>[0] {
  const noBaseline =
    drift.baselineBatches.length === 0 ? 'no baseline yet' : `baseline too small (${drift.baselineAssets} of ${drift.minBaselineAssets} assets)`;
  return {
    rejectRate: { value: kpis.rejectRate, note: 'no assets' },
    reviewRate: { value: kpis.reviewRate, note: 'no assets' },
    categoryDrift: { value: drift.category.psi, note: noBaseline },
    policyDrift: { value: drift.policy.psi, note: noBaseline },
    goldAccuracy: { value: kpis.review.goldAccuracy?.accuracy ?? null, note: 'no reviews yet' },
    agreement: { value: kpis.review.agreement?.ac1 ?? null, note: kpis.review.decisions === 0 ? 'no reviews yet' : 'no task with two blind reviews yet' },
  };
}

export async function writeBatchReport(input: WriteBatchReportInput): Promise<BatchReportSummary> {
  const { batch, records, run, now, reportsBucket, tableName } = input;
  const config = input.gatesConfig ?? loadQualityGates();
  const keys = batchReportKeys(batch.dt, batch.batchId);
  const base = summarize({ ...batch, pipelineVersion: input.pipelineVersion }, [...records], keys);
  const review = await batchReviewData(records, tableName);
  const kpis = batchKpis({ records, run, decisions: review.decisions, gold: review.gold });
  const mix = batchMix(records);
  const { why: _why, ...driftSettings } = config.drift;
  const drift = batchDrift(mix, await baselineMixes(reportsBucket, batch.batchId, batch.dt, config.drift.baselineDays), driftSettings);
  const gates: GateReport = evaluateGates(gateInputs(kpis, drift), config);
  const summary: BatchReportSummary = {
    ...base,
    receivedAt: batch.receivedAt,
    completedAt: run.completedAt,
    archiveKey: batch.archiveKey,
    kpis,
    drift,
    gates,
    mix,
  };
  const quality = { kpis, drift, gates, run };
  await putObject(reportsBucket, keys.assets, assetsCsv([...records]), 'text/csv');
  await putObject(reportsBucket, keys.exceptions, exceptionsCsv(records), 'text/csv');
  await putObject(
    reportsBucket,
    keys.batches,
    batchesCsv({ batch, records, completedAt: run.completedAt, pipelineVersion: input.pipelineVersion, quality }),
    'text/csv',
  );
  await putJson(reportsBucket, keys.summary, summary);
  await putObject(reportsBucket, keys.html, renderBatchPage(summary, records, now), 'text/html; charset=utf-8');
  return summary;
}

/**
 * Refreshes a completed batch's report from its current records and reviews (after people decided), keeping its run
 * window; stores the new gates on the batch record. Returns undefined when the batch never completed.
 */
export async function refreshBatchReport(input: {
  batch: BatchRecord;
  records: readonly AssetRecord[];
  now: string;
  reportsBucket: string;
  tableName: string;
}): Promise<BatchReportSummary | undefined> {
  const { batch } = input;
  if (batch.status !== 'COMPLETED') return undefined;
  const completedAt = batch.lastRun?.completedAt ?? batch.completedAt ?? batch.lastRunAt;
  const run = batch.lastRun ?? { startedAt: batch.receivedAt, completedAt };
  const summary = await writeBatchReport({ ...input, pipelineVersion: batch.pipelineVersion, run });
  await upsertBatchRecord({ ...batch, gates: summary.gates }, input.tableName);
  return summary;
}
