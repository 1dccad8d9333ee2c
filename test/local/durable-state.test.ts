/**
 * Durable local state, tested as a user would break it: a real CLI run on a state folder is killed with SIGKILL
 * while staging, mid-map and around Report, and after each kill (and after the rerun that completes) the records in
 * dynalite, the review messages in the SQS journal and the objects in the S3 file tree must agree. Then a different
 * batch and a rerun of the first on the same folder must keep every earlier review message.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveBatchId } from '../../lambdas/core/batch-plan';
import { currentReviewRevision, needsReview, sentReviewRevision, type AssetRecord } from '../../lambdas/core/records';
import { buildZip, manifestCsv, stdlibPhoto, type DemoRow, type PhotoName } from '../../local/demo-batch';
import { synthesizeTemplate } from '../../local/synthesize';
import { bucketDir, countFiles, savedRecords, savedReviewMessages, startCli, waitFor, type CliRun } from '../support/cli-process';

const PHOTOS: Array<[PhotoName, string, string]> = [
  ['boats', 'Boats', 'Pets'],
  ['sheep', 'livestock', 'Boats'],
  ['cat', 'pets', 'Aircraft'],
  ['airplane', 'Aircraft', 'garden'],
  ['allium', 'garden', 'Boats'],
  ['alps', 'Wall Art', 'pets'],
];

/** Each photo declared truthfully and as something else (mismatches go to review), plus rejected rows. */
function batch(tag: string): Buffer {
  const rows: DemoRow[] = [];
  const files: Record<string, Uint8Array | string> = {};
  for (const [photo, truthful, wrong] of PHOTOS) {
    files[`img/${photo}.jpg`] = stdlibPhoto(photo);
    rows.push({ asset_id: `${tag}-${photo}-1`, file: `img/${photo}.jpg`, merchant_id: `m-${tag}`, declared_category: truthful, title: `${photo} listing` });
    rows.push({ asset_id: `${tag}-${photo}-2`, file: `img/${photo}.jpg`, merchant_id: `m-${tag}-x`, declared_category: wrong, title: `${wrong} for sale` });
  }
  rows.push({ asset_id: `${tag}-missing`, file: 'img/none.jpg', merchant_id: `m-${tag}`, declared_category: 'Boats', title: 'No file' });
  return buildZip({ 'manifest.csv': manifestCsv(rows), ...files });
}

