/**
 * A warm local command does not load the CDK: with the template cached for the current sources, `cost` and a `run`
 * take it from the cache, and aws-cdk-lib (seconds of start-up) is never imported. Nor does a run's own thread load
 * TensorFlow.js (half a second): the models run in worker threads or the model server. A resolve hook in the child
 * process reports any module it resolves under aws-cdk-lib or @tensorflow.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip } from '../../local/demo-batch';
import { synthesizeTemplate } from '../../local/synthesize';
import { BIN, lastJson } from '../support/cli-process';

const dir = mkdtempSync(path.join(os.tmpdir(), 'media-triage-warm-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MARKER = 'AWS-CDK-LIB-RESOLVED';
const TF_MARKER = 'TENSORFLOW-RESOLVED';
const hook = path.join(dir, 'report-cdk.mjs');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', hook, BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a warm start', () => {
  beforeAll(() => {
    // Fills the template cache for the current sources (what any earlier command did).
    synthesizeTemplate();
    const resolveHook = `export async function resolve(specifier, context, next) { const result = await next(specifier, context); if (result.url.includes('/aws-cdk-lib/')) process.stderr.write('${MARKER} ' + result.url + '\\n'); if (result.url.includes('/@tensorflow/')) process.stderr.write('${TF_MARKER} ' + result.url + '\\n'); return result; }`;
    writeFileSync(hook, `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(resolveHook)}`)});\n`);
  }, 120_000);

  it('prices from the cached template without loading aws-cdk-lib', async () => {
    const result = await cli(['cost', '--images', '100', '--json']);
    expect(result.code).toBe(0);
    expect(lastJson(result.stdout)?.['sustainedImagesPerHour']).toBeGreaterThan(0);
    expect(result.stderr).not.toContain(MARKER);
  }, 180_000);

  it('runs a batch from the cached template without loading aws-cdk-lib or TensorFlow.js', async () => {
    const archive = path.join(dir, 'refused.zip');
    // No manifest: PrepareBatch refuses it, after the whole run path (template, stand-ins, sandboxes) has started.
    writeFileSync(archive, buildZip({ 'photo.jpg': 'not a manifest' }));
    const result = await cli(['run', archive, '--json', '--state-dir', path.join(dir, 'state')]);
    expect(lastJson(result.stdout)?.['status']).toBe('REFUSED');
    expect(result.stderr).not.toContain(MARKER);
    expect(result.stderr).not.toContain(TF_MARKER);
  }, 180_000);
});
