/**
 * `media-triage purge` as an operator runs it, in real subprocesses on one local state dir after the demo: a dry run
 * counts, `--yes` erases (the `--json` contract: merchantId, dryRun, removed per kind, auditEntry), the records, review
 * messages and report files on disk no longer name the merchant, other merchants keep theirs, and a second purge
 * removes nothing. A purge without --merchant is a usage error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PURGE_KINDS } from '../../lambdas/adapters/purge';
import { bucketDir, savedRecords, savedReviewMessages, startCli } from '../support/cli-process';

/** Two listings of the demo batch (a misrepresentation and a text conflict), both sent to review. */
const MERCHANT = 'm-odd';

let dir: string;
let stateDir: string;

async function cli(...args: string[]) {
  return startCli([...args, '--state-dir', stateDir, '--json']).done;
}

function textFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as Array<{ isFile(): boolean; name: string; parentPath: string }>)
    .filter((entry) => entry.isFile() && /\.(csv|jsonl?)$/.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-purge-cli-'));
  stateDir = path.join(dir, 'state');
  const demo = await cli('demo');
  expect(demo.code, demo.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('media-triage purge', () => {
  it('counts without --yes, erases with it, and a second purge removes nothing', async () => {
    const before = await savedRecords(stateDir);
    const others = before.filter((record) => record.merchantId !== MERCHANT);
    expect(before.filter((record) => record.merchantId === MERCHANT)).toHaveLength(2);

    const dry = await cli('purge', '--merchant', MERCHANT);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.last).toMatchObject({ merchantId: MERCHANT, dryRun: true, removed: expect.objectContaining({ records: 2 }) });
    expect(await savedRecords(stateDir)).toHaveLength(before.length);

    const purged = await cli('purge', '--merchant', MERCHANT, '--yes');
    expect(purged.code, purged.stderr).toBe(0);
    expect(purged.last).toMatchObject({ merchantId: MERCHANT, dryRun: false, auditEntry: { pk: expect.stringMatching(/^AUDIT#/), sk: expect.any(String) } });
    const removed = purged.last!['removed'] as Record<string, number>;
    expect(Object.keys(removed).sort()).toEqual([...PURGE_KINDS].sort());
    expect(removed).toMatchObject({ records: 2, identities: 2 });
    expect(removed['reviewMessages']).toBeGreaterThanOrEqual(2);
    expect(removed['reportRows']).toBeGreaterThanOrEqual(4);

    const after = await savedRecords(stateDir);
    expect(after.filter((record) => record.merchantId === MERCHANT)).toEqual([]);
    expect(after.map((record) => `${record.batchId}/${record.assetKey}`).sort()).toEqual(others.map((record) => `${record.batchId}/${record.assetKey}`).sort());
    expect(savedReviewMessages(stateDir).filter((message) => JSON.stringify(message.body).includes(MERCHANT))).toEqual([]);
    const reports = bucketDir(stateDir, 'local-storagereports');
    const mentioning = textFiles(reports).filter((file) => readFileSync(file, 'utf8').includes(MERCHANT));
    expect(mentioning).toEqual([]);

    const again = await cli('purge', '--merchant', MERCHANT, '--yes');
    expect(again.code, again.stderr).toBe(0);
    expect(again.last!['removed']).toEqual(Object.fromEntries(PURGE_KINDS.map((kind) => [kind, 0])));
    // Three CLI processes, each opening the local state (stand-ins, template): minutes on a loaded machine.
  }, 600_000);

  it('refuses a purge without --merchant as a usage error', async () => {
    const run = await cli('purge', '--yes');
    expect(run.code).toBe(2);
    expect(run.last).toMatchObject({ code: 'USAGE' });
  }, 120_000);
});
