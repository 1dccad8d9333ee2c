/**
 * `media-triage sweep` as a real CLI process on a state folder: an archive that reached the local `incoming/` without
 * a run (uploaded by a session that stopped before starting it) is found by the Nightly stage's sweep, started and run
 * to the end (real models); a second sweep has nothing to do; the `--json` line is the last stdout line and no EMF
 * metric line reaches stdout. A folder that is not local state is refused with code TARGET.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INCOMING_PREFIX } from '../../lambdas/core/batch-start';
import { buildZip, manifestCsv, stdlibPhoto } from '../../local/demo-batch';
import { openLocalSession } from '../../local/local-session';
import { ensureStateDir } from '../../local/state-dir';
import { startCli } from '../support/cli-process';
import { template } from '../support/local-pipeline';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-sweep-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('media-triage sweep', () => {
  it('runs a batch left in incoming/, then finds nothing to do', { timeout: 300_000 }, async () => {
    const stateDir = path.join(dir, 'state');
    await ensureStateDir(stateDir);
    const session = await openLocalSession({ stateDir, template: template() });
    try {
      const archive = buildZip({
        'manifest.csv': manifestCsv([{ asset_id: 's-1', file: 'boats.jpg', merchant_id: 'm-1', declared_category: 'Boats', title: 'Fishing boat' }]),
        'boats.jpg': stdlibPhoto('boats'),
      });
      await new S3Client({}).send(new PutObjectCommand({ Bucket: session.dataBucket, Key: `${INCOMING_PREFIX}left.zip`, Body: archive }));
    } finally {
      await session.close();
    }

    const first = await startCli(['sweep', '--json', '--state-dir', stateDir]).done;
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).not.toContain('"_aws"');
    expect(first.last).toMatchObject({ ok: true, stateDir, executions: [{ key: `${INCOMING_PREFIX}left.zip`, status: 'COMPLETED', error: null }] });
    const jobs = first.last!['jobs'] as Record<string, { counts: Record<string, number>; errors: string[] }>;
    expect(jobs['redriveBatches']!.counts).toMatchObject({ uploads: 1, unstarted: 1, started: 1 });

    const second = await startCli(['sweep', '--json', '--state-dir', stateDir]).done;
    expect(second.code, second.stderr).toBe(0);
    expect(second.last).toMatchObject({ ok: true, executions: [] });
    const again = second.last!['jobs'] as Record<string, { counts: Record<string, number> }>;
    expect(again['redriveBatches']!.counts).toMatchObject({ uploads: 1, completed: 1, started: 0 });
    expect(again['reviewMessages']!.counts['messagesSent']).toBe(0);
  });

  it('refuses a folder that holds no local state', { timeout: 120_000 }, async () => {
    const run = await startCli(['sweep', '--json', '--state-dir', dir]).done;
    expect(run.code).toBe(1);
    expect(run.last).toMatchObject({ code: 'TARGET' });
  });
});
