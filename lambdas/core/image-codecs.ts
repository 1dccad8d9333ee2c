/**
 * WebP and AVIF decoding: the WASM codecs of jimp 1.x's official format plugins (`@jimp/wasm-webp` and
 * `@jimp/wasm-avif` wrap `@jsquash/webp` and `@jsquash/avif`, libwebp and libavif/dav1d compiled to WebAssembly).
 *
 * The plugins themselves cannot be used in Node: before every decode they call the codec's `init()` without a
 * module, and the Emscripten loader then `fetch`es the `.wasm` from a `file:` URL, which Node's fetch does not
 * implement ("fetch failed: not implemented"). So the same codec is initialised here once, with a
 * `WebAssembly.Module` compiled from the `.wasm` bytes, and its RGBA output handed to jimp (`Jimp.fromBitmap`).
 *
 * Where the bytes are: in a Lambda bundle (and the local mode's sandboxes, which bundle the same way) the bundlers
 * copy the `.wasm` files beside the bundle and define `__MEDIA_TRIAGE_WASM_BESIDE_BUNDLE__`, because a bundle has
 * no node_modules to resolve from (lib/constructs/stage-function.ts, local/lambda-sandboxes.ts: `IMAGE_CODEC_WASM`);
 * unbundled (tests, scripts) they are resolved from the installed packages.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import decodeAvifWasm, { init as initAvif } from '@jsquash/avif/decode.js';
import decodeWebpWasm, { init as initWebp } from '@jsquash/webp/decode.js';

/** Replaced by `true` in bundles (esbuild `define`); undeclared (so `typeof` is "undefined") everywhere else. */
declare const __MEDIA_TRIAGE_WASM_BESIDE_BUNDLE__: boolean | undefined;

/** The decoders' `.wasm` files: package path → the file name a bundle carries beside itself. */
export const IMAGE_CODEC_WASM = {
  webp: '@jsquash/webp/codec/dec/webp_dec.wasm',
  avif: '@jsquash/avif/codec/dec/avif_dec.wasm',
} as const;

export type WasmCodec = keyof typeof IMAGE_CODEC_WASM;

/** Absolute paths of the decoders' `.wasm` files in the installed packages (for the bundlers to copy). */
export function imageCodecWasmFiles(): string[] {
  const require = createRequire(import.meta.url);
  return Object.values(IMAGE_CODEC_WASM).map((specifier) => require.resolve(specifier));
}

function wasmLocation(codec: WasmCodec): string {
  const specifier = IMAGE_CODEC_WASM[codec];
  if (typeof __MEDIA_TRIAGE_WASM_BESIDE_BUNDLE__ !== 'undefined' && __MEDIA_TRIAGE_WASM_BESIDE_BUNDLE__) {
    return path.join(path.dirname(fileURLToPath(import.meta.url)), path.basename(specifier));
  }
  return createRequire(import.meta.url).resolve(specifier);
}

// Node has WebAssembly as a global; the project's TypeScript libs (no DOM) declare only its types.
const wasmRuntime = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }).WebAssembly;

const ready = new Map<WasmCodec, Promise<void>>();

/** Compiles and instantiates a codec once per process (a warm Lambda keeps it). */
function initialised(codec: WasmCodec): Promise<void> {
  let promise = ready.get(codec);
  if (promise === undefined) {
    promise = (async () => {
      const module = await wasmRuntime.compile(await readFile(wasmLocation(codec)));
      await (codec === 'webp' ? initWebp(module) : initAvif(module));
    })();
    ready.set(codec, promise);
    promise.catch(() => ready.delete(codec));
  }
  return promise;
}

export interface RgbaImage {
  data: Buffer;
  width: number;
  height: number;
}

/** Decodes a WebP or AVIF file to RGBA; throws when the codec cannot (corrupt data, animated WebP). */
export async function decodeWithWasm(codec: WasmCodec, bytes: Buffer): Promise<RgbaImage> {
  await initialised(codec);
  const input = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const image = codec === 'webp' ? await decodeWebpWasm(input) : await decodeAvifWasm(input);
  if (image === null || image === undefined) throw new Error(`the ${codec.toUpperCase()} decoder returned no image`);
  return { data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), width: image.width, height: image.height };
}
