/** `media-triage report` as a real process over a state folder a `run` left: the pages, --out, --json and usage errors. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip, manifestCsv, stdlibPhoto } from '../../local/demo-batch';
import { BIN, lastJson } from '../support/cli-process';

const run = promisify(execFile);
let dir: string;
let stateDir: string;
let ran: Record<string, unknown>;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string; last: Record<string, unknown> | undefined }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr, last: lastJson(stdout) };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', last: lastJson(failed.stdout ?? '') };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-report-cli-'));
  stateDir = path.join(dir, 'state');
  const archive = path.join(dir, 'report-cli.zip');
  await writeFile(
    archive,
    buildZip({
      'manifest.csv': manifestCsv([
        { asset_id: 'r1', file: 'boats.jpg', merchant_id: 'm1', declared_category: 'Boats', title: 'Boat' },
        // rejected (its file is missing), so the page lists it with its hostile title
        { asset_id: 'r2', file: 'gone.jpg', merchant_id: 'm1', declared_category: 'Boats', title: '<script>alert(1)</script>' },
      ]),
      'boats.jpg': stdlibPhoto('boats'),
    }),
  );
  const first = await cli(['run', archive, '--json', '--state-dir', stateDir]);
  expect(first.code, first.stderr).toBe(0);
  ran = first.last!;
}, 600_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('media-triage report', () => {
  it('run --json names the page and the gates; the page exists and escapes the listing', async () => {
    const page = ran['reportHtml'] as string;
    expect(existsSync(page)).toBe(true);
    expect((ran['gates'] as { overall: string }).overall).toMatch(/^(pass|warn|fail)$/);
    const html = await readFile(page, 'utf8');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script');
  });

  it('refreshes a batch page, copies it with --out, and names the roll-up (--json last line)', async () => {
    const out = path.join(dir, 'copies', 'batch.html');
    const result = await cli(['report', ran['batchId'] as string, '--out', out, '--json', '--state-dir', stateDir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.last).toMatchObject({
      batchId: ran['batchId'],
      date: ran['dt'],
      reportHtml: ran['reportHtml'],
      out,
      refreshed: [ran['batchId']],
      decisions: 0,
    });
    expect(await readFile(out, 'utf8')).toBe(await readFile(ran['reportHtml'] as string, 'utf8'));
    expect(existsSync(result.last!['rollupHtml'] as string)).toBe(true);
    expect((result.last!['gates'] as { overall: string }).overall).toBe((ran['gates'] as { overall: string }).overall);
  }, 300_000);

  it('writes the day’s roll-up with every batch of the day refreshed', async () => {
    const result = await cli(['report', '--date', ran['dt'] as string, '--json', '--state-dir', stateDir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.last).toMatchObject({ batchId: null, reportHtml: null, batches: [ran['batchId']], refreshed: [ran['batchId']] });
    const rollup = await readFile(result.last!['rollupHtml'] as string, 'utf8');
    expect(rollup).toContain(`data-batch="${ran['batchId'] as string}"`);
  }, 300_000);

  it('refuses a batch id with --date, a malformed date and an unknown batch as usage errors', async () => {
    const both = await cli(['report', 'x', '--date', '2026-12-01', '--json', '--state-dir', stateDir]);
    expect(both.code).toBe(2);
    expect(both.last).toMatchObject({ code: 'USAGE' });
    const badDate = await cli(['report', '--date', '2026-13-45', '--json', '--state-dir', stateDir]);
    expect(badDate.code).toBe(2);
    expect(String(badDate.last!['error'])).toContain('not a date');
    const unknown = await cli(['report', 'no-such-batch', '--json', '--state-dir', stateDir]);
    expect(unknown.code).toBe(2);
    expect(String(unknown.last!['error'])).toContain('no batch no-such-batch');
  }, 300_000);
});
