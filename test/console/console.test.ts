/**
 * The review web console in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core) against a local
 * session with reviewable assets: the page shows the claimed item (image loaded, reasons, listing text as text), a
 * keyboard decision changes the record in DynamoDB and the next item loads, the category picker recategorizes, skip
 * moves on, the empty state shows; the API refuses cross-origin and malformed requests with `{error, code}`; the
 * Batches page runs an uploaded zip and loose images through the local pipeline and shows their outcomes, and — on a
 * deployed stack (`review serve --stack`: the stack's CloudFormation outputs from a DescribeStacks stand-in, its
 * EventBridge rule and Step Functions API from a stand-in backed by the local runner) — uploads a zip under incoming/,
 * follows the execution the upload started and shows the same outcomes and CSV.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getAssetRecord, listAssetRecords } from '../../lambdas/adapters/record-store';
import { ReviewStore } from '../../lambdas/adapters/review-store';
import { reviewStats } from '../../lambdas/adapters/review-stats';
import { ReviewWork, type ReviewTarget } from '../../lambdas/adapters/review-work';
import { assetSk, batchPk, needsReview, type AssetRecord } from '../../lambdas/core/records';
import { ASSET_COLUMNS } from '../../lambdas/core/report';
import { loadReviewPolicy, requiredReviewers } from '../../lambdas/core/review/review-policy';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { buildZip, manifestCsv, stdlibPhoto } from '../../local/demo-batch';
import type { LocalSession } from '../../local/local-session';
import { LocalBatches } from '../../console/local-batches';
import { readS3Object } from '../../console/s3-image';
import { startReviewConsole, type ReviewConsole } from '../../console/server';
import { runIn, session } from '../support/local-pipeline';
import { stackTarget } from '../../cli/target';
import { StackBatches } from '../../console/stack-batches';
import { startCloudFormationStandIn, type CloudFormationStandIn } from '../../local/cloudformation-standin';
import { startStepFunctionsStandIn, type StepFunctionsStandIn } from '../../local/deployed-stack-standin';

/** The few browser globals the page functions below use (the project type-checks without the DOM library). */
interface PageElement {
  hidden: boolean;
  dataset: Record<string, string | undefined>;
  textContent: string | null;
  complete?: boolean;
  naturalWidth?: number;
  href?: string;
}
declare const document: { getElementById(id: string): PageElement | null };
declare const window: { __xss?: number };

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
/** Merchant text that would run script if the page ever put record text into HTML. */
const XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';

const taxonomy = loadTaxonomy();
const policy = { ...loadReviewPolicy(), gold: { rate: 0 } };
let local: LocalSession;
let target: ReviewTarget;
let batchId: string;
let reviewable: AssetRecord[];
let consoleServer: ReviewConsole;
let browser: Browser;
const logged: string[] = [];

/** Neutral policy scores for every image (no such samples ship), so each asset needs the policy's default reviewers. */
const neutralPolicy = (request: { endpointName: string }) =>
  request.endpointName.startsWith('PolicyModel')
    ? {
        labels: [
          { label: 'neutral', score: 0.97 },
          { label: 'drawing', score: 0.03 },
        ],
      }
    : undefined;

async function record(assetKey: string, batch = batchId): Promise<AssetRecord> {
  return (await getAssetRecord(batchPk(batch), assetSk(assetKey)))!;
}

async function shownAssetKey(page: Page): Promise<string | undefined> {
  return page.locator('#case').evaluate((node) => ((node as unknown as PageElement).hidden ? undefined : (node as unknown as PageElement).dataset['assetKey']));
}

/** Waits until the page shows an item other than `previous` (or the empty state); returns its key. */
async function nextShown(page: Page, previous: string | undefined): Promise<string | undefined> {
  await page.waitForFunction((before) => {
    const box = document.getElementById('case')!;
    if (!document.getElementById('empty')!.hidden) return true;
    return !box.hidden && box.dataset['assetKey'] !== before;
  }, previous);
  return shownAssetKey(page);
}

