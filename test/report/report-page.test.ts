/**
 * The stakeholder pages of a real demo-run batch in headless Chromium (Debian's /usr/bin/chromium via playwright-core):
 * they render without console or page errors, request nothing but the file itself, and every chart draws as many
 * bars / cells as the batch's `assets` report rows say — counted from the rows, not restated. Then a review happens
 * and the refreshed report shows it, with the day's decisions partition written by the daily roll-up.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse/sync';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshBatchReport, type BatchReportSummary } from '../../lambdas/adapters/batch-report';
import { rollupKey, writeDailyRollup } from '../../lambdas/adapters/daily-rollup';
import { getBatchRecord, listAssetRecords } from '../../lambdas/adapters/record-store';
import { ReviewWork, type ReviewTarget } from '../../lambdas/adapters/review-work';
import { OUTCOMES } from '../../lambdas/core/outcomes';
import { loadReviewPolicy } from '../../lambdas/core/review/review-policy';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { readObjectOrUndefined } from '../../cli/target';
import { demoBatch } from '../../local/demo-batch';
import type { LocalSession } from '../../local/local-session';
import { runIn, session, type RunOutcome } from '../support/local-pipeline';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
const NONE = '(none)';

let local: LocalSession;
let run: RunOutcome;
let summary: BatchReportSummary;
let browser: Browser;
let pagesDir: string;

async function reportObject(key: string): Promise<string> {
  const bytes = await readObjectOrUndefined(local.reportsBucket, key);
  if (bytes === undefined) throw new Error(`no report object ${key}`);
  return bytes.toString('utf8');
}

/** Loads a report page from a file, recording console errors, page errors and every request it makes. */
async function openPage(key: string, fileName: string): Promise<{ page: Page; errors: string[]; requests: string[]; url: string }> {
  const file = path.join(pagesDir, fileName);
  await writeFile(file, await reportObject(key));
  const url = pathToFileURL(file).href;
  const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, requests, url };
}

/** [label, value] of every drawn datum of a chart (bars, or matrix cells as "row→col"). */
async function drawn(page: Page, chart: string): Promise<Array<[string, number]>> {
  return page.$$eval(`svg[data-chart="${chart}"] [data-bar], svg[data-chart="${chart}"] [data-cell]`, (elements) =>
    elements.map((element): [string, number] => [
      element.getAttribute('data-label') ?? `${element.getAttribute('data-row')}→${element.getAttribute('data-col')}`,
      Number(element.getAttribute('data-value')),
    ]),
  );
}

