/**
 * Crash and resume anywhere: a real `media-triage run` is SIGKILLed at a point the test names — during PrepareBatch,
 * inside the map after one child persisted, between the map (Persist, CrossCheck) and Report, and during Report —
 * then the same command is run again. The resumed batch must hold exactly what an uninterrupted run of the same
 * archive holds: every asset once (0 lost, 0 duplicated) with the same outcomes, exactly one review message per
 * review task in the durable queue, and one report row per asset.
 *
 * The kill points are deterministic (local/kill-points.ts, a test hook armed by MEDIA_TRIAGE_TEST_KILL_AT that makes
 * the process SIGKILL itself when the named point is reached), not timed; test/local/durable-state.test.ts kills by
 * polling the state folder instead, and checks the stores' agreement after each kill.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveBatchId } from '../../lambdas/core/batch-plan';
import { currentReviewRevision, needsReview, sentReviewRevision } from '../../lambdas/core/records';
import { stagingPrefix } from '../../lambdas/core/work-items';
import { buildZip, manifestCsv, stdlibPhoto, type DemoRow, type PhotoName } from '../../local/demo-batch';
import { KILL_AT_VARIABLE } from '../../local/kill-points';
import { loadTemplate } from '../../local/local-session';
import { bucketDir, countFiles, savedRecords, savedReviewMessages, startCli } from '../support/cli-process';

const PHOTOS: Array<[PhotoName, string, string]> = [
  ['boats', 'Boats', 'Pets'],
  ['sheep', 'livestock', 'Boats'],
  ['cat', 'pets', 'Aircraft'],
  ['airplane', 'Aircraft', 'garden'],
  ['allium', 'garden', 'Boats'],
  ['alps', 'Wall Art', 'pets'],
];

/** 13 rows: each photo declared truthfully and as something else (mismatches reach review), one row without a file. */
function archiveBytes(): Buffer {
  const rows: DemoRow[] = [];
  const files: Record<string, Uint8Array | string> = {};
  for (const [photo, truthful, wrong] of PHOTOS) {
    files[`img/${photo}.jpg`] = stdlibPhoto(photo);
    rows.push({ asset_id: `${photo}-1`, file: `img/${photo}.jpg`, merchant_id: 'm-crash', declared_category: truthful, title: `${photo} listing` });
    rows.push({ asset_id: `${photo}-2`, file: `img/${photo}.jpg`, merchant_id: 'm-crash-x', declared_category: wrong, title: `${wrong} for sale` });
  }
  rows.push({ asset_id: 'missing', file: 'img/none.jpg', merchant_id: 'm-crash', declared_category: 'Boats', title: 'No file' });
  return buildZip({ 'manifest.csv': manifestCsv(rows), ...files });
}

let dir: string;
let templateFile: string;
let archive: string;
let batchId: string;
let reference: BatchState;

interface BatchState {
  summary: Record<string, unknown>;
  outcomes: Record<string, string>;
  messagesPerTask: Map<string, number>;
  reviewable: number;
  /** `<record sk>#<current review revision>` of every record that needs a person, each with exactly one message. */
  currentReviews: string[];
  csvRows: Array<Record<string, string>>;
  exceptionRows: Array<Record<string, string>>;
}

async function runCli(stateDir: string, killAt?: string) {
  const env = { ...process.env };
  if (killAt === undefined) delete env[KILL_AT_VARIABLE];
  else env[KILL_AT_VARIABLE] = killAt;
  return startCli(['run', archive, '--json', '--state-dir', stateDir, '--template', templateFile], env).done;
}

function csvAt(stateDir: string, key: string): Array<Record<string, string>> {
  const file = path.join(bucketDir(stateDir, 'local-storagereports'), ...key.split('/'));
  return parse(readFileSync(file, 'utf8'), { columns: true, bom: true }) as Array<Record<string, string>>;
}

/** Runs the archive to completion and reads what the state folder holds for the batch. */
async function complete(stateDir: string): Promise<BatchState> {
  const ended = await runCli(stateDir);
  expect(ended.code, ended.stderr).toBe(0);
  const summary = ended.last!;
  expect(summary['status']).toBe('COMPLETED');
  expect(summary['batchId']).toBe(batchId);
  const records = (await savedRecords(stateDir)).filter((record) => record.batchId === batchId);
  const messages = savedReviewMessages(stateDir).filter((message) => message.body.batchId === batchId);
  const messagesPerTask = new Map<string, number>();
  for (const message of messages) messagesPerTask.set(message.body.reviewTaskId, (messagesPerTask.get(message.body.reviewTaskId) ?? 0) + 1);
  // Every reviewable record's current revision is sent and marked.
  expect(records.filter((record) => needsReview(record) && sentReviewRevision(record) !== currentReviewRevision(record))).toEqual([]);
  const currentReviews = records.filter((record) => needsReview(record)).map((record) => `${record.sk}#${currentReviewRevision(record)}`);
  for (const review of currentReviews) {
    const own = messages.filter((message) => `${message.body.recordKey.sk}#${message.body.revision}` === review);
    expect(own, review).toHaveLength(1);
  }
  const reports = summary['reports'] as { assets: string; exceptions: string; batches: string };
  return {
    currentReviews: currentReviews.sort(),
    summary,
    outcomes: Object.fromEntries(records.map((record) => [record.assetKey, record.outcome])),
    messagesPerTask,
    reviewable: records.filter((record) => needsReview(record)).length,
    csvRows: csvAt(stateDir, reports.assets),
    exceptionRows: csvAt(stateDir, reports.exceptions),
  };
}

