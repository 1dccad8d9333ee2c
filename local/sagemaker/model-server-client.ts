/**
 * The session side of the local model server (model-server.ts): a ModelPool whose inference runs in the checkout's
 * background model server, started on first need and reused by every later command while it lives.
 *
 * `MEDIA_TRIAGE_MODEL_SERVER=off` keeps the models in the command's own worker threads instead (model-pool.ts), as
 * the test suite does: its processes then leave nothing running. The server lives in
 * `node_modules/.cache/media-triage/model-server/<checkout>/` (or `MEDIA_TRIAGE_MODEL_SERVER_DIR`) and exits after
 * `MEDIA_TRIAGE_MODEL_SERVER_IDLE_SECONDS` (default 900) without a request; `media-triage model-server stop` ends it.
 *
 * The server's key is a hash of the code it runs (local/sagemaker/ and the helpers it imports), the lockfile (the
 * packages and model weights), Node's major version and the worker count: a command whose key differs asks the old
 * server to stop and starts its own, so an edit or an upgrade is never answered by stale code.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from '../process-liveness';
import { PROJECT_ROOT } from '../project-root';
import type { ModelName, ModelPool } from './model-pool';
import { isModelServerProcess, serverInfoFile, type ModelServerInfo } from './model-server';
import { ImageDecodeError } from './image-decode-error';

const SERVER_MAIN = fileURLToPath(new URL('./model-server-main.mjs', import.meta.url));
const DEFAULT_IDLE_SECONDS = 900;
/** Loading TensorFlow.js and both models under a busy machine's load; past this the command gives up on the server. */
const START_TIMEOUT_MS = 90_000;
/**
 * One inference's longest wait on the server (queueing included), below Classify's own 65 s per attempt: past it
 * the server is suspect, and the next call checks its health (and replaces it when it does not answer).
 */
const RUN_TIMEOUT_MS = 60_000;
/** Files outside local/sagemaker/ that the server process imports. */
const SHARED_SOURCES = ['local/process-liveness.ts', 'local/listen.ts', 'local/quiet-node-version-warning.ts', 'local/startup-trace.ts', 'package-lock.json'];

export function modelServerEnabled(): boolean {
  return process.env['MEDIA_TRIAGE_MODEL_SERVER'] !== 'off';
}

/** Where this checkout's server keeps its lock, info and log (worktrees sharing node_modules each get their own). */
export function modelServerDir(): string {
  const configured = process.env['MEDIA_TRIAGE_MODEL_SERVER_DIR'];
  if (configured !== undefined && configured !== '') return configured;
  const checkout = createHash('sha256').update(PROJECT_ROOT).digest('hex').slice(0, 12);
  return path.join(PROJECT_ROOT, 'node_modules', '.cache', 'media-triage', 'model-server', checkout);
}

function idleSeconds(): number {
  const configured = Number(process.env['MEDIA_TRIAGE_MODEL_SERVER_IDLE_SECONDS']);
  return Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_IDLE_SECONDS;
}

let codeHash: string | undefined;

/** The key of a server that runs this checkout's code with `size` workers. */
export function modelServerKey(size: number): string {
  if (codeHash === undefined) {
    const hash = createHash('sha256').update(`node${process.versions.node.split('.')[0]}\n`);
    const own = readdirSync(path.join(PROJECT_ROOT, 'local', 'sagemaker'))
      .sort()
      .map((name) => path.join('local', 'sagemaker', name));
    for (const file of [...own, ...SHARED_SOURCES]) hash.update(`${file}\n`).update(readFileSync(path.join(PROJECT_ROOT, file)));
    codeHash = hash.digest('hex').slice(0, 24);
  }
  return `${codeHash}-w${size}`;
}

export function readServerInfo(dir = modelServerDir()): ModelServerInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(serverInfoFile(dir), 'utf8')) as ModelServerInfo;
    // A pid the system gave to another process since the server died is not the server.
    return isModelServerProcess(info.pid) === false ? undefined : info;
  } catch {
    return undefined;
  }
}

interface HttpAnswer {
  status: number;
  body: Buffer;
}

function call(port: number, method: string, route: string, options: { body?: Uint8Array; timeoutMs?: number; agent?: Agent } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path: route, agent: options.agent, headers: { 'content-length': String(options.body?.byteLength ?? 0) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.timeoutMs !== undefined)
      req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`the model server did not answer ${route} within ${options.timeoutMs} ms`)));
    req.end(options.body);
  });
}

