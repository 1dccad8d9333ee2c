/**
 * The daily roll-up — one call for the local `media-triage report --date` and for the nightly scheduled Lambda:
 *
 *   await writeDailyRollup({ date: '2026-12-01', reportsBucket, tableName })
 *
 * It writes, for the UTC day `date`:
 *   1. the `decisions` report table: `reports/decisions/dt=<date>/batch_id=<id>/decisions.csv`, every review
 *      decision made that day (from the review audit log), one file per batch. Decisions are append-only and the
 *      partition is the day they were made, so once the day is over its files never change; rewriting them is
 *      idempotent.
 *   2. with `refreshBatches`, each batch of the day's report partition again from its current records and reviews
 *      (adapters/batch-report.ts: tables, summary, page, gates on the batch record);
 *   3. the roll-up page `reports/html/dt=<date>/rollup.html` over the summaries of report partition dt=<date>
 *      (the batches received that day), linking each batch's page beside it.
 *
 * Needs: reports bucket list/get/put, records table read (and write for refreshBatches).
 */
import { reportKey } from '../core/report';
import { decisionsCsv } from '../core/report-tables';
import type { ReviewDecision } from '../core/review/decisions';
import { renderRollupPage } from '../core/report-html/rollup-page';
import { getBatchRecord, listAssetRecords } from './record-store';
import { putObject } from './object-store';
import { readSummaries } from './report-history';
import { refreshBatchReport, type BatchReportSummary } from './batch-report';
import { ReviewStore } from './review-store';

export interface DailyRollupInput {
  /** The UTC day, YYYY-MM-DD. */
  date: string;
  reportsBucket: string;
  tableName: string;
  /** Rebuild each batch's report of the day first (review figures move after the batch ran). Default false. */
  refreshBatches?: boolean;
  /** Report time (ISO 8601); default now. */
  now?: string;
  /** Called before each batch is refreshed (progress for long days). */
  onRefresh?: (batchId: string, index: number, total: number) => void;
}

export interface DailyRollupResult {
  date: string;
  /** S3 key of the roll-up page. */
  rollupKey: string;
  /** Batches of report partition dt=<date> on the page. */
  batches: string[];
  /** Batches whose report was rebuilt (refreshBatches). */
  refreshed: string[];
  /** S3 keys of the decisions partitions written. */
  decisionKeys: string[];
  decisions: number;
}

export function rollupKey(date: string): string {
  return `reports/html/dt=${date}/rollup.html`;
}

export async function writeDailyRollup(input: DailyRollupInput): Promise<DailyRollupResult> {
  const { date, reportsBucket, tableName } = input;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw new Error(`date ${date} is not YYYY-MM-DD`);
  const now = input.now ?? new Date().toISOString();

  const from = new Date(`${date}T00:00:00.000Z`);
  const to = new Date(`${date}T23:59:59.999Z`);
  const entries = await new ReviewStore(tableName).auditLog(from, to);
  const byBatch = new Map<string, ReviewDecision[]>();
  for (const entry of entries) {
    if (entry.action !== 'DECIDED') continue;
    const decision = entry.details['decision'] as ReviewDecision | undefined;
    if (decision === undefined || decision.decidedAt.slice(0, 10) !== date) continue;
    byBatch.set(decision.batchId, [...(byBatch.get(decision.batchId) ?? []), decision]);
  }
  const decisionKeys: string[] = [];
  for (const [batchId, decisions] of [...byBatch].sort(([a], [b]) => a.localeCompare(b))) {
    const key = reportKey('decisions', date, batchId, 'decisions.csv');
    await putObject(reportsBucket, key, decisionsCsv(decisions), 'text/csv');
    decisionKeys.push(key);
  }

  const refreshed: string[] = [];
  if (input.refreshBatches === true) {
    const day = await readSummaries(reportsBucket, date);
    for (const [index, { batchId }] of day.entries()) {
      input.onRefresh?.(batchId, index, day.length);
      const batch = await getBatchRecord(batchId, tableName);
      if (batch === undefined) continue;
      const records = await listAssetRecords(batchId, tableName);
      if ((await refreshBatchReport({ batch, records, now, reportsBucket, tableName })) !== undefined) refreshed.push(batchId);
    }
  }

  const summaries = (await readSummaries<Partial<BatchReportSummary> & { batchId: string; dt: string }>(reportsBucket, date)).filter(
    (summary): summary is BatchReportSummary => summary.kpis !== undefined && summary.gates !== undefined && summary.drift !== undefined,
  );
  const key = rollupKey(date);
  await putObject(reportsBucket, key, renderRollupPage(date, summaries, now), 'text/html; charset=utf-8');
  return {
    date,
    rollupKey: key,
    batches: summaries.map((summary) => summary.batchId).sort(),
    refreshed,
    decisionKeys,
    decisions: [...byBatch.values()].reduce((sum, list) => sum + list.length, 0),
  };
}
