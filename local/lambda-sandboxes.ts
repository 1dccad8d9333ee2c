/**
 * Local Lambda execution environments: each pipeline function's handler runs in worker threads of its own, each
 * started with that function's environment only (the template's variables plus what the Lambda runtime gives every
 * function), so a handler sees exactly the settings its function has, as on AWS.
 *
 * What a worker runs is the handler bundled the way the stack bundles it for Lambda (esbuild, one ESM file, reused
 * while its sources are unchanged: handler-bundles.ts): like the deployed code, and a cold start three to four times cheaper than transpiling the
 * TypeScript module graph in every worker (measured here: 0.3-0.8 s instead of 1-3.6 s per stage, with no loader
 * thread per worker).
 *
 * Per function, a small pool: workers are started when an invocation finds none idle (a cold start) and kept warm for
 * later ones, up to the concurrency the caller asks for; beyond that, invocations wait for a worker. Each invocation
 * is bound by the function's Timeout: past it the worker is terminated, as Lambda kills the sandbox, so a runaway
 * handler's later side effects never land, and the invocation fails with `Sandbox.Timedout`. Errors a handler throws
 * come back with their name and message.
 */
import { traceMark } from './startup-trace';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { isStageName, STAGES } from '../lambdas/stages';
import { sandboxTimedOut } from './aws-limits';
import { bundledHandler } from './handler-bundles';
import type { LocalFunction } from './template';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const BOOTSTRAP = new URL('./lambda-worker.mjs', import.meta.url);
/** Variables the Lambda runtime sets for every function (reserved names a template cannot set). */
function runtimeVariables(fn: LocalFunction): Record<string, string> {
  return {
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySizeMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  };
}

/**
 * Knobs of the local run itself, taken from this process when set: the log level (quiet by default) and the SDK's
 * retry settings (tests shorten retries with them). They change how the code runs, not which settings it has.
 */
// TMPDIR too: a sandbox's ephemeral storage (Lambda's /tmp) is the host's temp dir, the one the user or test run chose.
export const LOCAL_PASS_THROUGH_VARIABLES = ['AWS_MAX_ATTEMPTS', 'AWS_RETRY_MODE', 'TMPDIR'] as const;

/**
 * The environment one function's sandbox starts with: its template variables, the runtime's variables, the
 * stand-ins' endpoints and credentials (what the runtime's network and role give a deployed function), and the local
 * knobs. Nothing from other functions.
 */
export function sandboxEnvironment(fn: LocalFunction, standInEnv: Record<string, string>): Record<string, string> {
  const knobs: Record<string, string> = { LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'ERROR' };
  for (const name of LOCAL_PASS_THROUGH_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) knobs[name] = value;
  }
  return { ...fn.environment, ...runtimeVariables(fn), ...standInEnv, ...knobs };
}

interface Invocation {
  payload: string;
  resolve: (result: Json) => void;
  reject: (error: Error) => void;
}

interface Sandbox {
  /** Undefined while the handler's bundle is being built. */
  worker?: Worker;
  ready: boolean;
  current?: { requestId: string; invocation: Invocation; timer: NodeJS.Timeout; startedAt: number };
}

function errorFrom(described: { name?: string; message?: string; stack?: string }): Error {
  const error = new Error(described.message ?? 'unknown error');
  error.name = described.name ?? 'Error';
  if (described.stack !== undefined) error.stack = described.stack;
  return error;
}

class FunctionPool {
  private readonly sandboxes = new Set<Sandbox>();
  private readonly waiting: Invocation[] = [];
  private maxWorkers = 1;
  private closed = false;

  constructor(
    private readonly fn: LocalFunction,
    private readonly entryUrl: () => Promise<string>,
    private readonly env: Record<string, string>,
  ) {}

  invoke(payload: string, concurrency: number): Promise<Json> {
    if (this.closed) return Promise.reject(new Error(`local Lambda ${this.fn.name} is shut down`));
    this.maxWorkers = Math.max(this.maxWorkers, concurrency);
    return new Promise<Json>((resolve, reject) => {
      this.waiting.push({ payload, resolve, reject });
      this.dispatch();
    });
  }

