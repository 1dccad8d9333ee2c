/**
 * The bad-input corpus through the local pipeline (the synthesized state machine, the bundled handlers in their
 * sandboxes, the stand-ins): every kind ends in its expected outcome and reason code, or its batch-level code, with
 * a message that says what is wrong; every row and file is accounted for exactly once; nothing is written outside
 * the batch's own prefixes (after the zip-slip entries) and nothing is left in the temp dir. A rerun adds nothing.
 *
 * Models are answered without running one (a confident boat): these tests are about input handling, and the WebP
 * and AVIF assets still go through the bundled Preprocess, its WASM decoders included.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBatchRecord, listAssetRecords } from '../../lambdas/adapters/record-store';
import { rowAssetKey } from '../../lambdas/core/batch-plan';
import { REASON_CODES } from '../../lambdas/core/outcomes';
import type { AssetRecord } from '../../lambdas/core/records';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { MODEL_INPUT_PREFIX, stagingPrefix } from '../../lambdas/core/work-items';
import { MAP_RESULTS_PREFIX } from '../../lib/constructs/triage-state-machine';
import type { LocalSession } from '../../local/local-session';
import { runIn, session, type RunOutcome } from '../support/local-pipeline';
import { batchCases, mixedBatch, type AssetExpectation, type BatchCase, type MixedBatch } from './cases';

function answerBoat(request: { endpointName: string }): { labels: Array<{ label: string; score: number }> } {
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: label === 'a photo of a boat' ? 0.9 : 0.1 / (candidates.length - 1) })) };
}

let local: LocalSession;
/** Every batch this file ran: their staging prefixes are the only ones allowed. */
const batchesRun = new Set<string>();
const s3 = () => new S3Client({});

// A temp dir of this file's own (the run's private TMPDIR is shared by the files running beside it, whose
// PrepareBatch copies may exist at any moment): the sandboxes take TMPDIR from this process when the session opens.
let ownTmp: string;
let runTmp: string | undefined;

