/**
 * The same SQL locally: a demo batch runs on a state folder, then every named query of the synthesized stack (read
 * back from the template's AWS::Athena::NamedQuery resources) runs with DuckDB over the report CSVs it wrote, so a
 * mismatch between the writers, the table definitions and the queries fails here. The decisions table gets its rows
 * from `decisionsCsv` (the Report stage writes none yet), so the reviewer-agreement query is exercised on data.
 * Then the `query` CLI's contract: --list, --named … --json and "<sql>" --json.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTCOMES } from '../../lambdas/core/outcomes';
import { needsReview, type AssetRecord } from '../../lambdas/core/records';
import { BATCHES_TABLE, decisionsCsv, EXCEPTIONS_TABLE } from '../../lambdas/core/report-tables';
import type { BatchSummary } from '../../lambdas/core/report';
import type { ReviewDecision } from '../../lambdas/core/review/decisions';
import { demoBatch } from '../../local/demo-batch';
import { localReportsDir, openReportQueryEngine, type QueryRow, type ReportQueryEngine } from '../../local/report-query';
import { startCli } from '../support/cli-process';
import { runIn, session, template } from '../support/local-pipeline';

let stateDir: string;
let reportsDir: string;
let summary: BatchSummary;
let records: AssetRecord[];
let engine: ReportQueryEngine;

/** Two blind reviews per task: the first task agrees, the second does not. */
function decisions(batchId: string, assetKeys: string[], lineage: AssetRecord['lineage']): ReviewDecision[] {
  const decision = (assetKey: string, reviewerId: string, label: ReviewDecision['label'], decidedAt: string): ReviewDecision => ({
    batchId,
    assetKey,
    reviewTaskId: `${batchId}/${assetKey}/1`,
    revision: 1,
    reviewerId,
    role: 'review',
    label,
    note: '=1+1, looks fine',
    claimedAt: '2026-12-01T10:00:00.000Z',
    decidedAt,
    timeToLabelMs: 1000,
    seen: { lineage, outcome: 'NEEDS_REVIEW', reasons: ['CATEGORY_MISMATCH'], reviewPolicyVersion: 'rp-1' },
  });
  const [first, second] = assetKeys;
  return [
    decision(first!, 'ana', 'approve', '2026-12-01T10:00:01.000Z'),
    decision(first!, 'ben', 'approve', '2026-12-01T10:00:02.000Z'),
    decision(second!, 'ana', 'approve', '2026-12-02T10:00:01.000Z'),
    decision(second!, 'ben', 'reject', '2026-12-02T10:00:02.000Z'),
  ];
}

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-report-queries-'));
  const local = await session({ stateDir });
  try {
    const outcome = await runIn(local, demoBatch(), 'demo-batch.zip');
    if (outcome.summary === undefined) throw new Error(`the demo run did not complete: ${JSON.stringify(outcome.execution).slice(0, 2000)}`);
    summary = outcome.summary;
    records = outcome.records;
  } finally {
    await local.close();
  }
  reportsDir = (await localReportsDir(stateDir))!;
  const reviewable = records
    .filter(needsReview)
    .map((record) => record.assetKey)
    .sort();
  const decisionsDir = path.join(reportsDir, 'decisions', `dt=${summary.dt}`, `batch_id=${summary.batchId}`);
  await mkdir(decisionsDir, { recursive: true });
  await writeFile(path.join(decisionsDir, 'decisions.csv'), decisionsCsv(decisions(summary.batchId, reviewable, records[0]!.lineage)));
  engine = await openReportQueryEngine(reportsDir);
}, 120_000);

afterAll(async () => {
  engine?.close();
  await rm(stateDir, { recursive: true, force: true });
});

const namedQueries = (): Array<{ name: string; sql: string }> =>
  Object.values(template().Resources)
    .filter((resource) => resource.Type === 'AWS::Athena::NamedQuery')
    .map((resource) => ({ name: String(resource.Properties!.Name), sql: String(resource.Properties!.QueryString) }));
const sum = (rows: QueryRow[], column: string): number => rows.reduce((total, row) => total + Number(row[column]), 0);