/** The server's health answer, or undefined when nothing (healthy) listens there. */
async function health(info: ModelServerInfo): Promise<{ key: string; pid: number } | undefined> {
  try {
    const answer = await call(info.port, 'GET', '/health', { timeoutMs: 2000 });
    return answer.status === 200 ? (JSON.parse(answer.body.toString('utf8')) as { key: string; pid: number }) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Asks the checkout's server to end and waits (up to 10 s) until its process is gone. */
export async function stopModelServer(dir = modelServerDir()): Promise<{ stopped: boolean; pid: number | null }> {
  const info = readServerInfo(dir);
  if (info === undefined) return { stopped: false, pid: null };
  await call(info.port, 'POST', '/shutdown', { timeoutMs: 2000 }).catch(() => undefined);
  for (let waited = 0; waited < 10_000 && isProcessAlive(info.pid); waited += 50) await sleep(50);
  // A server that does not stop when asked (it is wedged) is ended the hard way; it holds no state. Only if the pid
  // is still a model server's: a pid the system reused for another process is left alone.
  if (isModelServerProcess(info.pid) === true) process.kill(info.pid, 'SIGKILL');
  return { stopped: !isProcessAlive(info.pid), pid: info.pid };
}

function startServerProcess(dir: string, key: string, size: number): void {
  mkdirSync(dir, { recursive: true });
  const log = openSync(path.join(dir, 'server.log'), 'a');
  try {
    const child = spawn(process.execPath, [SERVER_MAIN, '--dir', dir, '--key', key, '--size', String(size), '--idle-seconds', String(idleSeconds())], {
      cwd: PROJECT_ROOT,
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
  } finally {
    closeSync(log);
  }
}

let startedHere: ModelServerInfo | undefined;
/** When this process last started a server process (0: never); a start is not repeated within 2 s. */
let lastStart = 0;

/** The server this process started (undefined when it found one running, or used none): the CLI mentions it once. */
export function modelServerStartedHere(): ModelServerInfo | undefined {
  return startedHere;
}

/** The port of a running server with this key: the one already up, or one started now (replacing a stale one). */
async function ensureServer(size: number): Promise<number> {
  const dir = modelServerDir();
  const key = modelServerKey(size);
  const deadline = Date.now() + START_TIMEOUT_MS;
  let unanswered = 0;
  while (Date.now() < deadline) {
    const info = readServerInfo(dir);
    const answer = info === undefined ? undefined : await health(info);
    if (info !== undefined && answer?.key === key) {
      if (lastStart > 0) startedHere = info;
      return info.port;
    }
    // Another key: replace it. Alive but not answering its health check three times (2 s each): it is wedged, and
    // while it holds the lock no other server can start, so it is ended too.
    unanswered = info !== undefined && answer === undefined ? unanswered + 1 : 0;
    if ((info !== undefined && answer !== undefined) || unanswered >= 3) {
      await stopModelServer(dir);
      unanswered = 0;
    }
    // (Re)start at most every 2 s: a start that finds the lock held by a server still publishing exits at once.
    if (Date.now() - lastStart > 2000) {
      startServerProcess(dir, key, size);
      lastStart = Date.now();
    }
    await sleep(50);
  }
  throw new Error(`the local model server did not start within ${START_TIMEOUT_MS / 1000} s (see ${path.join(dir, 'server.log')})`);
}

function errorFrom(answer: HttpAnswer): Error {
  let described: { name?: string; message?: string } = {};
  try {
    described = JSON.parse(answer.body.toString('utf8')) as typeof described;
  } catch {
    // Not JSON: the status says enough.
  }
  const message = described.message ?? `the model server answered HTTP ${answer.status}`;
  if (answer.status === 422) return new ImageDecodeError(message);
  const error = new Error(message);
  error.name = described.name ?? 'Error';
  return error;
}

function isConnectionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE' || (error as Error).message === 'socket hang up';
}

export function createRemoteModelPool(size: number): ModelPool {
  let server: Promise<number> | undefined;
  // Kept-alive connections: one per concurrent inference, reused (Node unrefs idle ones, so they never hold the exit).
  const agent = new Agent({ keepAlive: true });
  const port = (): Promise<number> => {
    server ??= ensureServer(size);
    server.catch(() => (server = undefined));
    return server;
  };

  async function send(route: string, body: Uint8Array | undefined, timeoutMs: number): Promise<HttpAnswer> {
    try {
      return await call(await port(), 'POST', route, { body, agent, timeoutMs });
    } catch (error) {
      // Unanswered in time: the next call looks at the server again instead of trusting the port it knew.
      if (!isConnectionError(error)) {
        server = undefined;
        throw error;
      }
      // The server went away (idle exit, SIGKILL, replaced by another checkout's key): start or find one, once.
      server = undefined;
      return call(await port(), 'POST', route, { body, agent, timeoutMs });
    }
  }

  return {
    size,
    async run<M extends ModelName>(model: M, image: Uint8Array) {
      const answer = await send(`/run/${model}`, image, RUN_TIMEOUT_MS);
      if (answer.status !== 200) throw errorFrom(answer);
      return JSON.parse(answer.body.toString('utf8')) as never;
    },
    async warmUp() {
      const answer = await send('/warm-up', undefined, START_TIMEOUT_MS);
      if (answer.status !== 200) throw errorFrom(answer);
    },
    release() {
      agent.destroy();
    },
    async close() {
      // The server outlives the command: that is its point. `media-triage model-server stop` ends it.
      agent.destroy();
    },
  };
}

const shared = new Map<number, ModelPool>();

/** The process's client of the checkout's model server for `size` workers (default one per core). */
export function sharedRemoteModelPool(size = availableParallelism()): ModelPool {
  let pool = shared.get(size);
  if (pool === undefined) {
    pool = createRemoteModelPool(size);
    shared.set(size, pool);
  }
  return pool;
}

/**
 * Starts the model server when none runs for this checkout, without waiting for it (the server loads the models as
 * soon as it is up): for a command that will need the models shortly (a `run`), so a first run loads them beside its
 * own start-up. Synchronous and holding no socket or timer, so a command that then stops early (a locked state folder,
 * a refused batch) exits at once. A server with other code is left to the call that needs the models, which
 * replaces it.
 */
export function prestartModelServer(size = availableParallelism()): void {
  if (!modelServerEnabled() || readServerInfo() !== undefined) return;
  startServerProcess(modelServerDir(), modelServerKey(size), size);
  lastStart = Date.now();
}
