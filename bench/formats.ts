/**
 * `node --import tsx bench/formats.ts [--mp N] [--runs K] [--json]`: what each accepted image format costs the
 * Preprocess stage. One generated image per format (gradient and blocks, N megapixels, default 3), decoded through
 * `preprocessImage` (header guard, decode, resize to 512, hashes, JPEG encode) K times after a warm-up (WASM compile
 * and first-call costs excluded, as in a warm Lambda; the first call's cost is printed apart). Prints ms per image
 * and per megapixel, medians; with `--json` the last line is one JSON object. A script, never a test.
 */
import { performance } from 'node:perf_hooks';
import { Jimp } from 'jimp';
import { preprocessImage, type ImageFormat } from '../lambdas/core/image';
import * as image from '../test/corpus/image-bytes';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const megapixels = option('--mp', 3);
const runs = option('--runs', 3);
const json = args.includes('--json');
const width = Math.round(Math.sqrt(megapixels * 1e6 * (4 / 3)));
const height = Math.round((width * 3) / 4);

async function encode(format: ImageFormat): Promise<Buffer> {
  const bitmap = { data: image.gradient(width, height), width, height };
  switch (format) {
    case 'jpeg':
      return image.jpeg(width, height);
    case 'png':
      return Jimp.fromBitmap(bitmap).getBuffer('image/png');
    case 'webp':
      return image.webp(width, height);
    case 'avif':
      return image.avif(width, height);
    case 'gif':
      return image.gif(width, height);
    case 'bmp':
      return image.bmp(width, height);
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const results: Record<string, { bytes: number; firstCallMs: number; msPerImage: number; msPerMegapixel: number }> = {};
for (const format of ['jpeg', 'png', 'webp', 'avif', 'gif', 'bmp'] as const) {
  const bytes = await encode(format);
  let started = performance.now();
  const first = await preprocessImage(bytes);
  const firstCallMs = performance.now() - started;
  if (!first.ok) throw new Error(`${format}: ${first.problem} ${first.detail}`);
  const times: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    started = performance.now();
    await preprocessImage(bytes);
    times.push(performance.now() - started);
  }
  const msPerImage = median(times);
  results[format] = {
    bytes: bytes.length,
    firstCallMs: Math.round(firstCallMs),
    msPerImage: Math.round(msPerImage),
    msPerMegapixel: Math.round(msPerImage / ((width * height) / 1e6)),
  };
  if (!json)
    console.log(
      `${format.padEnd(5)} ${(bytes.length / 1024).toFixed(0).padStart(7)} KiB  first ${results[format].firstCallMs} ms  median ${results[format].msPerImage} ms  ${results[format].msPerMegapixel} ms/MP`,
    );
}
const summary = { width, height, megapixels: (width * height) / 1e6, runs, node: process.version, formats: results };
console.log(json ? JSON.stringify(summary) : `${width}x${height}, ${runs} runs after a warm-up, Node ${process.version}`);
