/** One floor worker: runs the Preprocess stage's own jimp work (`preprocessImage`) on each file it is sent. */
import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { preprocessImage } from '../lambdas/core/image';

parentPort!.on('message', (file: string) => {
  void (async () => {
    const bytes = await readFile(file);
    const started = performance.now();
    const result = await preprocessImage(bytes);
    parentPort!.postMessage({ ok: result.ok, ms: performance.now() - started });
  })();
});