async function expectItemShown(page: Page, assetKey: string): Promise<void> {
  const shown = reviewable.find((r) => r.assetKey === assetKey)!;
  // the image is served by the console from S3 and really decodes
  await page.waitForFunction(() => {
    const image = document.getElementById('image')!;
    return image.complete === true && (image.naturalWidth ?? 0) > 0;
  });
  expect(await page.locator('#image').getAttribute('src')).toMatch(/^\/api\/image\?key=/);
  // reasons with their meanings, declared category by name, listing text as text
  const reasons = await page.locator('#reasons li code').allTextContents();
  expect(reasons).toEqual(shown.reasons);
  expect(await page.locator('#declared').textContent()).toContain(taxonomy.category(shown.listing.declaredCategoryId!)!.name);
  expect(await page.locator('#description').textContent()).toBe(XSS);
  expect(await page.locator('#explanation').textContent()).toBe(shown.explanation);
  expect(await page.locator('#predicted [role=meter]').count()).toBe(Math.min(5, shown.evidence?.category.scores.length ?? 0));
  expect(await page.evaluate(() => window.__xss)).toBeUndefined();
  expect(await page.locator('main img').count()).toBe(1);
}

/** A request with a chosen Host header (fetch may not set it). */
function rawRequest(url: string, options: { method: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: options.method, headers: options.headers }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

beforeAll(async () => {
  // CI installs Debian's chromium; a machine without it must fail here, not skip the console's only browser test.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) to run the console test`);
  await mkdir(ARTIFACTS, { recursive: true });
  local = await session({ intercept: neutralPolicy });
  const archive = buildZip({
    'manifest.csv': manifestCsv([
      // a photo of boats listed as a pet: a likely misrepresentation (FLAGGED)
      {
        asset_id: 'C-1',
        file: 'boats.jpg',
        merchant_id: 'm-console',
        declared_category: 'Pets',
        title: 'Playful puppy',
        description: XSS,
        price: '500',
        currency: 'EUR',
      },
      // a landscape with nothing the detector knows: low confidence (NEEDS_REVIEW)
      {
        asset_id: 'C-2',
        file: 'alps.jpg',
        merchant_id: 'm-console',
        declared_category: 'Boats',
        title: 'Sailing dinghy',
        description: XSS,
        price: '1200',
        currency: 'EUR',
      },
      { asset_id: 'C-3', file: 'canyon.jpg', merchant_id: 'm-console', declared_category: 'Toys', title: 'Wooden train set', description: XSS },
    ]),
    'boats.jpg': stdlibPhoto('boats'),
    'alps.jpg': stdlibPhoto('alps'),
    'canyon.jpg': stdlibPhoto('canyon'),
  });
  const run = await runIn(local, archive, 'console.zip');
  expect(run.execution.status).toBe('SUCCEEDED');
  batchId = run.summary!.batchId;
  reviewable = (await listAssetRecords(batchId)).filter((r) => needsReview(r));
  // the scenario needs at least two items to review (a decision, then the next item)
  expect(reviewable.length).toBeGreaterThanOrEqual(2);
  target = {
    tableName: local.stack.tables[0]!.name,
    reviewQueueUrl: local.stack.queues.find((q) => q.deadLetterTargetArn !== undefined)!.url,
    dataBucket: local.dataBucket,
    imageLocation: async (bucket, key) => `s3://${bucket}/${key}`,
  };
  consoleServer = await startReviewConsole({
    work: new ReviewWork(target, taxonomy, policy),
    stats: (window) => reviewStats(target, window),
    readImage: readS3Object,
    taxonomy,
    host: '127.0.0.1',
    port: 0,
    batches: new LocalBatches(local),
    log: (message) => logged.push(message),
  });
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
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await consoleServer?.close();
  await local?.close();
});

describe('review page', () => {
  it('shows the claimed item, records keyboard decisions in DynamoDB, loads the next item and ends on an empty queue', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${consoleServer.url}?reviewer=alice`);

    const first = await nextShown(page, undefined);
    expect(reviewable.map((r) => r.assetKey)).toContain(first);
    await expectItemShown(page, first!);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console.png'), fullPage: true });

    // n focuses the note; typing there decides nothing; Escape leaves the field; r rejects
    await page.keyboard.press('n');
    await page.keyboard.type('reads as a different product');
    await page.keyboard.press('Escape');
    expect((await record(first!)).reviewedBy).toBeUndefined();
    await page.keyboard.press('r');
    const second = await nextShown(page, first);
    expect(second).not.toBe(first);

    const decided = await record(first!);
    const store = new ReviewStore(target.tableName);
    const log = await store.auditLog(new Date(Date.now() - 600_000), new Date(Date.now() + 60_000));
    const decision = log.find((e) => e.action === 'DECIDED' && e.assetKey === first)!.details['decision'] as {
      reviewerId: string;
      label: string;
      note?: string;
      role: string;
    };
    expect(decision).toMatchObject({ reviewerId: 'alice', label: 'reject', note: 'reads as a different product', role: 'review' });
    if (requiredReviewers(policy, decided) === 1) expect(decided).toMatchObject({ reviewStatus: 'FINAL', reviewOutcome: 'reject', reviewedBy: ['alice'] });
    else expect(decided.reviewStatus).toBe('OPEN');

    // c opens the category picker: filter, Enter recategorizes
    await expectItemShown(page, second!);
    await page.keyboard.press('c');
    await page.locator('#picker-filter').waitFor();
    await page.keyboard.type('boat');
    await page.keyboard.press('Enter');
    const third = await nextShown(page, second);
    const recategorized = await record(second!);
    const secondDecision = (await store.auditLog(new Date(Date.now() - 600_000), new Date(Date.now() + 60_000))).find(
      (e) => e.action === 'DECIDED' && e.assetKey === second,
    )!;
    expect((secondDecision.details['decision'] as { label: string }).label).toBe('recategorize:vehicles.boats');
    if (requiredReviewers(policy, recategorized) === 1) expect(recategorized.reviewOutcome).toBe('recategorize:vehicles.boats');

    // s skips: the item goes back to the queue (out of sight for a while) and the page moves on
    let current = third;
    const skipped: string[] = [];
    while (current !== undefined) {
      await page.keyboard.press('s');
      skipped.push(current);
      current = await nextShown(page, current);
      if (current !== undefined) expect(skipped).not.toContain(current);
    }
    expect(await page.locator('#empty').isVisible()).toBe(true);
    expect(await page.locator('#empty h2').textContent()).toBe('Nothing to review');
    for (const key of skipped) expect((await record(key)).reviewedBy).toBeUndefined();

    // the reviewer's own stats: their two decisions
    await page.waitForFunction(() => document.getElementById('stat-decisions')!.textContent === '2');
    expect(await page.locator('#stat-median').textContent()).toMatch(/^\d+\.\d s$/);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('keeps the reviewer id in the browser and shows the sign-in state without one', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(consoleServer.url);
    await page.locator('#signin').waitFor();
    await page.fill('#reviewer', 'bob');
    await page.press('#reviewer', 'Enter');
    await page.waitForFunction(() => !document.getElementById('case')!.hidden || !document.getElementById('empty')!.hidden);
    await page.reload();
    expect(await page.inputValue('#reviewer')).toBe('bob');
    // the adjudicator toggle asks for adjudication work
    await page.waitForFunction(() => !document.getElementById('empty')!.hidden || !document.getElementById('case')!.hidden);
    const adjudicating = page.waitForRequest((request) => request.url().includes('/api/next?reviewer=bob&adjudicator=1'));
    await page.check('#adjudicator');
    await adjudicating;
    await context.close();
  });

  it('answers API misuse with {error, code} and 4xx, never a stack trace', async () => {
    const api = new URL('api/decide', consoleServer.url).toString();
    const body = JSON.stringify({ reviewer: 'mallory', assetKey: reviewable[0]!.assetKey, label: 'approve' });
    const cases: Array<{ headers: Record<string, string>; status: number; code: string }> = [
      // a form post from another page: wrong content type
      { headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      // a fetch from another local page
      { headers: { 'content-type': 'application/json', origin: 'http://127.0.0.1:9' }, status: 403, code: 'CROSS_ORIGIN' },
      // DNS rebinding: the browser names the attacker's host
      { headers: { 'content-type': 'application/json', host: 'evil.example' }, status: 421, code: 'WRONG_HOST' },
      // no claim held
      { headers: { 'content-type': 'application/json', origin: new URL(consoleServer.url).origin }, status: 409, code: 'NOT_CLAIMED' },
    ];
    for (const expected of cases) {
      const response = await rawRequest(api, { method: 'POST', headers: expected.headers, body });
      expect(response.status).toBe(expected.status);
      const parsed = JSON.parse(response.body) as { error: string; code: string };
      expect(parsed.code).toBe(expected.code);
      expect(parsed.error).not.toMatch(/\n\s+at /);
    }
    const badLabel = await fetch(api, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reviewer: 'mallory', assetKey: 'x', label: 'recategorize:nowhere' }),
    });
    expect(badLabel.status).toBe(400);
    expect(((await badLabel.json()) as { code: string }).code).toBe('INVALID_LABEL');
    // only images the console handed out are served: not the reports, not the archive
    const report = await fetch(new URL(`api/image?key=${encodeURIComponent(`incoming/console.zip`)}`, consoleServer.url));
    expect(report.status).toBe(404);
    expect((await fetch(new URL('api/next?reviewer=%3Cscript%3E', consoleServer.url))).status).toBe(400);
    // a GET that claims must not be triggered by another site's <img src> (browsers say where a request comes from)
    const crossSite = await fetch(new URL('api/next?reviewer=alice', consoleServer.url), { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    expect(logged).toEqual([]);
  });
});

describe('batches page', () => {
  it('runs an uploaded zip and loose images through the local pipeline and shows outcomes, exceptions and the CSV', async () => {
    const page = await browser.newPage();
    await page.goto(new URL('batches', consoleServer.url).toString());
    const rows = [
      { asset_id: 'U-1', file: 'sheep.jpg', merchant_id: 'm-upload', declared_category: 'livestock', title: 'Sheep' },
      { asset_id: 'U-2', file: 'missing.jpg', merchant_id: 'm-upload', declared_category: 'Boats', title: 'Boat' },
    ];
    const archive = buildZip({ 'manifest.csv': manifestCsv(rows), 'sheep.jpg': stdlibPhoto('sheep') });
    await page.setInputFiles('#zip-file', { name: 'console-upload.zip', mimeType: 'application/zip', buffer: archive });
    await page.click('#zip-submit');
    await page.waitForFunction(() => ['COMPLETED', 'REFUSED', 'FAILED'].includes(document.getElementById('result-state')!.textContent ?? ''), undefined, {
      timeout: 90_000,
    });
    expect(await page.locator('#result-state').textContent()).toBe('COMPLETED');
    const uploadedBatch = (await page.locator('#result-batch').textContent())!;
    const records = await listAssetRecords(uploadedBatch);
    expect(records).toHaveLength(2);
    expect(await page.locator('#assets tr').count()).toBe(2);
    // the row naming a missing file is an exception with its reason
    expect(await page.locator('#exceptions').textContent()).toContain('MISSING_FILE');
    expect(Number(await page.locator('#exceptions-count').textContent())).toBe(records.filter((r) => r.outcome !== 'AUTO_PASS').length);
    for (const outcome of ['AUTO_PASS', 'FLAGGED', 'NEEDS_REVIEW', 'REJECTED_INPUT', 'FAILED']) {
      const shown = await page.locator(`#outcome-counts [data-outcome="${outcome}"] strong`).textContent();
      expect(Number(shown)).toBe(records.filter((r) => r.outcome === outcome).length);
    }
    const csv = await page.evaluate(async () => (await fetch(document.getElementById('csv-link')!.href!)).text());
    expect(csv.split('\n')[0]).toBe(ASSET_COLUMNS.join(','));
    expect(csv.trim().split('\n')).toHaveLength(3);

    // loose images with the small form: a generated manifest under one merchant and category
    await page.setInputFiles('#image-files', [
      { name: 'boat photo.jpg', mimeType: 'image/jpeg', buffer: stdlibPhoto('boats') },
      { name: 'plane.jpg', mimeType: 'image/jpeg', buffer: stdlibPhoto('airplane') },
    ]);
    await page.fill('#merchant-id', 'm-loose');
    await page.selectOption('#declared-category', 'vehicles');
    await page.click('#images-submit');
    await page.waitForFunction(
      (before) => {
        const batch = document.getElementById('result-batch')!.textContent;
        return batch !== before && ['COMPLETED', 'REFUSED', 'FAILED'].includes(document.getElementById('result-state')!.textContent ?? '');
      },
      uploadedBatch,
      { timeout: 90_000 },
    );
    expect(await page.locator('#result-state').textContent()).toBe('COMPLETED');
    const looseBatch = (await page.locator('#result-batch').textContent())!;
    const loose = await listAssetRecords(looseBatch);
    expect(loose.map((r) => [r.listing.assetId, r.listing.merchantId, r.listing.declaredCategoryId, r.listing.title]).sort()).toEqual([
      ['IMG-0001', 'm-loose', 'vehicles', 'boat photo'],
      ['IMG-0002', 'm-loose', 'vehicles', 'plane'],
    ]);
    expect(await page.locator('#assets tr').count()).toBe(2);
    expect(await page.locator('#jobs tr').count()).toBe(2);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-batches.png'), fullPage: true });
    await page.close();
  }, 180_000);
});