beforeAll(async () => {
  runTmp = process.env['TMPDIR'];
  ownTmp = await mkdtemp(path.join(tmpdir(), 'corpus-'));
  process.env['TMPDIR'] = ownTmp;
  local = await session({ intercept: answerBoat });
});
afterAll(async () => {
  await local?.close();
  if (runTmp === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = runTmp;
  await rm(ownTmp, { recursive: true, force: true });
});

async function keysOf(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3().send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return keys;
}

/** Every object lies under a prefix the pipeline owns; none has a path that climbs, is absolute or uses `\`. */
async function expectNothingOutsideItsFolders(): Promise<void> {
  const ownData = ['incoming/', `${MAP_RESULTS_PREFIX}/`, MODEL_INPUT_PREFIX, ...[...batchesRun].map((id) => stagingPrefix(id))];
  for (const key of await keysOf(local.dataBucket)) {
    expect(
      ownData.some((prefix) => key.startsWith(prefix)),
      key,
    ).toBe(true);
    expect(key.split('/').some((segment) => segment === '..' || segment === '.') || key.includes('\\') || key.startsWith('/'), key).toBe(false);
  }
  for (const key of await keysOf(local.reportsBucket)) expect(key.startsWith('reports/'), key).toBe(true);
  // PrepareBatch's ephemeral-storage copies are gone (test/support/temp-dir-guard.ts gives the run a private TMPDIR).
  expect((await readdir(ownTmp)).filter((name) => name.startsWith('media-triage-archive-'))).toEqual([]);
}

/** Every record and CSV row once, matching counts everywhere. */
function expectAccountedOnce(run: RunOutcome, expected: number): void {
  expect(run.execution.status).toBe('SUCCEEDED');
  expect((run.execution.output as { status?: string } | undefined)?.status).toBe('COMPLETED');
  expect(run.summary!.assets).toBe(expected);
  expect(run.records).toHaveLength(expected);
  expect(new Set(run.records.map((record) => record.assetKey)).size).toBe(expected);
  expect(run.csvRows).toHaveLength(expected);
  expect(new Set(run.csvRows.map((row) => row['asset_key'])).size).toBe(expected);
  expect(Object.values(run.summary!.outcomes).reduce((a, b) => a + b, 0)).toBe(expected);
  for (const record of run.records) {
    expect(record.explanation.length, record.assetKey).toBeGreaterThan(10);
    for (const reason of record.reasons) expect(Object.keys(REASON_CODES)).toContain(reason);
  }
}

/** The expectation's record: an orphan by its key, a row by its number. */
function recordFor(records: readonly AssetRecord[], expectation: AssetExpectation): AssetRecord {
  const key = expectation.orphanKey ?? rowAssetKey(expectation.rowNumber!);
  const found = records.filter((record) => record.assetKey === key);
  expect(found, `${expectation.kind}: one record`).toHaveLength(1);
  return found[0]!;
}

describe('the asset-level corpus: one archive, every kind', () => {
  let batch: MixedBatch;
  let run: RunOutcome;

  beforeAll(async () => {
    batch = await mixedBatch();
    run = await runIn(local, batch.archive, 'corpus-mixed.zip');
  }, 400_000);

  it('holds at least 40 kinds and ends each in its expected outcome, reason and message', () => {
    const kinds = new Set(batch.expectations.map((expectation) => expectation.kind));
    expect(kinds.size).toBeGreaterThanOrEqual(40);
    for (const expectation of batch.expectations) {
      const record = recordFor(run.records, expectation);
      const label = `${expectation.kind}: ${record.outcome} ${record.reasons.join(',')} — ${record.explanation}`;
      if (expectation.accepted) {
        expect(['AUTO_PASS', 'NEEDS_REVIEW', 'FLAGGED'], label).toContain(record.outcome);
        expect(record.image?.modelInputKey, label).toMatch(/^preprocessed\//);
      } else {
        expect(record.outcome, label).toBe('REJECTED_INPUT');
        expect(record.reasons[0], label).toBe(expectation.reason);
      }
      if (expectation.says !== undefined) expect(record.explanation, label).toMatch(expectation.says);
      expectation.check?.(record);
    }
  });

  it('accounts for every row and every file exactly once (junk ignored and listed), and writes nothing outside its folders', async () => {
    const orphans = batch.expectations.filter((expectation) => expectation.orphanKey !== undefined).length;
    expectAccountedOnce(run, batch.rows + orphans);
    const batchRecord = await getBatchRecord(run.summary!.batchId);
    expect(batchRecord?.ignoredEntries).toEqual(expect.arrayContaining(['.DS_Store', '__MACOSX/images/._photo.jpg']));
    // Only files of accepted rows were staged, under the batch's prefix, by their normalized paths.
    const staged = (await keysOf(local.dataBucket)).filter((key) => key.startsWith(stagingPrefix(run.summary!.batchId)));
    expect(staged.some((key) => key.includes('evil'))).toBe(false);
    batchesRun.add(run.summary!.batchId);
    await expectNothingOutsideItsFolders();
  });

  it('keeps CSV-injection strings as text in the record and neutralised in the report', () => {
    const row = run.csvRows.find((candidate) => candidate['asset_id']?.includes('cmd|'))!;
    expect(row['asset_id']).toBe("'=cmd|/C calc!A0");
    expect(row['title']).toBe('\'=HYPERLINK("http://x","y")');
    expect(row['merchant_id']).toBe("'@m-inject");
    expect(row['description']).toBe("'+1+1");
    const record = run.records.find((candidate) => candidate.listing.assetId === '=cmd|/C calc!A0')!;
    expect(record.listing.title).toBe('=HYPERLINK("http://x","y")');
  });

  it('adds nothing when the same archive runs again', async () => {
    const invocations = local.standIns.sageMakerInvocations();
    const again = await runIn(local, batch.archive, 'corpus-mixed.zip');
    expect(local.standIns.sageMakerInvocations()).toBe(invocations);
    expect(again.records.map((record) => [record.assetKey, record.outcome, record.decidedAt]).sort()).toEqual(
      run.records.map((record) => [record.assetKey, record.outcome, record.decidedAt]).sort(),
    );
    expect(again.csvRows).toHaveLength(run.csvRows.length);
    expect(again.messages).toHaveLength(run.messages.length);
  }, 300_000);
});

describe('batch-level kinds and manifest forms: one archive each', () => {
  let cases: BatchCase[];
  beforeAll(async () => {
    cases = await batchCases();
  });

  it('refuses each batch-level problem with its code and a message that says what was found, creating no assets', async () => {
    const refusals = cases.filter((candidate) => candidate.refused !== undefined);
    expect(refusals.length).toBeGreaterThanOrEqual(12);
    for (const candidate of refusals) {
      const run = await runIn(local, await candidate.archive(), `refused-${refusals.indexOf(candidate)}.zip`);
      const output = run.execution.output as { status: string; batchId: string; error: { code: string; message: string } };
      expect(run.execution.status, candidate.kind).toBe('SUCCEEDED');
      expect(output, candidate.kind).toMatchObject({ status: 'REFUSED', error: { code: candidate.refused!.code } });
      expect(output.error.message, candidate.kind).toMatch(candidate.refused!.says);
      expect(await listAssetRecords(output.batchId), candidate.kind).toEqual([]);
      expect((await getBatchRecord(output.batchId))?.error?.code, candidate.kind).toBe(candidate.refused!.code);
      batchesRun.add(output.batchId);
    }
    await expectNothingOutsideItsFolders();
  }, 400_000);

  it('reads every accepted manifest form: BOM, CRLF, semicolon, tab, sep=, UTF-16 LE/BE, Windows-1252, Manifest.CSV, a zipped folder', async () => {
    const accepted = cases.filter((candidate) => candidate.accepted !== undefined);
    expect(accepted.length).toBeGreaterThanOrEqual(8);
    for (const candidate of accepted) {
      const want = candidate.accepted!;
      const run = await runIn(local, await candidate.archive(), `accepted-${accepted.indexOf(candidate)}.zip`);
      expectAccountedOnce(run, want.assets);
      for (const record of run.records) {
        expect(record.outcome, `${candidate.kind}: ${record.explanation}`).not.toBe('REJECTED_INPUT');
        const id = record.listing.assetId!;
        if (want.titles?.[id] !== undefined) expect(record.listing.title, candidate.kind).toBe(want.titles[id]);
        if (want.files?.[id] !== undefined) expect(record.file, candidate.kind).toBe(want.files[id]);
        expect(record.listing.price, candidate.kind).toBe(12.5);
      }
      const notes = (await getBatchRecord(run.summary!.batchId))?.manifestNotes ?? [];
      if (want.notes !== undefined) expect(notes.join(' | '), candidate.kind).toMatch(want.notes);
      else expect(notes, candidate.kind).toEqual([]);
      batchesRun.add(run.summary!.batchId);
    }
    await expectNothingOutsideItsFolders();
  }, 400_000);
});
