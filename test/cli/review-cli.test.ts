/**
 * The review commands as a user runs them, in real subprocesses on one local state dir: the demo routes assets to
 * review, a reviewer claims and decides one, and stats, dataset export, status and show reflect it (the `--json`
 * contract of each). A second process on the same state dir while one holds it is refused, not corrupted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cli-process';

let dir: string;
let stateDir: string;
let batchId: string;

async function cli(...args: string[]) {
  const ended = await startCli([...args, '--state-dir', stateDir, '--json']).done;
  return ended;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-review-cli-'));
  stateDir = path.join(dir, 'state');
  const demo = await cli('demo');
  expect(demo.code, demo.stderr).toBe(0);
  batchId = String(demo.last!['batchId']);
  expect(demo.last!['sentToReview']).toBeGreaterThan(0);
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('review commands on the local state', () => {
  it('claims, decides, and every view agrees: stats, dataset export, status, show', async () => {
    const next = await cli('review', 'next', '--reviewer', 'alice');
    expect(next.code, next.stderr).toBe(0);
    const claimed = next.last!;
    expect(claimed).toMatchObject({ batchId, assetKey: expect.any(String), reasons: expect.any(Array) });
    expect((claimed['reasons'] as string[]).length).toBeGreaterThan(0);
    const image = claimed['image'] as { location: string };
    expect(existsSync(image.location), image.location).toBe(true);
    expect(claimed).not.toHaveProperty('role');

    const assetKey = String(claimed['assetKey']);
    const decided = await cli('review', 'decide', assetKey, '--label', 'reject', '--reviewer', 'alice', '--note', 'not what it says');
    expect(decided.code, decided.stderr).toBe(0);
    expect(decided.last).toMatchObject({
      batchId,
      assetKey,
      reviewerId: 'alice',
      label: 'reject',
      note: 'not what it says',
      reviewStatus: expect.stringMatching(/^(FINAL|OPEN)$/),
    });
    expect(decided.last!['timeToLabelMs']).toBeGreaterThanOrEqual(0);

    // The same reviewer never gets the same task twice.
    const again = await cli('review', 'next', '--reviewer', 'alice');
    expect(again.code, again.stderr).toBe(0);
    expect(again.last!['assetKey']).not.toBe(assetKey);
    if (again.last!['assetKey'] !== null) expect((await cli('review', 'release', '--reviewer', 'alice')).last).toEqual({ released: 1, reviewer: 'alice' });

    const stats = (await cli('review', 'stats')).last!;
    expect(stats['decisions']).toBe(1);
    expect(stats['reviewers']).toEqual([expect.objectContaining({ reviewerId: 'alice', decisions: 1 })]);
    expect(stats['agreement']).toMatchObject({ raw: null, kappa: null, ac1: null });
    expect(stats['goldAccuracy']).toMatchObject({ overall: null, items: 0 });
    expect((stats['pending'] as { visible: number }).visible).toBeGreaterThan(0);

    const status = (await cli('status', batchId)).last!;
    expect(status).toMatchObject({ batchId, status: 'COMPLETED' });
    // the local run's state, from the batch record: reported, with the ARN of the execution that prepared it
    expect(status['execution']).toMatchObject({
      status: 'COMPLETED',
      resumable: false,
      failedState: null,
      executionArn: expect.stringMatching(/^arn:aws:states:.+:execution:.+:[0-9a-f-]{36}$/),
    });
    const final = decided.last!['reviewStatus'] === 'FINAL';
    expect(status['reviewed']).toBe(final ? 1 : 0);

    const shown = (await cli('show', batchId, assetKey)).last!;
    expect(shown).toMatchObject({ assetKey, batchId });
    if (final) expect(shown).toMatchObject({ reviewStatus: 'FINAL', reviewOutcome: 'reject', reviewedBy: ['alice'] });

    const exported = (await cli('dataset', 'export')).last!;
    expect(exported['items']).toBe(final ? 1 : 0);
    const lines = readFileSync(String(exported['path']), 'utf8')
      .split('\n')
      .filter((line) => line !== '');
    expect(lines).toHaveLength(exported['items'] as number);
    if (final) expect(JSON.parse(lines[0]!)).toMatchObject({ batchId, assetKey, label: 'reject', labelBy: 'consensus', reviewers: ['alice'] });
  }, 300_000);

  it('refuses a usage problem before anything starts, and a folder without local state clearly', async () => {
    const bad = await cli('review', 'decide', 'row-000001', '--label', 'maybe', '--reviewer', 'alice');
    expect(bad.code).toBe(2);
    expect(bad.last).toMatchObject({ code: 'USAGE' });
    const empty = await startCli(['review', 'next', '--reviewer', 'alice', '--state-dir', path.join(dir, 'nothing-here'), '--json']).done;
    expect(empty.code).toBe(1);
    expect(empty.last).toMatchObject({ code: 'TARGET' });
    expect(empty.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(path.join(dir, 'nothing-here'))).toBe(false);
  }, 120_000);
});
