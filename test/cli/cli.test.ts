/**
 * The CLI as a user runs it: the package's bin in a child process, persisted state in a temporary folder, and the
 * --json contract (last stdout line is one JSON object).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { buildZip, manifestCsv, stdlibPhoto } from '../../lib/local/demo-batch';

const run = promisify(execFile);
const BIN = path.resolve('bin/media-triage.mjs');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  last: Record<string, unknown>;
}

async function cli(args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr, last: lastJson(stdout) };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return { code: failed.code ?? -1, stdout: failed.stdout, stderr: failed.stderr, last: lastJson(failed.stdout) };
  }
}

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
}

describe('media-triage run', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a batch, persists records and reports, and a rerun from a new process adds nothing', async () => {
    const archive = path.join(dir, 'listings.zip');
    await writeFile(
      archive,
      buildZip({
        'manifest.csv': manifestCsv([
          { asset_id: 'c1', file: 'boats.jpg', merchant_id: 'm1', declared_category: 'Boats', title: 'Boat' },
          { asset_id: 'c2', file: 'gone.jpg', merchant_id: 'm1', declared_category: 'Boats', title: 'Missing file' },
        ]),
        'boats.jpg': stdlibPhoto('boats'),
      }),
    );
    const stateDir = path.join(dir, 'state');
    const first = await cli(['run', archive, '--json', '--state-dir', stateDir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.last).toMatchObject({ status: 'COMPLETED', assets: 2 });
    expect(first.last['batchId']).toMatch(/^listings-[0-9a-f]{12}$/);
    expect((first.last['outcomes'] as Record<string, number>)['REJECTED_INPUT']).toBe(1);
    expect((first.last['reasons'] as Record<string, number>)['MISSING_FILE']).toBe(1);
    const reportsDir = first.last['reportsDir'] as string;
    const reports = first.last['reports'] as { assets: string };
    const csv = await readFile(path.join(reportsDir, reports.assets.replace(/^reports\//, '')), 'utf8');
    expect(parse(csv, { columns: true })).toHaveLength(2);

    const second = await cli(['run', archive, '--json', '--state-dir', stateDir]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.last['batchId']).toBe(first.last['batchId']);
    expect(second.last['outcomes']).toEqual(first.last['outcomes']);
    expect(second.last['sentToReview']).toBe(first.last['sentToReview']);
    // The review queue persisted across processes holds each reviewable asset once.
    const queues = JSON.parse(await readFile(path.join(stateDir, 'sqs.json'), 'utf8')) as Array<{ name: string; messages: unknown[] }>;
    const review = queues.find((queue) => queue.name.startsWith('ReviewQueue'))!;
    expect(review.messages).toHaveLength(first.last['sentToReview'] as number);
  });

  it('refuses a batch-level problem: non-zero exit, one line on stderr, a JSON error line', async () => {
    const archive = path.join(dir, 'no-manifest.zip');
    await writeFile(archive, buildZip({ 'a.jpg': stdlibPhoto('boats') }));
    const result = await cli(['run', archive, '--json', '--state-dir', path.join(dir, 'state2')]);
    expect(result.code).toBe(1);
    expect(result.last).toMatchObject({ status: 'REFUSED', code: 'MANIFEST_MISSING' });
    expect(String(result.last['error'])).toContain('manifest');
    const errorLines = result.stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errorLines).toHaveLength(1);
  });

  it('names a missing archive file', async () => {
    const result = await cli(['run', path.join(dir, 'nope.zip'), '--json']);
    expect(result.code).toBe(2);
    expect(String(result.last['error'])).toContain('no such file');
  });
});

describe('media-triage model rollback', () => {
  it('points the endpoint at the listed version through UpdateEndpoint and names the prop to change', async () => {
    const { startControlPlaneStandIn } = await import('../../lib/local/sagemaker/control-plane-standin');
    const { VERSION_TAG_KEYS } = await import('../../lib/constructs/hugging-face-endpoint');
    // Named and tagged as the construct names and tags them (test/ops/model-rollback.test.ts derives both from a template).
    const identity = { [VERSION_TAG_KEYS.stack]: 'MediaTriage', [VERSION_TAG_KEYS.construct]: 'CategoryModel' };
    const config = (version: string, hash: string) => ({
      name: `MediaTriage-CategoryModel-${version}-${hash}-5a1e2b3c`,
      tags: { ...identity, [VERSION_TAG_KEYS.version]: version },
    });
    const [v1, v2] = [config('v1', '0badcafe'), config('v2', '1badcafe')].map((c) => c.name) as [string, string];
    const controlPlane = await startControlPlaneStandIn({
      endpointConfigs: [config('v1', '0badcafe'), config('v2', '1badcafe')],
      endpoints: [{ name: 'category-endpoint', configName: v2, tags: identity }],
    });
    try {
      const env = {
        ...process.env,
        AWS_ENDPOINT_URL_SAGEMAKER: controlPlane.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      };
      const { stdout } = await run(process.execPath, [BIN, 'model', 'rollback', 'category', '--to', 'v1', '--endpoint', 'category-endpoint', '--json'], { env });
      const result = lastJson(stdout);
      expect(result).toMatchObject({ endpointName: 'category-endpoint', fromConfig: v2, toConfig: v1, changed: true });
      expect(String(result['propToChange'])).toContain("activeVersion: 'v1'");
      expect(JSON.stringify(controlPlane.endpoint('category-endpoint'))).toContain(v1);
      const missing = await run(process.execPath, [BIN, 'model', 'rollback', 'category', '--to', 'v9', '--endpoint', 'category-endpoint', '--json'], { env }).catch(
        (error: { code: number; stdout: string }) => error,
      );
      expect((missing as { code: number }).code).toBe(1);
      expect(String(lastJson((missing as { stdout: string }).stdout)['error'])).toContain('v9');
    } finally {
      await controlPlane.stop();
    }
  });
});
