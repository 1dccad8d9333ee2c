/**
 * The one TensorFlow.js runtime shared by the local stand-in's models: plain `@tensorflow/tfjs` on the WebAssembly
 * backend (tfjs-node is not available; the wasm build runs SIMD kernels on one core, fast enough for a few images per
 * second), plus the image decoding both models need.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { imageSize } from 'image-size';
import { Jimp } from 'jimp';
import { ImageDecodeError } from './image-decode-error';

const require = createRequire(import.meta.url);

/** Absolute path of a file inside an installed package (weights are read in place, never copied into the repo). */
export function packageFile(packageName: string, ...relative: string[]): string {
  return path.join(path.dirname(require.resolve(`${packageName}/package.json`)), ...relative);
}

let backend: Promise<typeof tf> | undefined;

/** Selects the wasm backend once per process; resolves to the tfjs namespace to use. */
export function tensorflow(): Promise<typeof tf> {
  backend ??= (async () => {
    // The .wasm binaries are loaded from the package's dist folder on disk (trailing separator: it is a prefix).
    setWasmPaths(packageFile('@tensorflow/tfjs-backend-wasm', 'dist') + path.sep);
    if (!(await tf.setBackend('wasm'))) throw new Error('the TensorFlow.js wasm backend failed to initialise');
    await tf.ready();
    return tf;
  })();
  // A failure is memoized too: tfjs refuses a second setWasmPaths after a failed start, so retrying cannot help.
  return backend;
}

export { ImageDecodeError };

/** Refuse decoding bombs (a few KB of PNG can claim gigapixels); 6 MB of JPEG is well under this. */
const MAX_SOURCE_PIXELS = 60_000_000;
/** Larger images are shrunk by Jimp before they become tensors, to keep wasm memory (2-4 GB max) comfortable. */
const MAX_TENSOR_SIDE = 2048;

/** Decodes JPEG/PNG (or anything else Jimp reads) into an int32 RGB tensor [height, width, 3] of 0..255 values. */
export async function decodeToTensor(image: Uint8Array): Promise<tf.Tensor3D> {
  const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  let size: { width: number; height: number };
  try {
    size = imageSize(bytes);
  } catch (error) {
    throw new ImageDecodeError(`not a decodable image: ${(error as Error).message}`);
  }
  if (size.width * size.height > MAX_SOURCE_PIXELS) {
    throw new ImageDecodeError(`image of ${size.width}x${size.height} pixels exceeds the ${MAX_SOURCE_PIXELS} pixel limit`);
  }
  let decoded: Awaited<ReturnType<typeof Jimp.fromBuffer>>;
  try {
    decoded = await Jimp.fromBuffer(bytes);
  } catch (error) {
    throw new ImageDecodeError(`not a decodable image: ${(error as Error).message}`);
  }
  if (Math.max(decoded.bitmap.width, decoded.bitmap.height) > MAX_TENSOR_SIDE) {
    decoded.scaleToFit({ w: MAX_TENSOR_SIDE, h: MAX_TENSOR_SIDE });
  }
  const { width, height, data } = decoded.bitmap;
  const tfjs = await tensorflow();
  // RGBA pixel data in, alpha dropped.
  return tfjs.browser.fromPixels({ width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }, 3);
}