let dir: string;
let templateFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-durable-'));
  templateFile = path.join(dir, 'template.json');
  // One synth for every run here (the runs take --template); the in-process synth path has its own test.
  await writeFile(templateFile, JSON.stringify(synthesizeTemplate()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(archive: string, stateDir: string): CliRun {
  return startCli(['run', archive, '--json', '--state-dir', stateDir, '--template', templateFile]);
}

/** Kills the run once `when` holds (or lets it finish if it ends first); returns whether it was killed. */
async function killWhen(archive: string, stateDir: string, when: () => boolean): Promise<boolean> {
  const cli = run(archive, stateDir);
  const reached = await waitFor(cli, when);
  if (reached) cli.child.kill('SIGKILL');
  const ended = await cli.done;
  if (!reached) expect(ended.code, ended.stderr).toBe(0);
  return reached;
}

/**
 * The invariants that must hold between records, review messages and objects at any moment: at most one message per
 * review revision of a record (the FIFO queue's deduplication id is the revision's task id); every record that names a
 * message has it; a message the record does not name yet is its pending revision (a kill between the send and the
 * record's mark), which the next sender's deduplicated send marks without a second message.
 */
async function expectConsistent(stateDir: string): Promise<AssetRecord[]> {
  const records = await savedRecords(stateDir);
  const messages = savedReviewMessages(stateDir);
  const byId = new Map<string, number>();
  for (const message of messages) byId.set(message.messageId, (byId.get(message.messageId) ?? 0) + 1);
  const byTask = new Map<string, number>();
  for (const message of messages) byTask.set(message.body.reviewTaskId, (byTask.get(message.body.reviewTaskId) ?? 0) + 1);
  expect(
    [...byTask.values()].every((count) => count === 1),
    'one message per review task',
  ).toBe(true);
  const recordsByKey = new Map(records.map((record) => [`${record.pk}|${record.sk}`, record]));
  for (const record of records) {
    if (record.reviewMessageId === undefined) continue;
    expect(byId.get(record.reviewMessageId), `message of ${record.assetKey}`).toBe(1);
    expect(needsReview(record)).toBe(true);
  }
  for (const message of messages) {
    const record = recordsByKey.get(`${message.body.recordKey.pk}|${message.body.recordKey.sk}`);
    expect(record, `record of message ${message.messageId}`).toBeDefined();
    const current = currentReviewRevision(record!);
    const sent = sentReviewRevision(record!);
    expect(message.body.revision).toBeLessThanOrEqual(current);
    if (message.body.revision === sent) expect(record!.reviewMessageId).toBe(message.messageId);
    // Sent but not yet marked: only ever the pending (current) revision.
    if (message.body.revision > sent) expect(message.body.revision).toBe(current);
  }
  const data = bucketDir(stateDir, 'local-storagedata');
  for (const record of records) {
    const input = record.image?.modelInputKey;
    if (input !== undefined) expect(existsSync(path.join(data, ...input.split('/'))), input).toBe(true);
  }
  return records;
}

/** Messages a completed batch must hold: one per review revision of each reviewable record. */
function expectedMessages(records: AssetRecord[]): number {
  return records.filter((record) => needsReview(record)).reduce((sum, record) => sum + currentReviewRevision(record), 0);
}

async function expectComplete(archive: string, stateDir: string): Promise<Record<string, unknown>> {
  const ended = await run(archive, stateDir).done;
  expect(ended.code, ended.stderr).toBe(0);
  // Nothing but the JSON line: no third-party warnings on a normal run.
  expect(ended.stderr).toBe('');
  const summary = ended.last!;
  expect(summary['status']).toBe('COMPLETED');
  const records = (await expectConsistent(stateDir)).filter((record) => record.batchId === summary['batchId']);
  expect(records).toHaveLength(summary['assets'] as number);
  const messages = savedReviewMessages(stateDir).filter((message) => message.body.batchId === summary['batchId']);
  // Complete: every reviewable record's current revision is marked sent, and each revision has exactly one message.
  expect(records.filter((record) => needsReview(record) && sentReviewRevision(record) !== currentReviewRevision(record))).toEqual([]);
  // Each reviewable record has its current revision's message exactly once (expectConsistent: one per task). An
  // earlier revision may have none: a kill before its send, then CrossCheck superseding it — nothing is owed for it.
  for (const record of records.filter((candidate) => needsReview(candidate))) {
    const own = messages.filter((message) => message.body.recordKey.sk === record.sk);
    expect(
      own.filter((message) => message.body.revision === currentReviewRevision(record)),
      record.assetKey,
    ).toHaveLength(1);
    expect(own.length).toBeLessThanOrEqual(currentReviewRevision(record));
  }
  expect(messages.length).toBeLessThanOrEqual(expectedMessages(records));
  expect(summary['sentToReview']).toBe(records.filter((record) => record.reviewMessageId !== undefined).length);
  return summary;
}

describe('local state under SIGKILL', () => {
  it('keeps records, queue and objects in agreement when a run is killed at any stage, and a rerun completes', async () => {
    const archive = path.join(dir, 'killed.zip');
    const bytes = batch('k');
    await writeFile(archive, bytes);
    const stateDir = path.join(dir, 'killed-state');
    const batchId = deriveBatchId('incoming/killed.zip', bytes);
    const data = (): string => bucketDir(stateDir, 'local-storagedata');
    const staging = (): string => path.join(data(), 'staging', batchId);

    // While staging: some files staged, the item list not written yet (or just after, if staging is quick).
    await killWhen(archive, stateDir, () => countFiles(path.join(staging(), 'files')) > 0);
    await expectConsistent(stateDir);
    // Mid-map: some review messages sent and some model inputs written, with more to come.
    await killWhen(archive, stateDir, () => savedReviewMessages(stateDir).length >= 2);
    const midMap = await expectConsistent(stateDir);
    // Around Report: its CSV written, the rest of Report (and the process) still to finish.
    await killWhen(archive, stateDir, () => countFiles(path.join(bucketDir(stateDir, 'local-storagereports'), 'reports', 'assets')) > 0);
    const afterReport = await expectConsistent(stateDir);
    expect(afterReport.length).toBeGreaterThanOrEqual(midMap.length);

    const summary = await expectComplete(archive, stateDir);
    expect(summary['batchId']).toBe(batchId);
    expect(summary['sentToReview']).toBeGreaterThan(0);
  });

  it('keeps the first batch’s review messages through a second batch and a rerun of the first', async () => {
    const stateDir = path.join(dir, 'two-batches');
    const first = path.join(dir, 'first.zip');
    const second = path.join(dir, 'second.zip');
    await writeFile(first, batch('a'));
    await writeFile(second, batch('b'));

    const a = await expectComplete(first, stateDir);
    const aMessages = savedReviewMessages(stateDir).filter((message) => message.body.batchId === a['batchId']);
    const aRecords = (await savedRecords(stateDir)).filter((record) => record.batchId === a['batchId']);
    expect(aMessages.length).toBe(expectedMessages(aRecords));
    expect(aMessages.length).toBeGreaterThan(0);

    const b = await expectComplete(second, stateDir);
    expect(b['batchId']).not.toBe(a['batchId']);
    const again = await expectComplete(first, stateDir);
    expect(again['sentToReview']).toBe(a['sentToReview']);
    const all = savedReviewMessages(stateDir);
    expect(
      all
        .filter((message) => message.body.batchId === a['batchId'])
        .map((m) => m.messageId)
        .sort(),
    ).toEqual(aMessages.map((m) => m.messageId).sort());
    expect(all).toHaveLength(expectedMessages(await savedRecords(stateDir)));
  });
});
