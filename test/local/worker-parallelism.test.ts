/**
 * Spreading the local run over worker threads changes nothing it computes: the same batch through one worker per
 * function and one model worker, and through several of each, gives the same records (outcomes, reasons, evidence,
 * image facts, the models' scores) — only the times and message ids a run stamps differ.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os, { availableParallelism } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AssetRecord } from '../../lambdas/core/records';
import { buildZip, manifestCsv, stdlibPhoto, STDLIB_PHOTOS, type PhotoName } from '../../local/demo-batch';
import { readServerInfo, stopModelServer } from '../../local/sagemaker/model-server-client';
import { runOnce } from '../support/local-pipeline';

/** What a run stamps or measures rather than computes: when, how long each stage took, the ids the queue gave. */
const STAMPED = new Set(['receivedAt', 'decidedAt', 'stageMs', 'reviewMessageId', 'reviewEnqueuedAt']);

function computed(records: AssetRecord[]): Array<Record<string, unknown>> {
  return records
    .map((record) => Object.fromEntries(Object.entries(record).filter(([key]) => !STAMPED.has(key))))
    .sort((a, b) => String(a['assetKey']).localeCompare(String(b['assetKey'])));
}

/** Every bundled photo (more items than one map child holds, so several children and stages run at once). */
function photoBatch(): Buffer {
  const names = Object.keys(STDLIB_PHOTOS) as PhotoName[];
  const rows = names.map((name, index) => ({
    asset_id: `W-${index + 1}`,
    file: `${name}.jpg`,
    merchant_id: `m${index % 3}`,
    declared_category: index % 2 === 0 ? 'Boats' : 'Garden and plants',
    title: `Listing ${name}`,
  }));
  return buildZip({ 'manifest.csv': manifestCsv(rows), ...Object.fromEntries(names.map((name) => [`${name}.jpg`, stdlibPhoto(name)])) });
}

describe('worker threads', () => {
  it('give the same records with one worker as with several, real models included', async () => {
    const archive = photoBatch();
    const several = Math.max(2, availableParallelism());
    const one = await runOnce(archive, { workers: 1 });
    const many = await runOnce(archive, { workers: several });
    expect(one.execution.status).toBe('SUCCEEDED');
    expect(many.execution.status).toBe('SUCCEEDED');
    expect(one.records).toHaveLength(Object.keys(STDLIB_PHOTOS).length);
    // The models answered (this is not a comparison of two failures).
    expect(one.records.filter((record) => record.modelOutputs !== undefined).length).toBeGreaterThan(0);
    expect(computed(many.records)).toEqual(computed(one.records));
    expect(many.csvRows.map((row) => row['outcome'])).toEqual(one.csvRows.map((row) => row['outcome']));
  }, 300_000);

  it('give the same records when the models answer from the background model server', async () => {
    const archive = photoBatch();
    const inProcess = await runOnce(archive, { workers: 2 });
    const serverDir = mkdtempSync(path.join(os.tmpdir(), 'model-server-'));
    // A short idle time: a server this test could not stop (a crash mid-test) does not outlive the run for long.
    const env = { MEDIA_TRIAGE_MODEL_SERVER: 'on', MEDIA_TRIAGE_MODEL_SERVER_DIR: serverDir, MEDIA_TRIAGE_MODEL_SERVER_IDLE_SECONDS: '60' };
    const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
    Object.assign(process.env, env);
    try {
      const served = await runOnce(archive, { workers: 2 });
      expect(readServerInfo(serverDir)).toBeDefined();
      expect(served.execution.status).toBe('SUCCEEDED');
      expect(served.records.filter((record) => record.modelOutputs !== undefined).length).toBeGreaterThan(0);
      expect(computed(served.records)).toEqual(computed(inProcess.records));
    } finally {
      await stopModelServer(serverDir);
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(serverDir, { recursive: true, force: true });
    }
  }, 300_000);
});
