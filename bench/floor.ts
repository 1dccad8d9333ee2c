/**
 * The floors the pipeline is compared with: the Preprocess stage's jimp work (decode, upright, fit to 512 px, JPEG
 * encode, hashes) on one core and on every core, and the local models' inference alone on the same model inputs, in
 * one thread (per-call times) and on every core.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { preprocessImage } from '../lambdas/core/image';
import { createModelPool } from '../local/sagemaker/model-pool';
import { detectObjects, loadObjectDetector } from '../local/sagemaker/object-detector';
import { classifyPolicy, loadPolicyModel } from '../local/sagemaker/policy-model';
import type { BenchImage } from './images';
import { measured } from './stats';

export interface FloorResult {
  imagesPerSec: number;
  wallMs: number;
  cpuMs: number;
}

/** One core, in this thread; also returns the model inputs for the models' floor. */
export async function singleCoreFloor(images: readonly BenchImage[], onProgress: (done: number) => void): Promise<FloorResult & { modelInputs: Buffer[] }> {
  const inputs = await Promise.all(images.map((image) => readFile(image.path)));
  const modelInputs: Buffer[] = [];
  const run = await measured(async () => {
    for (const [index, bytes] of inputs.entries()) {
      const result = await preprocessImage(bytes);
      if (!result.ok) throw new Error(`${images[index]!.file}: ${result.problem} ${result.detail}`);
      modelInputs.push(result.modelInput);
      onProgress(index + 1);
    }
  });
  return { imagesPerSec: images.length / (run.wallMs / 1000), wallMs: run.wallMs, cpuMs: run.cpuMs, modelInputs };
}

/** Every core: one worker thread per core, each taking the next file as soon as it is free (files read in the worker). */
export async function allCoresFloor(
  images: readonly BenchImage[],
  onProgress: (done: number) => void,
  threads = availableParallelism(),
): Promise<FloorResult & { threads: number }> {
  const workers = Array.from({ length: threads }, () => new Worker(new URL('./floor-worker.mjs', import.meta.url)));
  // Let each worker load jimp before the clock starts, as a warm Lambda has.
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('online', resolve))));
  try {
    const run = await measured(async () => {
      let next = 0;
      let done = 0;
      await Promise.all(
        workers.map(async (worker) => {
          while (next < images.length) {
            const file = images[next++]!.path;
            await new Promise<void>((resolve, reject) => {
              worker.once('message', (message: { ok: boolean }) => (message.ok ? resolve() : reject(new Error(`${file} failed preprocessing`))));
              worker.postMessage(file);
            });
            onProgress(++done);
          }
        }),
      );
    });
    return { imagesPerSec: images.length / (run.wallMs / 1000), wallMs: run.wallMs, cpuMs: run.cpuMs, threads };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** Both local models on every model input, one image at a time in this thread: the per-call model times. */
export async function modelsFloor(
  modelInputs: readonly Buffer[],
  onProgress: (done: number) => void,
): Promise<FloorResult & { categoryMsPerCall: number; policyMsPerCall: number }> {
  await Promise.all([loadObjectDetector(), loadPolicyModel()]);
  let categoryMs = 0;
  let policyMs = 0;
  const run = await measured(async () => {
    for (const [index, input] of modelInputs.entries()) {
      const started = performance.now();
      await detectObjects(input);
      const between = performance.now();
      await classifyPolicy(input);
      categoryMs += between - started;
      policyMs += performance.now() - between;
      onProgress(index + 1);
    }
  });
  return {
    imagesPerSec: modelInputs.length / (run.wallMs / 1000),
    wallMs: run.wallMs,
    cpuMs: run.cpuMs,
    categoryMsPerCall: categoryMs / modelInputs.length,
    policyMsPerCall: policyMs / modelInputs.length,
  };
}

/**
 * Both local models on every model input, on every core: the SageMaker stand-in's own worker pool (one worker per
 * core, models loaded before the clock starts), every input's two calls queued at once as Classify makes them.
 */
export async function allCoresModelsFloor(
  modelInputs: readonly Buffer[],
  onProgress: (done: number) => void,
  threads = availableParallelism(),
): Promise<FloorResult & { threads: number }> {
  const pool = createModelPool(threads);
  try {
    await pool.warmUp();
    let done = 0;
    const run = await measured(() =>
      Promise.all(
        modelInputs.map(async (input) => {
          await Promise.all([pool.run('detector', input), pool.run('policy', input)]);
          onProgress(++done);
        }),
      ),
    );
    return { imagesPerSec: modelInputs.length / (run.wallMs / 1000), wallMs: run.wallMs, cpuMs: run.cpuMs, threads };
  } finally {
    await pool.close();
  }
}