  /** Starts one sandbox now if the pool has none (its cold start then overlaps whatever runs before it is needed). */
  warm(): void {
    if (!this.closed && this.sandboxes.size === 0) this.start();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const invocation of this.waiting.splice(0)) invocation.reject(new Error(`local Lambda ${this.fn.name} shut down before it ran`));
    const sandboxes = [...this.sandboxes];
    this.sandboxes.clear();
    for (const sandbox of sandboxes) {
      if (sandbox.current !== undefined) clearTimeout(sandbox.current.timer);
      sandbox.current?.invocation.reject(new Error(`local Lambda ${this.fn.name} shut down during an invocation`));
    }
    await Promise.all(sandboxes.map((sandbox) => sandbox.worker?.terminate()));
  }

  /** Hands waiting invocations to idle warm workers, and starts workers while the pool has room. */
  private dispatch(): void {
    while (this.waiting.length > 0) {
      const idle = [...this.sandboxes].find((sandbox) => sandbox.ready && sandbox.current === undefined);
      if (idle !== undefined) {
        this.run(idle, this.waiting.shift()!);
        continue;
      }
      const starting = [...this.sandboxes].filter((sandbox) => !sandbox.ready).length;
      if (this.sandboxes.size >= this.maxWorkers || starting >= this.waiting.length) return;
      this.start();
    }
  }

  private start(): void {
    const sandbox: Sandbox = { ready: false };
    this.sandboxes.add(sandbox);
    this.entryUrl().then(
      (entryUrl) => {
        if (this.sandboxes.has(sandbox)) this.spawn(sandbox, entryUrl);
      },
      (error: Error) => this.discard(sandbox, error, true),
    );
  }

  private spawn(sandbox: Sandbox, entryUrl: string): void {
    traceMark(`sandbox spawn: ${this.fn.stageName}`);
    const worker = new Worker(BOOTSTRAP, {
      env: this.env,
      // Not the parent's flags (test runners' loaders, --import tsx): the bundle is plain JavaScript.
      execArgv: [],
      // The handler's stdout (its log stream on AWS) comes here line by line instead of straight to the terminal.
      stdout: true,
      workerData: { entryUrl, functionName: this.fn.name, memorySizeMb: this.fn.memorySizeMb },
    });
    sandbox.worker = worker;
    routeLogLines(worker, this.fn.stageName);
    worker.on('message', (message: { type: string; requestId?: string; result?: string; error?: { name?: string; message?: string } }) => {
      switch (message.type) {
        case 'ready':
          traceMark(`sandbox ready: ${this.fn.stageName}`);
          sandbox.ready = true;
          worker.unref();
          this.dispatch();
          return;
        case 'init-error':
          // Lambda fails the invocation that met the broken init and tries a fresh environment next time.
          this.discard(sandbox, errorFrom(message.error ?? {}), true);
          return;
        case 'result':
        case 'error': {
          const current = sandbox.current;
          if (current === undefined || current.requestId !== message.requestId) return;
          clearTimeout(current.timer);
          sandbox.current = undefined;
          worker.unref();
          traceMark(`invocation done: ${this.fn.stageName}`);
          invocationTimer?.(this.fn.stageName, performance.now() - current.startedAt, message.type === 'result');
          if (message.type === 'result') current.invocation.resolve(JSON.parse(message.result ?? 'null') as Json);
          else current.invocation.reject(errorFrom(message.error ?? {}));
          this.dispatch();
          return;
        }
      }
    });
    // An exception the handler did not catch (e.g. an unhandled rejection) kills the sandbox, as in Lambda.
    worker.on('error', (error) => this.discard(sandbox, error, false));
    worker.on('exit', (code) => {
      const error = new Error(`Runtime exited with exit status ${code}`);
      error.name = 'Runtime.ExitError';
      this.discard(sandbox, error, false);
    });
  }

  private run(sandbox: Sandbox, invocation: Invocation): void {
    const requestId = randomUUID();
    const timeoutMs = this.fn.timeoutSeconds * 1000;
    const timer = setTimeout(() => {
      this.discard(sandbox, sandboxTimedOut(this.fn.name, this.fn.timeoutSeconds), false);
    }, timeoutMs);
    traceMark(`invocation start: ${this.fn.stageName}`);
    sandbox.current = { requestId, invocation, timer, startedAt: performance.now() };
    sandbox.worker!.ref();
    sandbox.worker!.postMessage({ type: 'invoke', requestId, payload: invocation.payload, deadline: Date.now() + timeoutMs });
  }

  /**
   * Removes a sandbox for good (terminating its worker): its running invocation fails with `error`; after a failed
   * init the first waiting invocation fails too, since that is the one that met it.
   */
  private discard(sandbox: Sandbox, error: Error, failedInit: boolean): void {
    if (!this.sandboxes.delete(sandbox)) return;
    if (sandbox.current !== undefined) {
      clearTimeout(sandbox.current.timer);
      sandbox.current.invocation.reject(error);
      sandbox.current = undefined;
    } else if (failedInit) {
      this.waiting.shift()?.reject(error);
    }
    void sandbox.worker?.terminate();
    if (!this.closed) this.dispatch();
  }
}

