/**
 * `media-triage run <zip> --json` keeps its contract on corpus inputs: a batch-level refusal (exit 1, one `error:`
 * line, `{status, error, code, batchId}` last) and an accepted batch read from an unusual manifest (a UTF-16,
 * tab-separated Excel "Unicode text" export inside a zipped folder, with a WebP), exit 0 with the summary.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cli-process';
import * as image from './image-bytes';
import { zipOf } from './zip-writer';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'media-triage-corpus-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(name: string, archive: Buffer, state: string) {
  const file = path.join(dir, name);
  await writeFile(file, archive);
  return startCli(['run', file, '--json', '--state-dir', path.join(dir, state)]).done;
}

describe('run --json on corpus inputs', () => {
  it('refuses a manifest in a subfolder with its code and a hint, as one error line and one JSON line', async () => {
    const result = await run('nested.zip', zipOf({ 'export/manifest.csv': 'asset_id,file\n', 'a.jpg': await image.jpeg(32, 32) }), 'refused');
    expect(result.code).toBe(1);
    expect(result.last).toMatchObject({ status: 'REFUSED', code: 'MANIFEST_MISSING', batchId: expect.stringMatching(/^nested-[0-9a-f]{12}$/) });
    expect(String(result.last?.['error'])).toContain('found "export/manifest.csv", not at the root: move it to the root');
    expect(result.stderr.split('\n').filter((line) => line.startsWith('error:'))).toHaveLength(1);
  }, 400_000);

  it('completes an Excel "Unicode text" manifest in a zipped folder with a WebP, printing the summary', async () => {
    const manifest = ['asset_id\tfile\tmerchant_id\tdeclared_category\ttitle', 'w-1\timages/boat.webp\tm-cli\tBoats\tSegelboot für Kinder ⛵'].join('\r\n');
    const archive = zipOf({
      'Catalogue/manifest.csv': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${manifest}\r\n`, 'utf16le')]),
      'Catalogue/images/boat.webp': await image.webp(320, 240),
    });
    const result = await run('unicode-text.zip', archive, 'accepted');
    expect(result.code, result.stderr).toBe(0);
    expect(result.last).toMatchObject({ status: 'COMPLETED', assets: 1, outcomes: expect.objectContaining({ REJECTED_INPUT: 0, FAILED: 0 }) });
    for (const field of ['batchId', 'dt', 'reasons', 'sentToReview', 'reports', 'records', 'versions', 'elapsedMs']) expect(result.last).toHaveProperty(field);
  }, 400_000);
});
