/**
 * Image files for the corpus, generated in memory: jimp encodes the ordinary ones, and the kinds no encoder here
 * writes (CMYK and progressive JPEG, palette and 16-bit PNG, pixel bombs, HEIC and TIFF headers) are built byte by
 * byte — small, valid where they claim to be, and exactly as large as their headers say.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { crc32, deflateSync } from 'node:zlib';
import encodeAvif, { init as initAvifEncoder } from '@jsquash/avif/encode.js';
import encodeWebp, { init as initWebpEncoder } from '@jsquash/webp/encode.js';
import { Jimp } from 'jimp';

const require = createRequire(import.meta.url);

/** A w×h RGBA gradient with blocks, so hashes and the model input are not trivial. */
export function gradient(width: number, height: number, alpha = false): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = (y * width + x) * 4;
      data[i] = (x * 255) / Math.max(1, width - 1);
      data[i + 1] = (y * 255) / Math.max(1, height - 1);
      data[i + 2] = ((x >> 3) + (y >> 3)) % 2 === 0 ? 200 : 40;
      data[i + 3] = alpha ? (x * 255) / Math.max(1, width - 1) : 255;
    }
  }
  return data;
}

export async function jpeg(width: number, height: number, quality = 85): Promise<Buffer> {
  return Jimp.fromBitmap({ data: gradient(width, height), width, height }).getBuffer('image/jpeg', { quality });
}

/** Noise compresses badly: a JPEG of this size at quality 100 is several megabytes. */
export async function noisyJpeg(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 4);
  let seed = 12345;
  for (let i = 0; i < data.length; i += 1) {
    seed = (seed * 1_103_515_245 + 12_345) >>> 0;
    data[i] = i % 4 === 3 ? 255 : seed >>> 24;
  }
  return Jimp.fromBitmap({ data, width, height }).getBuffer('image/jpeg', { quality: 100 });
}

export async function gif(width: number, height: number): Promise<Buffer> {
  return Jimp.fromBitmap({ data: gradient(width, height), width, height }).getBuffer('image/gif');
}

export async function bmp(width: number, height: number): Promise<Buffer> {
  return Jimp.fromBitmap({ data: gradient(width, height), width, height }).getBuffer('image/bmp');
}

export async function tiff(width: number, height: number): Promise<Buffer> {
  return Jimp.fromBitmap({ data: gradient(width, height), width, height }).getBuffer('image/tiff');
}

// Node has WebAssembly as a global; the project's TypeScript libs (no DOM) declare only its types.
const wasmRuntime = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }).WebAssembly;
type EncoderInput = Parameters<typeof encodeWebp>[0];

let encodersReady: Promise<void> | undefined;
function wasmEncoders(): Promise<void> {
  const load = (specifier: string) => wasmRuntime.compile(readFileSync(require.resolve(specifier)));
  encodersReady ??= (async () => {
    await initWebpEncoder(await load('@jsquash/webp/codec/enc/webp_enc.wasm'));
    await initAvifEncoder(await load('@jsquash/avif/codec/enc/avif_enc.wasm'));
  })();
  return encodersReady;
}

function imageData(width: number, height: number, alpha: boolean): EncoderInput {
  return { data: new Uint8ClampedArray(gradient(width, height, alpha)), width, height, colorSpace: 'srgb' } as EncoderInput;
}

export async function webp(width: number, height: number, options: { lossless?: boolean; alpha?: boolean } = {}): Promise<Buffer> {
  await wasmEncoders();
  return Buffer.from(await encodeWebp(imageData(width, height, options.alpha ?? false), { quality: 80, lossless: options.lossless ? 1 : 0 }));
}

export async function avif(width: number, height: number): Promise<Buffer> {
  await wasmEncoders();
  return Buffer.from(await encodeAvif(imageData(width, height, false), { speed: 10, cqLevel: 30 }));
}

// ---- hand-built bytes ----