describe('report tables of a demo run', () => {
  it('finds the reports bucket folder without synthesizing, and writes every table the Report stage owns', async () => {
    expect(reportsDir).toBe(path.join(stateDir, 's3', path.basename(path.dirname(reportsDir)), 'reports'));
    for (const key of [summary.reports.assets, summary.reports.exceptions, summary.reports.batches]) {
      await expect(readFile(path.join(path.dirname(reportsDir), key), 'utf8')).resolves.toContain('batch_id');
    }
  });

  it('exceptions: one row per reviewable asset, with the header of the table module', async () => {
    const csv = await readFile(path.join(path.dirname(reportsDir), summary.reports.exceptions), 'utf8');
    const rows = parse(csv, { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0]!)).toEqual(EXCEPTIONS_TABLE.columns.map((column) => column.name));
    expect(rows.map((row) => row.asset_key).sort()).toEqual(
      records
        .filter(needsReview)
        .map((record) => record.assetKey)
        .sort(),
    );
    expect(rows.length).toBeGreaterThan(0);
  });

  it('batches: one row whose counts are the summary’s', async () => {
    const [row] = await engine.query(`SELECT * FROM batches WHERE batch_id = '${summary.batchId}'`);
    expect(Object.keys(row!)).toEqual([...BATCHES_TABLE.columns.map((column) => column.name), 'dt']);
    for (const outcome of OUTCOMES) expect(row![`count_${outcome.toLowerCase()}`], outcome).toBe(summary.outcomes[outcome]);
    expect(row).toMatchObject({ expected_assets: summary.assets, recorded_assets: summary.assets, sent_to_review: summary.sentToReview, dt: summary.dt });
  });
});

describe('every named query of the synthesized stack, locally', () => {
  it('the template names queries', () => {
    expect(namedQueries().length).toBeGreaterThanOrEqual(7);
  });

  it.each(namedQueries().map((query) => [query.name, query.sql] as const))('%s runs over the demo reports', async (_name, sql) => {
    await expect(engine.query(sql)).resolves.toBeInstanceOf(Array);
  });

  it('outcome_mix_by_merchant_day counts every asset once', async () => {
    const rows = await engine.query(namedQueries().find((query) => query.name === 'outcome_mix_by_merchant_day')!.sql);
    expect(sum(rows, 'assets')).toBe(summary.assets);
    expect(new Set(rows.map((row) => row.dt))).toEqual(new Set([summary.dt]));
  });

  it('review_backlog_by_age counts the unreviewed exceptions', async () => {
    const rows = await engine.query(namedQueries().find((query) => query.name === 'review_backlog_by_age')!.sql);
    expect(sum(rows, 'assets')).toBe(records.filter(needsReview).length);
  });

  it('model_version_comparison covers every asset a model answered for', async () => {
    const rows = await engine.query(namedQueries().find((query) => query.name === 'model_version_comparison')!.sql);
    expect(sum(rows, 'assets')).toBe(records.filter((record) => (record.lineage.categoryModel?.modelId ?? '') !== '').length);
  });

  it('reviewer_agreement_over_time reads the decisions writer’s rows: one agreeing pair, then one disagreeing', async () => {
    const rows = await engine.query(namedQueries().find((query) => query.name === 'reviewer_agreement_over_time')!.sql);
    expect(rows).toEqual([
      { day: '2026-12-01', review_pairs: 1, agreeing_pairs: 1, agreement: expect.anything() },
      { day: '2026-12-02', review_pairs: 1, agreeing_pairs: 0, agreement: expect.anything() },
    ]);
    expect(rows.map((row) => Number(row.agreement))).toEqual([1, 0]);
  });

  it('reads cells as Athena does: an empty optional number is an empty text, and a neutralized note keeps its quote', async () => {
    const [decision] = await engine.query('SELECT note FROM decisions LIMIT 1');
    expect(decision!.note).toBe("'=1+1, looks fine");
    const [missing] = await engine.query(`SELECT COUNT(*) AS n FROM assets WHERE top_score = ''`);
    expect(missing!.n).toBe(records.filter((record) => record.evidence === undefined).length);
  });
});

describe('media-triage query', () => {
  it('--list prints the named queries’ names, one per line', async () => {
    const { code, stdout } = await startCli(['query', '--list']).done;
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual(namedQueries().map((query) => query.name));
  });

  it('--named <name> --json prints the rows as one JSON array on the last line', async () => {
    const { code, stdout } = await startCli(['query', '--named', 'outcome_mix_by_merchant_day', '--json', '--state-dir', stateDir]).done;
    expect(code).toBe(0);
    const rows = JSON.parse(stdout.trim().split('\n').pop()!) as QueryRow[];
    expect(rows).toEqual(await engine.query(namedQueries().find((query) => query.name === 'outcome_mix_by_merchant_day')!.sql));
  });

  it('"<sql>" --json runs any SQL over the tables; an unknown name is a usage error', async () => {
    const run = await startCli(['query', 'SELECT COUNT(*) AS assets FROM assets', '--json', '--state-dir', stateDir]).done;
    expect(JSON.parse(run.stdout.trim().split('\n').pop()!)).toEqual([{ assets: summary.assets }]);
    const unknown = await startCli(['query', '--named', 'nope', '--json', '--state-dir', stateDir]).done;
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout.trim().split('\n').pop()!)).toMatchObject({ code: 'USAGE' });
  });
});
