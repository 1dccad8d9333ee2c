/**
 * The state folder's ownership rules with real processes: `reset` deletes only what media-triage created, one run
 * per folder (a second gets STATE_LOCKED naming the first), Ctrl-C stops a run with an INTERRUPTED summary and the
 * next run resumes, and no temp folder survives a run (the in-process synth's included).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip, manifestCsv, stdlibPhoto, type DemoRow, type PhotoName } from '../../local/demo-batch';
import { synthesizeTemplate } from '../../local/synthesize';
import { acquireStateLock, ensureStateDir, LOCK_FILE, MARKER_FILE, resetStateDir } from '../../local/state-dir';
import { bucketDir, countFiles, savedRecords, startCli, waitFor } from '../support/cli-process';

let dir: string;
let templateFile: string;
let archive: string;

const PHOTOS: PhotoName[] = ['boats', 'sheep', 'cat', 'airplane', 'allium', 'alps', 'canyon', 'acanthus'];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-statedir-'));
  templateFile = path.join(dir, 'template.json');
  await writeFile(templateFile, JSON.stringify(synthesizeTemplate()));
  const rows: DemoRow[] = PHOTOS.flatMap((photo) => [
    { asset_id: `${photo}-1`, file: `${photo}.jpg`, merchant_id: 'm-1', declared_category: 'Boats', title: `${photo}` },
    { asset_id: `${photo}-2`, file: `${photo}.jpg`, merchant_id: 'm-2', declared_category: 'pets', title: `${photo} again` },
  ]);
  archive = path.join(dir, 'signals.zip');
  await writeFile(archive, buildZip({ 'manifest.csv': manifestCsv(rows), ...Object.fromEntries(PHOTOS.map((photo) => [`${photo}.jpg`, stdlibPhoto(photo)])) }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('error:'));
}

describe('reset', () => {
  it('deletes a folder media-triage created, and nothing else', async () => {
    const state = path.join(dir, 'made', 'state');
    await ensureStateDir(state);
    expect(existsSync(path.join(state, MARKER_FILE))).toBe(true);
    await writeFile(path.join(state, 'something'), 'x');
    expect(await resetStateDir(state)).toMatchObject({ ok: true, removed: true });
    expect(existsSync(state)).toBe(false);
    expect(await resetStateDir(state)).toMatchObject({ ok: true, removed: false });
  });

  it('never marks a folder that existed already', async () => {
    const existing = path.join(dir, 'existing');
    await mkdir(existing);
    await ensureStateDir(existing);
    expect(existsSync(path.join(existing, MARKER_FILE))).toBe(false);
    expect(await resetStateDir(existing)).toMatchObject({ ok: false, code: 'NOT_A_STATE_DIR' });
    expect(existsSync(existing)).toBe(true);
  });

  it('refuses a project folder through --state-dir and through MEDIA_TRIAGE_HOME, leaving it intact', async () => {
    const project = path.join(dir, 'project');
    await mkdir(path.join(project, 'src'), { recursive: true });
    await writeFile(path.join(project, 'src', 'index.ts'), 'export {};\n');
    // `--state-dir .` resolves against the CLI's working folder: run it in the project.
    const viaFlag = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [path.resolve('bin/media-triage.mjs'), 'reset', '--json', '--state-dir', '.'], { cwd: project });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(viaFlag.code).toBe(1);
    expect(errorLines(viaFlag.stderr)).toHaveLength(1);
    expect(JSON.parse(viaFlag.stdout.trim().split('\n').pop()!)).toMatchObject({ code: 'NOT_A_STATE_DIR' });
    const viaHome = await startCli(['reset', '--json'], { ...process.env, MEDIA_TRIAGE_HOME: project }).done;
    expect(viaHome.code).toBe(1);
    expect(errorLines(viaHome.stderr)).toHaveLength(1);
    expect(viaHome.last).toMatchObject({ code: 'NOT_A_STATE_DIR', stateDir: project });
    expect(await readFile(path.join(project, 'src', 'index.ts'), 'utf8')).toBe('export {};\n');
  });
});

describe('the state lock', () => {
  it('takes over a lock whose holder is gone', async () => {
    const state = path.join(dir, 'stale');
    await ensureStateDir(state);
    await writeFile(path.join(state, LOCK_FILE), JSON.stringify({ pid: await deadPid(), startedAt: '2026-01-01T00:00:00Z', command: 'run x.zip' }));
    const lock = acquireStateLock(state, 'test');
    expect(JSON.parse(await readFile(path.join(state, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(() => acquireStateLock(state, 'second')).toThrow(/in use by media-triage \(pid \d+/);
    lock.release();
    expect(existsSync(path.join(state, LOCK_FILE))).toBe(false);
  });

  it('refuses a second run and a reset while a run holds the folder; Ctrl-C stops the run and the next one resumes', async () => {
    const state = path.join(dir, 'locked');
    const first = startCli(['run', archive, '--json', '--state-dir', state, '--template', templateFile]);
    expect(await waitFor(first, () => existsSync(path.join(state, LOCK_FILE)))).toBe(true);

    const second = await startCli(['run', archive, '--json', '--state-dir', state, '--template', templateFile]).done;
    expect(second.code).toBe(1);
    const lines = second.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(state);
    expect(lines[0]).toContain(`pid ${first.child.pid}`);
    expect(second.last).toMatchObject({ status: 'FAILED', code: 'STATE_LOCKED' });
    const reset = await startCli(['reset', '--json', '--state-dir', state]).done;
    expect(reset.code).toBe(1);
    expect(reset.last).toMatchObject({ code: 'STATE_LOCKED' });

    // Mid-map: some model inputs written.
    const reached = await waitFor(first, () => countFiles(path.join(bucketDir(state, 'local-storagedata'), 'preprocessed')) >= 2);
    expect(reached).toBe(true);
    first.child.kill('SIGINT');
    const stopped = await first.done;
    expect(stopped.code).toBe(130);
    expect(stopped.last).toMatchObject({ status: 'INTERRUPTED', code: 'INTERRUPTED', signal: 'SIGINT' });
    const recorded = stopped.last!['recorded'] as number;
    expect(recorded).toBeLessThanOrEqual(stopped.last!['assets'] as number);
    expect(errorLines(stopped.stderr)).toHaveLength(1);
    expect(existsSync(path.join(state, LOCK_FILE))).toBe(false);
    expect((await savedRecords(state)).length).toBeGreaterThanOrEqual(recorded);

    const resumed = await startCli(['run', archive, '--json', '--state-dir', state, '--template', templateFile]).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.last).toMatchObject({ status: 'COMPLETED', batchId: stopped.last!['batchId'], assets: PHOTOS.length * 2 });
  });

  it('exits at once on a second Ctrl-C, whatever the run is still doing', async () => {
    // Signals of one kind are not queued: the second must come after the first was handled, which a CLI run does
    // not let a test observe reliably. This process does exactly what a run does with them, and never finishes.
    const script = [
      `import { watchInterrupts } from ${JSON.stringify(path.resolve('local/interrupts.ts'))};`,
      "watchInterrupts(() => process.stdout.write('first\\n'));",
      'setInterval(() => undefined, 1000);',
      "process.stdout.write('ready\\n');",
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const seen = (text: string): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (stdout.includes(text)) resolve();
        };
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          check();
        });
        check();
      });
    await seen('ready');
    child.kill('SIGINT');
    await seen('first');
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('again: exiting now');
  });
});

describe('temp folders', () => {
  it('leaves nothing in the temp dir after a run that synthesizes in-process, and sweeps a killed run’s leftovers', async () => {
    const tmp = await mkdtemp(path.join(dir, 'tmpdir-'));
    const leftover = path.join(tmp, `media-triage-tmp-synth-${await deadPid()}-AbC123`);
    await mkdir(path.join(leftover, 'asset.abc'), { recursive: true });
    const ended = await startCli(['run', archive, '--json', '--state-dir', path.join(dir, 'hygiene')], { ...process.env, TMPDIR: tmp }).done;
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stderr).toBe('');
    // tsx keeps one compile cache per user there (`tsx-<uid>`), shared by every run: not a per-run folder.
    const remaining = readdirSync(tmp).filter((name) => !/^tsx-/.test(name));
    expect(remaining).toEqual([]);
  });
});