function tally(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

const sortedEntries = (entries: Iterable<[string, number]>): Array<[string, number]> => [...entries].sort(([a], [b]) => a.localeCompare(b));

beforeAll(async () => {
  // CI installs Debian's chromium; a machine without it must fail here, not skip the report's browser test.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) to run the report test`);
  await mkdir(ARTIFACTS, { recursive: true });
  pagesDir = await mkdtemp(path.join(os.tmpdir(), 'report-pages-'));
  local = await session();
  run = await runIn(local, demoBatch(), 'demo-batch.zip');
  expect(run.execution.status).toBe('SUCCEEDED');
  summary = JSON.parse(await reportObject(run.summary!.reports.summary)) as BatchReportSummary;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await local?.close();
  if (pagesDir !== undefined) await rm(pagesDir, { recursive: true, force: true });
});

describe('batch page of a demo run', () => {
  it('renders without errors, fetches nothing, and draws what the assets rows hold', async () => {
    const { page, errors, requests, url } = await openPage(summary.reports.html, 'batch.html');
    const rows = run.csvRows;
    const classified = rows.filter((row) => row['top_score'] !== '');
    expect(classified.length).toBeGreaterThan(0);

    expect(await drawn(page, 'outcomes')).toEqual(OUTCOMES.map((outcome) => [outcome, rows.filter((row) => row['outcome'] === outcome).length]));
    const reasons = tally(rows.flatMap((row) => (row['reason_codes'] === '' ? [] : row['reason_codes']!.split('|'))));
    expect(sortedEntries(await drawn(page, 'reasons'))).toEqual(sortedEntries(reasons));
    const declared = tally(rows.map((row) => row['declared_category_id']!).filter((id) => id !== ''));
    expect(sortedEntries(await drawn(page, 'class-balance'))).toEqual(sortedEntries(declared));

    // one histogram per predicted category, ten bins each, holding that category's classified assets
    const byCategory = tally(classified.map((row) => row['top_category_id'] || NONE));
    const figures = await page.$$eval('figure[data-category]', (elements) =>
      elements.map((figure) => ({
        category: figure.getAttribute('data-category')!,
        bars: [...figure.querySelectorAll('svg[data-chart="confidence"] [data-bar]')].map((bar) => Number(bar.getAttribute('data-value'))),
      })),
    );
    expect(figures.map((figure) => figure.category).sort()).toEqual([...byCategory.keys()].sort());
    for (const figure of figures) {
      expect(figure.bars, figure.category).toHaveLength(10);
      expect(
        figure.bars.reduce((a, b) => a + b, 0),
        figure.category,
      ).toBe(byCategory.get(figure.category));
    }

    const pairs = tally(
      classified.filter((row) => row['declared_category_id'] !== '').map((row) => `${row['declared_category_id']}→${row['top_category_id'] || NONE}`),
    );
    expect(sortedEntries(await drawn(page, 'declared-vs-predicted'))).toEqual(sortedEntries(pairs));

    // gates as the run summary reported them; review and drift say what is missing instead of drawing zeros
    expect(await page.$$eval('[data-gate]', (elements) => elements.length)).toBe(summary.gates.gates.length);
    expect(await page.getAttribute('[data-gates-overall]', 'data-gates-overall')).toBe(summary.gates.overall);
    expect(await page.locator('[data-review-empty]').count()).toBe(1);
    expect(await drawn(page, 'drift-category')).toEqual(summary.drift.category.psi === null ? [] : expect.any(Array));

    // per-stage latency comes from the records' stage timings: every asset that reached Preprocess has one
    expect(summary.kpis.latencyMs.Preprocess?.n).toBe(run.records.filter((record) => record.stageMs?.Preprocess !== undefined).length);
    expect(summary.kpis.latencyMs.Classify?.n).toBe(classified.length);

    await page.screenshot({ path: path.join(ARTIFACTS, 'report-batch.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    await page.close();
  });

  it('the day’s roll-up lists the batch and sums its outcomes', async () => {
    const { page, errors, requests, url } = await openPage(rollupKey(summary.dt), 'rollup.html');
    expect(await page.$$eval('tr[data-batch]', (elements) => elements.map((row) => row.getAttribute('data-batch')))).toEqual([summary.batchId]);
    expect(await drawn(page, 'outcomes')).toEqual(OUTCOMES.map((outcome) => [outcome, run.summary!.outcomes[outcome]]));
    expect(await drawn(page, 'review-rate')).toHaveLength(1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-rollup.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    await page.close();
  });
});

describe('after a review', () => {
  it('the refreshed report shows the decision, and the roll-up writes the day’s decisions partition', async () => {
    const tableName = local.stack.tables[0]!.name;
    const target: ReviewTarget = {
      tableName,
      reviewQueueUrl: local.stack.queues.find((queue) => queue.deadLetterTargetArn !== undefined)!.url,
      dataBucket: local.dataBucket,
      imageLocation: async (bucket, key) => `s3://${bucket}/${key}`,
    };
    const work = new ReviewWork(target, loadTaxonomy(), { ...loadReviewPolicy(), gold: { rate: 0 } });
    const claimed = await work.next('alice');
    expect(claimed).toBeDefined();
    const { decision } = await work.decide('alice', claimed!.claim.assetKey, 'approve', { batchId: claimed!.claim.batchId });

    const batch = (await getBatchRecord(summary.batchId, tableName))!;
    expect(batch.gates?.overall).toBe(summary.gates.overall);
    const refreshed = (await refreshBatchReport({
      batch,
      records: await listAssetRecords(summary.batchId, tableName),
      now: new Date().toISOString(),
      reportsBucket: local.reportsBucket,
      tableName,
    }))!;
    expect(refreshed.kpis.review.decisions).toBe(1);
    expect(refreshed.kpis.review.timeToLabelMs?.n).toBe(1);
    expect(refreshed.kpis.throughput).toEqual(summary.kpis.throughput); // the run window is kept
    const html = await reportObject(summary.reports.html);
    expect(html).not.toContain('data-review-empty');
    expect(html).toContain('time to label p50');

    const day = decision.decidedAt.slice(0, 10);
    const rollup = await writeDailyRollup({ date: day, reportsBucket: local.reportsBucket, tableName });
    expect(rollup.decisions).toBe(1);
    expect(rollup.decisionKeys).toEqual([`reports/decisions/dt=${day}/batch_id=${summary.batchId}/decisions.csv`]);
    const rows = parse(await reportObject(rollup.decisionKeys[0]!), { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((row) => [row['reviewer_id'], row['label'], row['asset_key']])).toEqual([['alice', 'approve', claimed!.claim.assetKey]]);
  });
});
