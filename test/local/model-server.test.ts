/**
 * The background model server (local/sagemaker/model-server.ts) through its client, as a session uses it: real
 * processes, real models, a private server folder, and every server this file starts stopped at the end.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stdlibPhoto } from '../../local/demo-batch';
import { isProcessAlive } from '../../local/process-liveness';
import { ImageDecodeError } from '../../local/sagemaker/image-decode-error';
import { createModelPool, type ModelPool } from '../../local/sagemaker/model-pool';
import { serverInfoFile, serverLockFile } from '../../local/sagemaker/model-server';
import { createRemoteModelPool, readServerInfo, stopModelServer } from '../../local/sagemaker/model-server-client';

const ENV_KEYS = ['MEDIA_TRIAGE_MODEL_SERVER', 'MEDIA_TRIAGE_MODEL_SERVER_DIR', 'MEDIA_TRIAGE_MODEL_SERVER_IDLE_SECONDS'] as const;
const saved = Object.fromEntries(ENV_KEYS.map((key) => [key, process.env[key]]));
let dir: string;
const pools: ModelPool[] = [];
const pids = new Set<number>();

function remotePool(size = 1): ModelPool {
  const pool = createRemoteModelPool(size);
  pools.push(pool);
  return pool;
}

function serverPid(): number {
  const info = readServerInfo(dir);
  if (info === undefined) throw new Error('no model server is running');
  pids.add(info.pid);
  return info.pid;
}

/** Live processes (Linux /proc) running a model server for this file's folder. */
function serverProcesses(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        return argv.some((arg) => arg.endsWith('model-server-main.mjs')) && argv.includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < timeoutMs;) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'model-server-'));
  process.env['MEDIA_TRIAGE_MODEL_SERVER'] = 'on';
  process.env['MEDIA_TRIAGE_MODEL_SERVER_DIR'] = dir;
  process.env['MEDIA_TRIAGE_MODEL_SERVER_IDLE_SECONDS'] = '60';
});

afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
});

afterAll(async () => {
  await stopModelServer(dir);
  for (const pid of pids) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const key of ENV_KEYS) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('the local model server', () => {
  const photo = stdlibPhoto('boats');

  it('answers what the models answer in the command’s own threads, and later clients reuse it', async () => {
    const local = createModelPool(1);
    try {
      const expected = { detector: await local.run('detector', photo), policy: await local.run('policy', photo) };
      const first = remotePool();
      expect({ detector: await first.run('detector', photo), policy: await first.run('policy', photo) }).toEqual(expected);
      expect(expected.detector.length).toBeGreaterThan(0);
      const pid = serverPid();
      // A later command (a new client) finds the same process with the models loaded.
      const second = remotePool();
      await second.warmUp();
      expect(await second.run('policy', photo)).toEqual(expected.policy);
      expect(serverPid()).toBe(pid);
    } finally {
      await local.close();
    }
  }, 180_000);

  it('relays an undecodable image as ImageDecodeError (a client error of the model)', async () => {
    await expect(remotePool().run('policy', Buffer.from('not an image'))).rejects.toBeInstanceOf(ImageDecodeError);
  }, 120_000);

  it('is replaced when it was killed, and when a client needs other code or another size', async () => {
    const pool = remotePool();
    await pool.warmUp();
    const killed = serverPid();
    process.kill(killed, 'SIGKILL');
    await waitFor(() => !isProcessAlive(killed), 10_000);
    // The lock and info of the dead server are left behind; the next call takes over and answers.
    expect(existsSync(serverLockFile(dir))).toBe(true);
    expect((await pool.run('policy', photo)).length).toBeGreaterThan(0);
    const restarted = serverPid();
    expect(restarted).not.toBe(killed);
    // Another worker count is another key: the old server is asked to stop and a new one answers.
    expect((await remotePool(2).run('detector', photo)).length).toBeGreaterThan(0);
    const resized = serverPid();
    expect(resized).not.toBe(restarted);
    expect(await waitFor(() => !isProcessAlive(restarted), 10_000)).toBe(true);
    expect(readServerInfo(dir)?.size).toBe(2);
  }, 240_000);

  it('is replaced when it stops answering (wedged), leaving a process that only reuses its pid alone', async () => {
    await remotePool().warmUp();
    const wedged = serverPid();
    process.kill(wedged, 'SIGSTOP');
    try {
      // A new command finds it alive but silent: after three unanswered health checks it is ended and replaced.
      expect((await remotePool().run('policy', photo)).length).toBeGreaterThan(0);
      expect(serverPid()).not.toBe(wedged);
      expect(await waitFor(() => !isProcessAlive(wedged), 10_000)).toBe(true);
    } finally {
      if (isProcessAlive(wedged)) process.kill(wedged, 'SIGKILL');
    }
    // An info file naming a live process that is not a model server (this test process) is not a server.
    const info = readServerInfo(dir)!;
    writeFileSync(serverInfoFile(dir), JSON.stringify({ ...info, pid: process.pid }));
    expect(readServerInfo(dir)).toBeUndefined();
    writeFileSync(serverInfoFile(dir), JSON.stringify(info));
  }, 180_000);

  it('starts once when several commands ask at the same moment', async () => {
    await stopModelServer(dir);
    const answers = await Promise.all([remotePool(), remotePool(), remotePool()].map((pool) => pool.run('policy', photo)));
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    const pid = serverPid();
    // Only one server holds the lock and serves; the others that started saw it taken and exited.
    expect(readServerInfo(dir)?.pid).toBe(pid);
    expect(await waitFor(() => serverProcesses().length === 1, 10_000)).toBe(true);
    expect(serverProcesses()).toEqual([pid]);
  }, 180_000);

  it('exits by itself after its idle time, and `stop` ends it, removing its files', async () => {
    await stopModelServer(dir);
    process.env['MEDIA_TRIAGE_MODEL_SERVER_IDLE_SECONDS'] = '2';
    try {
      await remotePool().warmUp();
      const idle = serverPid();
      expect(await waitFor(() => !isProcessAlive(idle), 20_000)).toBe(true);
      expect(existsSync(serverInfoFile(dir))).toBe(false);
      expect(existsSync(serverLockFile(dir))).toBe(false);
    } finally {
      process.env['MEDIA_TRIAGE_MODEL_SERVER_IDLE_SECONDS'] = '60';
    }
    await remotePool().warmUp();
    const running = serverPid();
    expect(await stopModelServer(dir)).toEqual({ stopped: true, pid: running });
    expect(isProcessAlive(running)).toBe(false);
    expect(existsSync(serverInfoFile(dir))).toBe(false);
    expect(await stopModelServer(dir)).toEqual({ stopped: false, pid: null });
  }, 180_000);
});