/**
 * A handler's stdout, line by line. On AWS every line goes to the function's log group, and CloudWatch Logs turns the
 * embedded-metric-format ones (lambdas/functions/metrics.ts: an `_aws.CloudWatchMetrics` key) into metrics; locally
 * those would be a few JSON lines per invocation on the CLI's stdout, burying its output (and its `--json` line), so
 * they go to the metrics listener instead (tests, bench), or nowhere. Every other line reaches the terminal as before.
 */
function routeLogLines(worker: Worker, stageName: string): void {
  let partial = '';
  const route = (line: string): void => {
    const metrics = embeddedMetrics(line);
    if (metrics !== undefined) metricsListener?.(stageName, metrics);
    else process.stdout.write(`${line}\n`);
  };
  worker.stdout.setEncoding('utf8');
  worker.stdout.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) route(line);
  });
  worker.stdout.on('end', () => {
    if (partial !== '') route(partial);
    partial = '';
  });
}

/** The EMF document a log line holds, or undefined when it is another line. */
export function embeddedMetrics(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{') || !line.includes('"_aws"')) return undefined;
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    const aws = value['_aws'] as { CloudWatchMetrics?: unknown } | undefined;
    return Array.isArray(aws?.CloudWatchMetrics) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Receives every EMF document a sandbox's handler writes, with the stage that wrote it. */
export type MetricsListener = (stageName: string, document: Record<string, unknown>) => void;
let metricsListener: MetricsListener | undefined;

/** Test and bench hook: where sandboxes' EMF lines go (dropped when unset); `undefined` turns it off. */
export function setMetricsListener(listener: MetricsListener | undefined): void {
  metricsListener = listener;
}

/** A finished invocation's stage and its time from hand-over to the sandbox until its answer (queueing excluded). */
export type InvocationTimer = (stageName: string, durationMs: number, ok: boolean) => void;
let invocationTimer: InvocationTimer | undefined;

/** Bench hook (bench/run.ts): reports every invocation's duration; `undefined` turns it off. Unused otherwise. */
export function setInvocationTimer(timer: InvocationTimer | undefined): void {
  invocationTimer = timer;
}

export interface InvokeOptions {
  /** How many invocations of this function may run at once (workers the pool may keep). */
  concurrency?: number;
}

export interface SandboxOptions {
  /**
   * The most sandboxes one function keeps, whatever concurrency its callers ask for (default: no cap beyond theirs,
   * which the state machine runner sizes by the Map's MaxConcurrency and the machine's cores).
   */
  maxWorkersPerFunction?: number;
}

/** The local Lambda service: one worker pool per function, created on first use, shut down with `close()`. */
export class LocalLambdaSandboxes {
  private readonly pools = new Map<string, FunctionPool>();

  constructor(
    private readonly projectRoot: string,
    private readonly standInEnv: Record<string, string>,
    private readonly options: SandboxOptions = {},
  ) {}

  /**
   * Starts bundling these functions' handlers now (esbuild works beside this thread), so the first invocation of
   * each finds its bundle ready instead of waiting for it.
   */
  prepare(functions: LocalFunction[]): void {
    for (const fn of functions) {
      if (isStageName(fn.stageName)) bundledHandler(this.projectRoot, STAGES[fn.stageName].entry).catch(() => undefined);
    }
  }

  /**
   * Cold-starts one sandbox of each of these functions now, side by side, so that a run's first asset does not pay
   * the stages' cold starts one after the other as it reaches each.
   */
  warm(functions: LocalFunction[]): void {
    for (const fn of functions) if (isStageName(fn.stageName)) this.pool(fn).warm();
  }

  /** Invokes the function's handler like Lambda: JSON in, JSON out, bound by the function's timeout. */
  invoke(fn: LocalFunction, payload: unknown, options: InvokeOptions = {}): Promise<Json> {
    const asked = Math.max(1, options.concurrency ?? availableParallelism());
    const cap = this.options.maxWorkersPerFunction;
    return this.pool(fn).invoke(JSON.stringify(payload ?? null), cap === undefined ? asked : Math.max(1, Math.min(cap, asked)));
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }

  private pool(fn: LocalFunction): FunctionPool {
    let pool = this.pools.get(fn.logicalId);
    if (pool === undefined) {
      if (!isStageName(fn.stageName)) throw new Error(`function STAGE_NAME "${fn.stageName}" is not in the stage registry`);
      const entry = STAGES[fn.stageName].entry;
      pool = new FunctionPool(fn, () => bundledHandler(this.projectRoot, entry), sandboxEnvironment(fn, this.standInEnv));
      this.pools.set(fn.logicalId, pool);
    }
    return pool;
  }
}
