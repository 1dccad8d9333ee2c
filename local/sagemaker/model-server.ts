/**
 * The local model server: a background process that keeps the bundled models loaded between commands, so a warm
 * `run` does not pay for loading TensorFlow.js and both models again (about 1.2 s of CPU per worker on a quiet
 * machine, 3 s and more beside a starting pipeline on 2 cores; measured with MEDIA_TRIAGE_TRACE).
 *
 * It is a worker pool (model-pool.ts, one thread per core) behind a small HTTP API on 127.0.0.1: `POST /run/<model>`
 * with the image bytes answers the model's JSON, `POST /warm-up` answers once every worker has both models loaded,
 * `GET /health` answers `{key, pid, size}`, `POST /shutdown` ends it. The SageMaker stand-in of each session stays
 * in the session's process and keeps every SageMaker behaviour (errors, limits, counts); only the inference moves.
 *
 * One server per checkout: it claims `<dir>/server.lock` (O_EXCL, holding its pid; a dead owner's lock is taken
 * over), then publishes `<dir>/server.json` = {pid, port, key, size, idleSeconds}. A second server started at the
 * same moment finds the lock held and exits, and its starter uses the first one. `key` names the code and packages
 * it runs (model-server-client.ts), so a client on changed sources replaces it. After `idleSeconds` without a
 * request it exits by itself; it holds no state, so a SIGKILL loses nothing (the next command starts another).
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { isProcessAlive } from '../process-liveness';
import { listenOnLoopback } from '../listen';
import { createModelPool, type ModelName } from './model-pool';

export interface ModelServerInfo {
  pid: number;
  port: number;
  key: string;
  size: number;
  idleSeconds: number;
}

export interface ModelServerOptions {
  dir: string;
  key: string;
  size: number;
  idleSeconds: number;
}

export function serverInfoFile(dir: string): string {
  return path.join(dir, 'server.json');
}

export function serverLockFile(dir: string): string {
  return path.join(dir, 'server.lock');
}

/**
 * Whether `pid` is a live model server: false when the process is gone or (on Linux, from its command line) runs
 * something else, as after the system reused a dead server's pid; undefined when it lives but cannot be told.
 */
export function isModelServerProcess(pid: number): boolean | undefined {
  if (!isProcessAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('model-server-main.mjs');
  } catch {
    return undefined;
  }
}

/** Takes the checkout's server lock, or returns false when a live model server holds it. */
function claimLock(dir: string): boolean {
  const file = serverLockFile(dir);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileSync(file, 'utf8').trim() || 'NaN');
    // An owner still writing its pid reads as NaN: treat it as alive, it will publish shortly.
    if (Number.isNaN(owner) || isModelServerProcess(owner) !== false) return false;
    rmSync(file, { force: true });
  }
  return false;
}

/** Removes the lock and the info file if they are still this process's. */
function releaseFiles(dir: string): void {
  try {
    if (readFileSync(serverLockFile(dir), 'utf8').trim() !== String(process.pid)) return;
  } catch {
    return;
  }
  try {
    const info = JSON.parse(readFileSync(serverInfoFile(dir), 'utf8')) as Partial<ModelServerInfo>;
    if (info.pid === process.pid) rmSync(serverInfoFile(dir), { force: true });
  } catch {
    // No info file (yet): nothing to remove.
  }
  rmSync(serverLockFile(dir), { force: true });
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body));
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(payload.length) });
  response.end(payload);
}

const MODELS: readonly ModelName[] = ['detector', 'policy'];

/** Runs the server until it is idle for `idleSeconds`, asked to shut down, or signalled. Resolves when it ended. */
export async function serveModels(options: ModelServerOptions): Promise<'lock-held' | 'ended'> {
  if (!claimLock(options.dir)) return 'lock-held';
  const pool = createModelPool(options.size);
  let idleTimer: NodeJS.Timeout | undefined;
  let running = 0;
  let finish!: () => void;
  const ended = new Promise<void>((resolve) => (finish = resolve));

  const server = createServer((request, response) => {
    running += 1;
    clearTimeout(idleTimer);
    response.on('close', () => {
      running -= 1;
      armIdleTimer();
    });
    handle(request, response).catch((error: unknown) =>
      reply(response, 500, { name: 'Error', message: error instanceof Error ? error.message : String(error) }),
    );
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'GET' && url.pathname === '/health') return reply(response, 200, { key: options.key, pid: process.pid, size: options.size });
    if (request.method === 'POST' && url.pathname === '/warm-up') {
      await pool.warmUp();
      return reply(response, 200, { loaded: true });
    }
    if (request.method === 'POST' && url.pathname === '/shutdown') {
      reply(response, 200, { stopping: true });
      finish();
      return;
    }
    const model = url.pathname.startsWith('/run/') ? (url.pathname.slice('/run/'.length) as ModelName) : undefined;
    if (request.method !== 'POST' || model === undefined || !MODELS.includes(model))
      return reply(response, 404, { name: 'NotFound', message: `no route ${request.method} ${url.pathname}` });
    const image = await buffer(request);
    try {
      reply(response, 200, await pool.run(model, image));
    } catch (error) {
      const described = error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
      // 422: the image is the caller's problem (ImageDecodeError); 500: the model failed.
      reply(response, described.name === 'ImageDecodeError' ? 422 : 500, described);
    }
  }

  function armIdleTimer(): void {
    clearTimeout(idleTimer);
    if (running === 0) idleTimer = setTimeout(finish, options.idleSeconds * 1000);
  }

  try {
    const port = await listenOnLoopback(server);
    const info: ModelServerInfo = { pid: process.pid, port, key: options.key, size: options.size, idleSeconds: options.idleSeconds };
    const partial = `${serverInfoFile(options.dir)}.${process.pid}`;
    writeFileSync(partial, JSON.stringify(info));
    renameSync(partial, serverInfoFile(options.dir));
    armIdleTimer();
    // Started only because a command wants the models: load them now, before the first request asks.
    pool.warmUp().catch(() => undefined);
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, finish);
    await ended;
  } finally {
    releaseFiles(options.dir);
    clearTimeout(idleTimer);
    server.closeAllConnections();
    server.close();
    await pool.close();
  }
  return 'ended';
}