describe('batches page on a deployed stack', () => {
  let cloudFormation: CloudFormationStandIn;
  let stepFunctions: StepFunctionsStandIn;
  let stackConsole: ReviewConsole;
  let stackBatches: StackBatches;

  beforeAll(async () => {
    cloudFormation = await startCloudFormationStandIn([
      {
        name: 'MediaTriage',
        outputs: {
          UploadLocation: `s3://${local.dataBucket}/incoming/`,
          ReportsLocation: `s3://${local.reportsBucket}/reports/`,
          ReviewQueueUrl: target.reviewQueueUrl,
          RecordsTableName: target.tableName,
          StateMachineArn: local.stack.stateMachine.arn,
        },
      },
    ]);
    stepFunctions = await startStepFunctionsStandIn(local, { pollMs: 50 });
    process.env['AWS_ENDPOINT_URL_CLOUDFORMATION'] = cloudFormation.url;
    process.env['AWS_ENDPOINT_URL_SFN'] = stepFunctions.url;
    const stack = await stackTarget({ stack: 'MediaTriage' });
    stackBatches = new StackBatches(stack.names, { pollMs: 100 });
    stackConsole = await startReviewConsole({
      work: new ReviewWork(stack.review, taxonomy, policy),
      stats: (window) => reviewStats(stack.review, window),
      readImage: readS3Object,
      taxonomy,
      host: '127.0.0.1',
      port: 0,
      batches: stackBatches,
      log: (message) => logged.push(message),
    });
  });

  afterAll(async () => {
    await stackConsole?.close();
    await stackBatches?.close();
    await stepFunctions?.stop();
    await cloudFormation?.stop();
    delete process.env['AWS_ENDPOINT_URL_CLOUDFORMATION'];
    delete process.env['AWS_ENDPOINT_URL_SFN'];
  });

  it('uploads the zip under incoming/, follows the execution it started, and shows outcomes, exceptions and the CSV', async () => {
    const page = await browser.newPage();
    await page.goto(new URL('batches', stackConsole.url).toString());
    const rows = [
      { asset_id: 'D-1', file: 'boats.jpg', merchant_id: 'm-stack', declared_category: 'Boats', title: 'Boats in a harbour' },
      { asset_id: 'D-2', file: 'absent.jpg', merchant_id: 'm-stack', declared_category: 'Boats', title: 'Boat' },
    ];
    const archive = buildZip({ 'manifest.csv': manifestCsv(rows), 'boats.jpg': stdlibPhoto('boats') });
    await page.setInputFiles('#zip-file', { name: 'stack-upload.zip', mimeType: 'application/zip', buffer: archive });
    await page.click('#zip-submit');
    await page.waitForFunction(() => ['COMPLETED', 'REFUSED', 'FAILED'].includes(document.getElementById('result-state')!.textContent ?? ''), undefined, {
      timeout: 120_000,
    });
    expect(await page.locator('#result-error').textContent()).toBe('');
    expect(await page.locator('#result-state').textContent()).toBe('COMPLETED');
    // the upload started the execution (the "EventBridge rule"), and the page followed that one
    const [execution] = stepFunctions.executions();
    expect(JSON.parse(execution!.input)).toMatchObject({ bucket: local.dataBucket, key: 'incoming/stack-upload.zip' });
    expect(execution!.status).toBe('SUCCEEDED');
    expect(await page.locator('#result-execution').textContent()).toBe(`Execution ${execution!.executionArn}`);
    const stackBatch = (await page.locator('#result-batch').textContent())!;
    const records = await listAssetRecords(stackBatch);
    expect(records).toHaveLength(2);
    expect(await page.locator('#assets tr').count()).toBe(2);
    expect(await page.locator('#exceptions').textContent()).toContain('MISSING_FILE');
    for (const outcome of ['AUTO_PASS', 'FLAGGED', 'NEEDS_REVIEW', 'REJECTED_INPUT', 'FAILED']) {
      const shown = await page.locator(`#outcome-counts [data-outcome="${outcome}"] strong`).textContent();
      expect(Number(shown)).toBe(records.filter((r) => r.outcome === outcome).length);
    }
    // the CSV comes from the stack's reports bucket
    const csv = await page.evaluate(async () => (await fetch(document.getElementById('csv-link')!.href!)).text());
    expect(csv.split('\n')[0]).toBe(ASSET_COLUMNS.join(','));
    expect(csv.trim().split('\n')).toHaveLength(3);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-batches-stack.png'), fullPage: true });
    await page.close();
  }, 180_000);
});