function segment(marker: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xff00 | marker, 0);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** One-symbol Huffman tables (category 0 DC, EOB AC): every 8×8 block of every component is a flat mid-grey. */
function flatJpegTables(): Buffer[] {
  const quant = segment(0xdb, Buffer.concat([Buffer.from([0x00]), Buffer.alloc(64, 1)]));
  const oneSymbol = (tableClassAndId: number) => segment(0xc4, Buffer.from([tableClassAndId, 1, ...Array<number>(15).fill(0), 0x00]));
  return [quant, oneSymbol(0x00), oneSymbol(0x10)];
}

function frame(marker: number, width: number, height: number, components: number): Buffer {
  const body = Buffer.alloc(6 + components * 3);
  body[0] = 8;
  body.writeUInt16BE(height, 1);
  body.writeUInt16BE(width, 3);
  body[5] = components;
  for (let c = 0; c < components; c += 1) body.set([c + 1, 0x11, 0], 6 + c * 3);
  return segment(marker, body);
}

function scanHeader(componentIds: number[], ss: number, se: number): Buffer {
  return segment(0xda, Buffer.from([componentIds.length, ...componentIds.flatMap((id) => [id, 0x00]), ss, se, 0x00]));
}

/** Packs one bit per (block, component) as `0` codes, padded with 1s to a byte boundary. */
function zeroCodes(bits: number): Buffer {
  const bytes = Buffer.alloc(Math.ceil(bits / 8), 0);
  const padding = bytes.length * 8 - bits;
  if (padding > 0) bytes[bytes.length - 1] = (1 << padding) - 1;
  return bytes;
}

const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);

/** A baseline CMYK JPEG (Adobe APP14, transform 0), 8×8 per block, as print workflows and some catalogues export. */
export function cmykJpeg(width = 16, height = 16): Buffer {
  const adobe = segment(0xee, Buffer.from([...Buffer.from('Adobe'), 0, 100, 0, 0, 0, 0, 0]));
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  // Baseline: per block, per component, a DC code and an EOB code.
  return Buffer.concat([SOI, adobe, ...flatJpegTables(), frame(0xc0, width, height, 4), scanHeader([1, 2, 3, 4], 0, 63), zeroCodes(blocks * 4 * 2), EOI]);
}

/** A progressive JPEG (SOF2): one interleaved DC scan, then one AC scan per component. */
export function progressiveJpeg(width = 16, height = 16): Buffer {
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const acScans = [1, 2, 3].flatMap((id) => [scanHeader([id], 1, 63), zeroCodes(blocks)]);
  return Buffer.concat([SOI, ...flatJpegTables(), frame(0xc2, width, height, 3), scanHeader([1, 2, 3], 0, 0), zeroCodes(blocks * 3), ...acScans, EOI]);
}

/** `jpeg` with an EXIF APP1 segment carrying the orientation (1–8) right after SOI. */
export function withExifOrientation(jpegBytes: Buffer, orientation: number): Buffer {
  const tiffHeader = Buffer.alloc(8 + 2 + 12 + 4);
  tiffHeader.write('MM', 0, 'latin1');
  tiffHeader.writeUInt16BE(42, 2);
  tiffHeader.writeUInt32BE(8, 4);
  tiffHeader.writeUInt16BE(1, 8); // one IFD entry
  tiffHeader.writeUInt16BE(0x0112, 10);
  tiffHeader.writeUInt16BE(3, 12); // SHORT
  tiffHeader.writeUInt32BE(1, 14);
  tiffHeader.writeUInt16BE(orientation, 18);
  const app1 = segment(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiffHeader]));
  return Buffer.concat([jpegBytes.subarray(0, 2), app1, jpegBytes.subarray(2)]);
}

/** The same JPEG with its frame header declaring other dimensions: a pixel bomb that costs nothing to build. */
export function jpegDeclaring(jpegBytes: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(jpegBytes);
  for (let pos = 2; pos + 4 <= copy.length; pos += 2 + copy.readUInt16BE(pos + 2)) {
    const marker = copy[pos + 1] ?? 0;
    if (marker >= 0xc0 && marker <= 0xc2) {
      copy.writeUInt16BE(height, pos + 5);
      copy.writeUInt16BE(width, pos + 7);
      return copy;
    }
  }
  throw new Error('no SOF segment');
}

function pngChunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A PNG of any colour type and depth; `row(y)` gives the unfiltered bytes of one scanline. */
export function png(options: {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 8 | 16;
  row: (y: number) => Buffer;
  palette?: Buffer;
}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(options.width, 0);
  ihdr.writeUInt32BE(options.height, 4);
  ihdr.set([options.bitDepth, options.colorType, 0, 0, 0], 8);
  const raw = Buffer.concat(Array.from({ length: options.height }, (_, y) => Buffer.concat([Buffer.from([0]), options.row(y)])));
  const chunks = [pngChunk('IHDR', ihdr)];
  if (options.palette !== undefined) chunks.push(pngChunk('PLTE', options.palette));
  chunks.push(pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat([PNG_SIGNATURE, ...chunks]);
}

export function palettePng(width: number, height: number): Buffer {
  const palette = Buffer.from([255, 0, 0, 0, 128, 0, 0, 0, 255, 240, 240, 240]);
  return png({ width, height, colorType: 3, bitDepth: 8, palette, row: (y) => Buffer.from(Array.from({ length: width }, (_, x) => (x + y) % 4)) });
}

export function sixteenBitPng(width: number, height: number): Buffer {
  return png({
    width,
    height,
    colorType: 2,
    bitDepth: 16,
    row: (y) => {
      const line = Buffer.alloc(width * 6);
      for (let x = 0; x < width; x += 1) {
        line.writeUInt16BE(Math.floor((x * 65535) / width), x * 6);
        line.writeUInt16BE(Math.floor((y * 65535) / height), x * 6 + 2);
        line.writeUInt16BE(30000, x * 6 + 4);
      }
      return line;
    },
  });
}

export function alphaPng(width: number, height: number): Buffer {
  const data = gradient(width, height, true);
  return png({ width, height, colorType: 6, bitDepth: 8, row: (y) => data.subarray(y * width * 4, (y + 1) * width * 4) });
}

/** A valid 1×1 PNG whose IHDR (CRC recomputed) then claims `width`×`height`. */
export function pngDeclaring(width: number, height: number): Buffer {
  const small = png({ width: 1, height: 1, colorType: 2, bitDepth: 8, row: () => Buffer.from([1, 2, 3]) });
  const copy = Buffer.from(small);
  copy.writeUInt32BE(width, 16);
  copy.writeUInt32BE(height, 20);
  copy.writeUInt32BE(crc32(copy.subarray(12, 29)) >>> 0, 29);
  return copy;
}

/** An extended WebP header (VP8X) declaring a canvas of `width`×`height`, then a tiny lossy bitstream. */
export async function webpDeclaring(width: number, height: number): Promise<Buffer> {
  const small = await webp(16, 16);
  const vp8x = Buffer.alloc(18);
  vp8x.write('VP8X', 0, 'latin1');
  vp8x.writeUInt32LE(10, 4);
  vp8x.writeUIntLE(width - 1, 12, 3);
  vp8x.writeUIntLE(height - 1, 15, 3);
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), vp8x, small.subarray(12)]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

/** A GIF whose logical screen (or, with `frameOnly`, whose first frame) declares `width`×`height`. */
export async function gifDeclaring(width: number, height: number, frameOnly = false): Promise<Buffer> {
  const copy = Buffer.from(await gif(4, 4));
  if (!frameOnly) {
    copy.writeUInt16LE(width, 6);
    copy.writeUInt16LE(height, 8);
    return copy;
  }
  const packed = copy[10]!;
  let pos = 13 + ((packed & 0x80) !== 0 ? 3 * 2 ** ((packed & 0x07) + 1) : 0);
  while (copy[pos] === 0x21) {
    pos += 2;
    while (copy[pos] !== 0) pos += 1 + copy[pos]!;
    pos += 1;
  }
  copy.writeUInt16LE(width, pos + 5);
  copy.writeUInt16LE(height, pos + 7);
  return copy;
}

/** The start of an iPhone HEIC: an `ftyp` box with major brand heic (no decoder is asked to go further). */
export function heicHeader(): Buffer {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftypheic', 4, 'latin1');
  ftyp.write('mif1heic', 16, 'latin1');
  return Buffer.concat([ftyp, Buffer.alloc(64)]);
}
