/**
 * The local models off the main thread: a pool of worker threads (model-worker.ts), each with its own TensorFlow.js
 * wasm runtime and both models, one inference at a time per worker. The stand-in's HTTP server, the other stand-ins
 * and the state machine runner share the main thread; inference there (hundreds of ms per image, one core) would
 * stall all of them and leave the other cores idle. One worker per core by default: the wasm backend is
 * single-threaded, and every worker holds its own copy of the models (about 150-250 MB each).
 *
 * Workers start on first use, or all at once with `warmUp()` (what a run does at start-up, beside PrepareBatch). The
 * stand-in uses one pool per process and size (`sharedModelPool`), so sessions after the first find the models loaded.
 * The same models and code answer in every worker, so which worker answers changes no score. A worker that dies
 * fails its job and is replaced by the next job.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Detection } from './object-detector';
import { ImageDecodeError } from './image-decode-error';

export type ModelName = 'detector' | 'policy';
export interface ModelJob {
  model: ModelName;
  image: Uint8Array;
}
type LabelScores = Array<{ label: string; score: number }>;
type ModelAnswer<M extends ModelName> = M extends 'detector' ? Detection[] : LabelScores;

const ENTRY = new URL('./model-worker.mjs', import.meta.url);

interface PendingJob extends ModelJob {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface ModelWorker {
  worker: Worker;
  /** Resolves once both models are loaded in this worker. */
  loaded: Promise<void>;
  current?: { id: number; job: PendingJob };
}

export interface ModelPool {
  readonly size: number;
  run<M extends ModelName>(model: M, image: Uint8Array): Promise<ModelAnswer<M>>;
  /** Starts every worker and loads the models in each; resolves when all are ready. */
  warmUp(): Promise<void>;
  /** Lets the process exit while workers are idle or still loading (only a running job keeps it alive). */
  release(): void;
  close(): Promise<void>;
}

function errorFrom(described: { name?: string; message?: string }): Error {
  // A decode failure is the caller's fault (a 4xx ModelError), so it keeps its class across the thread boundary.
  if (described.name === 'ImageDecodeError') return new ImageDecodeError(described.message ?? 'not a decodable image');
  const error = new Error(described.message ?? 'model worker failed');
  error.name = described.name ?? 'Error';
  return error;
}

const shared = new Map<number, ModelPool>();

/**
 * The process's pool of this size, created on first use and kept for later sessions (as the models were once loaded
 * per process when they ran on the main thread): a session that ends releases it, it is not closed.
 */
export function sharedModelPool(size = availableParallelism()): ModelPool {
  let pool = shared.get(size);
  if (pool === undefined) {
    pool = createModelPool(size);
    shared.set(size, pool);
  }
  return pool;
}

export function createModelPool(size = availableParallelism()): ModelPool {
  const workers = new Set<ModelWorker>();
  const waiting: PendingJob[] = [];
  let nextId = 1;
  let closed = false;

  function start(): ModelWorker {
    const worker = new Worker(ENTRY, { execArgv: [] });
    let markLoaded!: () => void;
    let failLoad!: (error: Error) => void;
    const entry: ModelWorker = { worker, loaded: new Promise<void>((resolve, reject) => ((markLoaded = resolve), (failLoad = reject))) };
    entry.loaded.catch(() => undefined);
    workers.add(entry);
    worker.on('message', (message: { type: string; id?: number; value?: unknown; error?: { name?: string; message?: string } }) => {
      if (message.type === 'loaded') {
        // Loaded at start-up and still idle: it must not keep the process alive on its own.
        if (entry.current === undefined) worker.unref();
        return markLoaded();
      }
      if (message.type === 'load-error') return failLoad(errorFrom(message.error ?? {}));
      const current = entry.current;
      if (current === undefined || current.id !== message.id) return;
      entry.current = undefined;
      worker.unref();
      if (message.type === 'result') current.job.resolve(message.value);
      else current.job.reject(errorFrom(message.error ?? {}));
      dispatch();
    });
    const lost = (error: Error): void => {
      if (!workers.delete(entry)) return;
      failLoad(error);
      entry.current?.job.reject(error);
      entry.current = undefined;
      if (!closed) dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`model worker exited with code ${code}`)));
    return entry;
  }

  function dispatch(): void {
    while (waiting.length > 0) {
      let idle = [...workers].find((entry) => entry.current === undefined);
      if (idle === undefined && workers.size < size) idle = start();
      if (idle === undefined) return;
      const job = waiting.shift()!;
      const id = nextId++;
      idle.current = { id, job };
      idle.worker.ref();
      idle.worker.postMessage({ type: 'run', id, model: job.model, image: job.image });
    }
  }

  return {
    size,
    run<M extends ModelName>(model: M, image: Uint8Array): Promise<ModelAnswer<M>> {
      if (closed) return Promise.reject(new Error('the model pool is closed'));
      return new Promise<ModelAnswer<M>>((resolve, reject) => {
        waiting.push({ model, image, resolve: resolve as (value: unknown) => void, reject });
        dispatch();
      });
    },
    async warmUp(): Promise<void> {
      while (!closed && workers.size < size) start();
      await Promise.all(
        [...workers].map((entry) => {
          entry.worker.postMessage({ type: 'load' });
          return entry.loaded;
        }),
      );
    },
    release(): void {
      for (const entry of workers) if (entry.current === undefined) entry.worker.unref();
    },
    async close(): Promise<void> {
      closed = true;
      const error = new Error('the model pool closed before the job ran');
      for (const job of waiting.splice(0)) job.reject(error);
      const all = [...workers];
      workers.clear();
      for (const entry of all) entry.current?.job.reject(new Error('the model pool closed during the job'));
      await Promise.all(all.map((entry) => entry.worker.terminate()));
    },
  };
}