/** 0 lost, 0 duplicated: the same assets and outcomes as the uninterrupted run, one message per task, one row per asset. */
function expectSameAsReference(resumed: BatchState): void {
  expect(resumed.summary['assets']).toBe(reference.summary['assets']);
  expect(resumed.outcomes).toEqual(reference.outcomes);
  expect(resumed.summary['outcomes']).toEqual(reference.summary['outcomes']);
  expect(
    [...resumed.messagesPerTask.entries()].filter(([, count]) => count !== 1),
    'review tasks with other than one message',
  ).toEqual([]);
  // The same reviews are open, each with its one message. An earlier revision that a kill caught before its send and
  // CrossCheck then superseded owes no message, so the resumed queue may hold fewer superseded ones than the reference.
  expect(resumed.currentReviews).toEqual(reference.currentReviews);
  expect(resumed.messagesPerTask.size).toBeLessThanOrEqual(reference.messagesPerTask.size);
  expect(resumed.messagesPerTask.size).toBeGreaterThanOrEqual(resumed.reviewable);
  const keys = resumed.csvRows.map((row) => row['asset_key']);
  expect(new Set(keys).size).toBe(keys.length);
  expect(keys.sort()).toEqual(Object.keys(reference.outcomes).sort());
  expect(resumed.exceptionRows.length).toBe(reference.exceptionRows.length);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-crash-'));
  templateFile = path.join(dir, 'template.json');
  await writeFile(templateFile, JSON.stringify(await loadTemplate()));
  archive = path.join(dir, 'crash.zip');
  const bytes = archiveBytes();
  await writeFile(archive, bytes);
  batchId = deriveBatchId('incoming/crash.zip', bytes);
  reference = await complete(path.join(dir, 'reference'));
  expect(reference.summary['assets']).toBe(13);
  // The scenarios only mean something if the batch spans several map children and reaches review.
  expect(reference.messagesPerTask.size).toBeGreaterThan(0);
  expect([...reference.messagesPerTask.values()].every((count) => count === 1)).toBe(true);
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Scenario {
  name: string;
  killAt: string;
  /** What the state folder must show after the kill: proof that the kill landed where it was meant to. */
  afterKill: (stateDir: string) => Promise<void>;
}

const dataDir = (stateDir: string): string => bucketDir(stateDir, 'local-storagedata');
const reportFiles = (stateDir: string): number => countFiles(path.join(bucketDir(stateDir, 'local-storagereports'), 'reports'));
const assetRecords = async (stateDir: string) => (await savedRecords(stateDir)).filter((record) => record.batchId === batchId);

const SCENARIOS: Scenario[] = [
  {
    name: 'during PrepareBatch (three objects staged)',
    killAt: 'put:staging/@3',
    afterKill: async (stateDir) => {
      expect(countFiles(path.join(dataDir(stateDir), ...stagingPrefix(batchId).split('/')))).toBeGreaterThan(0);
      expect(existsSync(path.join(dataDir(stateDir), ...`${stagingPrefix(batchId)}items.jsonl`.split('/')))).toBe(false);
    },
  },
  {
    name: 'inside the map, after one child persisted',
    killAt: 'after:Persist@1',
    afterKill: async (stateDir) => {
      const records = await assetRecords(stateDir);
      expect(records.length).toBeGreaterThan(1);
      expect(records.length).toBeLessThan(13);
    },
  },
  {
    name: 'between the map and Report',
    killAt: 'before:Report',
    afterKill: async (stateDir) => {
      // The map is over (a child that failed — e.g. a stage timing out on a loaded machine — left its assets for
      // Report to reconcile) and nothing of Report's exists yet.
      expect((await assetRecords(stateDir)).length).toBeGreaterThan(1);
      expect(reportFiles(stateDir)).toBe(0);
      expect(countFiles(path.join(dataDir(stateDir), 'map-results'))).toBeGreaterThan(0);
    },
  },
  {
    name: 'during Report (assets table written, the rest not)',
    killAt: 'put:reports/@1',
    afterKill: async (stateDir) => {
      expect(reportFiles(stateDir)).toBe(1);
    },
  },
];

describe('crash and resume', () => {
  for (const scenario of SCENARIOS) {
    it(`SIGKILL ${scenario.name}, then the same run again: 0 lost, 0 duplicated`, async () => {
      const stateDir = path.join(dir, scenario.killAt.replace(/[^a-z0-9]+/gi, '-'));
      const killed = await runCli(stateDir, scenario.killAt);
      expect(killed.signal, `not killed at ${scenario.killAt}: ${killed.stderr}`).toBe('SIGKILL');
      await scenario.afterKill(stateDir);
      expectSameAsReference(await complete(stateDir));
    }, 600_000);
  }
});
