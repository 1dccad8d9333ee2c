/**
 * Image preprocessing: header inspection, guarded decode, hashes and the downscaled JPEG the models see.
 *
 * Formats (README "Image formats"): JPEG, PNG, WebP, AVIF, GIF (first frame) and BMP are decoded; HEIC/HEIF is
 * refused with its own code (UNSUPPORTED_FORMAT_HEIC: no decoder ships for it, and the message says how to convert);
 * TIFF and everything else is UNSUPPORTED_FORMAT. The format comes from the magic bytes, never the file name, and
 * every accepted format passes the same pixel guard, from its header, before any decoder sees it.
 *
 * Orientation is applied here rather than by jimp: jimp 1.6.1 auto-rotates JPEGs from EXIF inside `fromBuffer`, but
 * only when its own EXIF parser succeeds, silently. We strip the EXIF segment before decoding and apply the
 * orientation read from the header ourselves, so the result does not depend on jimp's behaviour or version.
 */
export { hammingDistance } from './perceptual-hash';
import { createHash } from 'node:crypto';
import { imageSize } from 'image-size';
import { Jimp } from 'jimp';
import { decodeWithWasm } from './image-codecs';

export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'gif', 'bmp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];
export type ImageProblem = 'UNSUPPORTED_FORMAT' | 'UNSUPPORTED_FORMAT_HEIC' | 'CORRUPT_IMAGE' | 'IMAGE_TOO_LARGE' | 'EMPTY_FILE';

/** Dimensions as stored in the file, before EXIF orientation; `orientation` (1–8) is given for JPEGs that carry it. */
export type ImageHeader = { format: ImageFormat; width: number; height: number; orientation?: number };

export interface PreprocessOptions {
  /**
   * Pixel-bomb guard, judged from the header before decoding; the decoder is configured from the same number
   * (`decoderOptions`), so whatever passes the guard decodes and nothing above it is ever decoded.
   */
  maxPixels?: number;
  /** Longest side of the model input; smaller images are never upscaled. */
  targetMaxSide?: number;
  jpegQuality?: number;
}

export type PreprocessResult =
  | {
      ok: true;
      format: ImageFormat;
      /** Of the original, upright (EXIF orientation applied). */
      width: number;
      height: number;
      /** Hex SHA-256 of the original bytes. */
      sha256: string;
      /** 64-bit dHash of the upright image (taken from the downscaled pixels) as 16 hex chars; see `hammingDistance`. */
      perceptualHash: string;
      /** Upright JPEG, longest side ≤ targetMaxSide, transparency flattened onto white. */
      modelInput: Buffer;
      modelInputWidth: number;
      modelInputHeight: number;
      /** Size of the original file. */
      bytes: number;
    }
  | { ok: false; problem: ImageProblem; detail: string };

/**
 * 36 MP: above common 24–33 MP camera output, and the largest whose worst-case decode (jpeg-js's own accounting for
 * four full-resolution components: ~1 GB) leaves the Preprocess function (2,048 MB) its headroom. Measured on a
 * 6000×6000 JPEG: see README "The batch contract".
 */
export const DEFAULT_PREPROCESS_OPTIONS: Readonly<Required<PreprocessOptions>> = Object.freeze({
  maxPixels: 36_000_000,
  targetMaxSide: 512,
  jpegQuality: 85,
});

const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** ISO-BMFF brands (ftyp) of AVIF, and of HEIF/HEIC as phones write it. */
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs', 'mif1', 'msf1']);

export const HEIC_ADVICE =
  'HEIC/HEIF (the iPhone camera format) is not accepted: export the photo as JPEG (on an iPhone: Settings › Camera › Formats › Most Compatible; on a Mac: Preview › File › Export › JPEG) and upload it again';

export function inspectImageHeader(bytes: Buffer): ImageHeader | { problem: ImageProblem } {
  const { header, problem } = inspect(bytes);
  return header ?? { problem: problem ?? 'CORRUPT_IMAGE' };
}

interface Inspection {
  header?: ImageHeader;
  /** For JPEGs, the bytes without EXIF segments (what gets decoded). */
  decodable?: Buffer;
  problem?: ImageProblem;
  detail?: string;
}

type Detected = { format: ImageFormat } | { problem: ImageProblem; detail: string };

/** Magic bytes, not the file name or image-size's guess: a GIF or text file named .jpg must not reach a JPEG decoder. */
function detectFormat(bytes: Buffer): Detected {
  if (startsWith(bytes, JPEG_MAGIC)) return { format: 'jpeg' };
  if (startsWith(bytes, PNG_MAGIC)) return { format: 'png' };
  const head = bytes.subarray(0, 12).toString('latin1');
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return { format: 'gif' };
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return { format: 'webp' };
  // BITMAPFILEHEADER then a DIB header of a known size (12, 40, 52, 56, 64, 108, 124): "BM" alone is too weak.
  if (head.startsWith('BM') && bytes.length >= 18 && [12, 40, 52, 56, 64, 108, 124].includes(bytes.readUInt32LE(14))) return { format: 'bmp' };
  if (head.slice(4, 8) === 'ftyp') {
    const brands = isoBrands(bytes);
    if (brands.some((brand) => AVIF_BRANDS.has(brand))) return { format: 'avif' };
    if (brands.some((brand) => HEIF_BRANDS.has(brand))) return { problem: 'UNSUPPORTED_FORMAT_HEIC', detail: HEIC_ADVICE };
    return {
      problem: 'UNSUPPORTED_FORMAT',
      detail: `the file is an ISO media file (brands ${brands.join(', ')}), not an image format this pipeline reads: convert it to JPEG`,
    };
  }
  if (head.startsWith('II*\0') || head.startsWith('MM\0*')) {
    return { problem: 'UNSUPPORTED_FORMAT', detail: 'TIFF is not accepted (multi-page and many compressions): convert it to JPEG or PNG' };
  }
  return { problem: 'UNSUPPORTED_FORMAT', detail: `the file is not a JPEG, PNG, WebP, AVIF, GIF or BMP (${describeMagic(bytes)})` };
}

/** The major and compatible brands of an ISO-BMFF `ftyp` box. */
function isoBrands(bytes: Buffer): string[] {
  const size = Math.min(bytes.length, bytes.readUInt32BE(0), 256);
  const brands = [bytes.subarray(8, 12).toString('latin1')];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(bytes.subarray(at, at + 4).toString('latin1'));
  return brands.map((brand) => brand.trim());
}

function inspect(bytes: Buffer): Inspection {
  if (bytes.length === 0) return { problem: 'EMPTY_FILE', detail: 'the file is zero bytes' };
  const detected = detectFormat(bytes);
  if ('problem' in detected) return detected;
  const { format } = detected;
  const name = format.toUpperCase();
  let size: ReturnType<typeof imageSize>;
  try {
    size = imageSize(bytes);
  } catch (error) {
    return { problem: 'CORRUPT_IMAGE', detail: `the ${name} header cannot be read (${(error as Error).message})` };
  }
  if (!(size.width > 0 && size.height > 0)) {
    return { problem: 'CORRUPT_IMAGE', detail: `the ${name} header declares no dimensions` };
  }
  const header: ImageHeader = { format, width: size.width, height: size.height };
  if (format === 'gif') {
    // jimp decodes frame 0 into a canvas of the logical screen; the frame's own size is allocated too, so both count.
    const frame = firstGifFrame(bytes);
    if (frame === undefined) return { problem: 'CORRUPT_IMAGE', detail: 'the GIF has no readable first frame' };
    header.width = Math.max(header.width, frame.width);
    header.height = Math.max(header.height, frame.height);
  }
  if (format !== 'jpeg') return { header, decodable: bytes };

  const metadata = scanJpegMetadata(bytes);
  // Without a clean marker walk we could not be sure jimp will not rotate a second time.
  if (metadata === undefined) return { problem: 'CORRUPT_IMAGE', detail: 'the JPEG marker segments are malformed' };
  if (metadata.frame !== undefined && !(metadata.frame.width > 0 && metadata.frame.height > 0)) {
    return { problem: 'CORRUPT_IMAGE', detail: 'the JPEG frame declares no dimensions' };
  }
  if (metadata.frame !== undefined) {
    // The frame jpeg-js will decode is the one the pixel guard must judge, whatever image-size reported.
    header.width = metadata.frame.width;
    header.height = metadata.frame.height;
  }
  if (metadata.orientation !== undefined) header.orientation = metadata.orientation;
  return { header, decodable: metadata.withoutExif };
}

/** The first image descriptor's size (after the header, colour table and extension blocks); undefined if malformed. */
function firstGifFrame(gif: Buffer): { width: number; height: number } | undefined {
  if (gif.length < 13) return undefined;
  const packed = gif[10]!;
  let pos = 13 + ((packed & 0x80) !== 0 ? 3 * 2 ** ((packed & 0x07) + 1) : 0);
  while (pos < gif.length) {
    const block = gif[pos];
    if (block === 0x2c) {
      if (pos + 9 > gif.length) return undefined;
      return { width: gif.readUInt16LE(pos + 5), height: gif.readUInt16LE(pos + 7) };
    }
    if (block !== 0x21) return undefined; // the trailer (0x3b) or garbage: no frame
    pos += 2; // introducer and label, then data sub-blocks until a zero-length one
    while (pos < gif.length && gif[pos] !== 0) pos += 1 + gif[pos]!;
    pos += 1;
  }
  return undefined;
}

/** Decodes with jimp's own decoders, or the WASM codecs for WebP and AVIF (image-codecs.ts). */
async function decode(format: ImageFormat, decodable: Buffer, maxPixels: number): Promise<JimpImage> {
  if (format === 'webp' || format === 'avif') return Jimp.fromBitmap(await decodeWithWasm(format, decodable)) as JimpImage;
  return Jimp.fromBuffer(decodable, decoderOptions(maxPixels));
}

export async function preprocessImage(bytes: Buffer, options?: PreprocessOptions): Promise<PreprocessResult> {
  const { maxPixels, targetMaxSide, jpegQuality } = { ...DEFAULT_PREPROCESS_OPTIONS, ...definedOnly(options) };
  const inspected = inspect(bytes);
  const { header, decodable } = inspected;
  if (header === undefined || decodable === undefined) {
    return { ok: false, problem: inspected.problem ?? 'CORRUPT_IMAGE', detail: inspected.detail ?? 'unreadable image' };
  }
  const pixels = header.width * header.height;
  if (pixels > maxPixels) {
    return {
      ok: false,
      problem: 'IMAGE_TOO_LARGE',
      detail: `${header.width}x${header.height} is ${(pixels / 1e6).toFixed(1)} megapixels, above the ${(maxPixels / 1e6).toFixed(1)} megapixel limit`,
    };
  }

  let image: JimpImage;
  try {
    image = await decode(header.format, decodable, maxPixels);
  } catch (error) {
    const message = (error as Error).message;
    if (/maxResolutionInMP|maxMemoryUsageInMB/.test(message)) {
      return { ok: false, problem: 'IMAGE_TOO_LARGE', detail: `the decoder refused the image (${message})` };
    }
    return { ok: false, problem: 'CORRUPT_IMAGE', detail: `the ${header.format.toUpperCase()} data cannot be decoded (${message})` };
  }

  const orientation = header.orientation ?? 1;
  const swaps = orientation >= 5;
  const width = swaps ? image.bitmap.height : image.bitmap.width;
  const height = swaps ? image.bitmap.width : image.bitmap.height;

  // Downscale before orienting and hashing: both are then done on at most targetMaxSide² pixels.
  const scale = Math.min(1, targetMaxSide / Math.max(image.bitmap.width, image.bitmap.height));
  if (scale < 1) {
    image.resize({
      w: Math.max(1, Math.round(image.bitmap.width * scale)),
      h: Math.max(1, Math.round(image.bitmap.height * scale)),
    });
  }
  applyOrientation(image, orientation);
  flattenOntoWhite(image.bitmap);

  const perceptualHash = differenceHash(image.bitmap);
  const modelInput = await image.getBuffer('image/jpeg', { quality: jpegQuality });
  return {
    ok: true,
    format: header.format,
    width,
    height,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    perceptualHash,
    modelInput,
    modelInputWidth: image.bitmap.width,
    modelInputHeight: image.bitmap.height,
    bytes: bytes.length,
  };
}

function startsWith(bytes: Buffer, magic: Buffer): boolean {
  return bytes.length >= magic.length && bytes.subarray(0, magic.length).equals(magic);
}

function describeMagic(bytes: Buffer): string {
  const head = bytes.subarray(0, 12);
  if (head.subarray(0, 5).toString('latin1') === '%PDF-') return 'it is a PDF';
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return 'it is a zip archive';
  return `it starts with bytes ${head.subarray(0, 8).toString('hex')}`;
}

function definedOnly(options: PreprocessOptions | undefined): PreprocessOptions {
  return Object.fromEntries(Object.entries(options ?? {}).filter(([, value]) => value !== undefined));
}

const MiB = 1024 * 1024;
/** JPEG frames are at most 65,535 pixels on a side. */
const JPEG_MAX_SIDE = 65_535;

/**
 * What jimp 1.6.1 is told, so that it decodes exactly what the header guard lets through. JPEG goes to jpeg-js 0.4.4,
 * which refuses a frame above `maxResolutionInMP` (from its SOF, before any scan) and counts its allocations against
 * `maxMemoryUsageInMB` (default 512 MB, which would refuse a 4:4:4 JPEG above ~24 MP after seconds of decoding).
 * Its accounting, per component: 256 bytes per 8×8 coefficient block (padded to whole MCUs), one byte per sample for
 * the component's lines; then one byte per pixel per component for colour conversion, and 4 per pixel for the RGBA
 * output. The budget is that sum for the worst layout (4 components at full resolution, MCUs of 32×32 on an extreme
 * aspect ratio) at `maxPixels`, plus 1 MiB for tables, so no image within the guard is refused for memory.
 * PNG goes to pngjs 7, which has no size option: the header guard alone bounds it (≤ ~16 bytes per pixel).
 */
export function decoderOptions(maxPixels: number): { 'image/jpeg': { maxResolutionInMP: number; maxMemoryUsageInMB: number } } {
  const longSide = JPEG_MAX_SIDE;
  const shortSide = Math.ceil(maxPixels / longSide);
  const mcuPadded = maxPixels + 31 * (longSide + shortSide) + 31 * 31;
  const components = 4;
  const bytes = components * (256 / 64 + 1) * mcuPadded + components * maxPixels + 4 * maxPixels + MiB;
  return { 'image/jpeg': { maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: Math.ceil(bytes / MiB) } };
}

/**
 * Walks the JPEG marker segments up to the scan: the orientation of the first EXIF segment (the one the Exif spec
 * places after SOI; image-size would report the last one), and a copy without any APP1 "Exif" segment (ICC, XMP and
 * the rest are kept). Undefined when the segments cannot be walked.
 */
function scanJpegMetadata(jpeg: Buffer): { orientation?: number; frame?: { width: number; height: number }; withoutExif: Buffer } | undefined {
  const kept: Buffer[] = [];
  let orientation: number | undefined;
  let frame: { width: number; height: number } | undefined;
  let sawExif = false;
  let keepFrom = 0;
  let pos = 2; // after SOI
  for (;;) {
    if (pos + 2 > jpeg.length || jpeg[pos] !== 0xff) return undefined;
    const marker = jpeg[pos + 1] ?? 0;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // start of scan / end of image: no more metadata
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      pos += 2; // standalone markers carry no length
      continue;
    }
    if (pos + 4 > jpeg.length) return undefined;
    const length = jpeg.readUInt16BE(pos + 2);
    const end = pos + 2 + length;
    if (length < 2 || end > jpeg.length) return undefined;
    // SOF0–SOF2, the frames jpeg-js decodes: P (height) at +5, X (width) at +7.
    if (marker >= 0xc0 && marker <= 0xc2 && frame === undefined && length >= 8) {
      frame = { height: jpeg.readUInt16BE(pos + 5), width: jpeg.readUInt16BE(pos + 7) };
    }
    if (marker === 0xe1 && jpeg.subarray(pos + 4, pos + 10).toString('latin1') === 'Exif\0\0') {
      if (!sawExif) orientation = readTiffOrientation(jpeg.subarray(pos + 10, end));
      sawExif = true;
      kept.push(jpeg.subarray(keepFrom, pos));
      keepFrom = end;
    }
    pos = end;
  }
  if (!sawExif) return { frame, withoutExif: jpeg };
  kept.push(jpeg.subarray(keepFrom));
  return { orientation, frame, withoutExif: Buffer.concat(kept) };
}

/** IFD0 Orientation (tag 0x0112, one SHORT) of a TIFF structure; undefined when absent, malformed or out of range. */
function readTiffOrientation(tiff: Buffer): number | undefined {
  if (tiff.length < 8) return undefined;
  const order = tiff.subarray(0, 2).toString('latin1');
  if (order !== 'II' && order !== 'MM') return undefined;
  const little = order === 'II';
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return undefined;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const at = ifd + 2 + i * 12;
    if (at + 12 > tiff.length) return undefined;
    if (u16(at) !== 0x0112) continue;
    if (u16(at + 2) !== 3 || u32(at + 4) !== 1) return undefined;
    const value = u16(at + 8);
    return value >= 1 && value <= 8 ? value : undefined;
  }
  return undefined;
}

type JimpImage = Awaited<ReturnType<typeof Jimp.fromBuffer>>;

/** EXIF orientation 1–8 to upright. jimp's `rotate` turns counter-clockwise for positive degrees. */
function applyOrientation(image: JimpImage, orientation: number): void {
  switch (orientation) {
    case 2:
      image.flip({ horizontal: true });
      break;
    case 3:
      image.rotate(180);
      break;
    case 4:
      image.flip({ vertical: true });
      break;
    case 5: // transpose
      image.rotate(-90).flip({ horizontal: true });
      break;
    case 6:
      image.rotate(-90);
      break;
    case 7: // transverse
      image.rotate(-90).flip({ vertical: true });
      break;
    case 8:
      image.rotate(90);
      break;
    default:
      break;
  }
}

interface Bitmap {
  data: Buffer;
  width: number;
  height: number;
}

/** JPEG has no alpha and jpeg-js would turn transparent pixels into their (often black) RGB. */
function flattenOntoWhite(bitmap: Bitmap): void {
  const data = bitmap.data;
  for (let i = 0; i < data.length; i += 4) {
    const alpha = data[i + 3] ?? 255;
    if (alpha === 255) continue;
    const a = alpha / 255;
    for (let c = 0; c < 3; c++) data[i + c] = Math.round((data[i + c] ?? 0) * a + 255 * (1 - a));
    data[i + 3] = 255;
  }
}

/**
 * dHash: luminance averaged over a 9x8 grid of cells (area averaging rather than point sampling, so re-encoding noise
 * barely moves it), then one bit per horizontally adjacent pair: 1 when the left cell is brighter.
 */
function differenceHash(bitmap: Bitmap): string {
  const { data, width, height } = bitmap;
  const cols = 9;
  const rows = 8;
  const cells = new Float64Array(cols * rows);
  for (let row = 0; row < rows; row++) {
    const y0 = Math.floor((row * height) / rows);
    const y1 = Math.max(y0 + 1, Math.floor(((row + 1) * height) / rows));
    for (let col = 0; col < cols; col++) {
      const x0 = Math.floor((col * width) / cols);
      const x1 = Math.max(x0 + 1, Math.floor(((col + 1) * width) / cols));
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y * width + x) * 4;
          sum += 0.299 * (data[i] ?? 0) + 0.587 * (data[i + 1] ?? 0) + 0.114 * (data[i + 2] ?? 0);
        }
      }
      cells[row * cols + col] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  let hex = '';
  for (let row = 0; row < rows; row++) {
    for (let half = 0; half < 2; half++) {
      let nibble = 0;
      for (let bit = 0; bit < 4; bit++) {
        const col = half * 4 + bit;
        const left = cells[row * cols + col] ?? 0;
        const right = cells[row * cols + col + 1] ?? 0;
        nibble = (nibble << 1) | (left > right ? 1 : 0);
      }
      hex += nibble.toString(16);
    }
  }
  return hex;
}

/**
 * Shrinks a JPEG model input until it fits `maxBytes` (SageMaker payload limits: 4 MB serverless, 6 MB real-time,
 * less the request's own overhead), lowering size first and quality after. Returns the input untouched when it
 * already fits; throws when even a small version does not.
 */
export async function fitToPayload(jpeg: Buffer, maxBytes: number): Promise<{ bytes: Buffer; width: number; height: number; resized: boolean }> {
  const header = imageSize(jpeg);
  if (jpeg.byteLength <= maxBytes) return { bytes: jpeg, width: header.width, height: header.height, resized: false };
  const image = await Jimp.fromBuffer(jpeg);
  let quality = 85;
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const scale = Math.sqrt(maxBytes / jpeg.byteLength) * 0.9 ** attempt;
    const width = Math.max(32, Math.round(header.width * Math.min(1, scale)));
    const resized = image.clone().resize({ w: width });
    const bytes = await resized.getBuffer('image/jpeg', { quality });
    if (bytes.byteLength <= maxBytes) return { bytes, width: resized.width, height: resized.height, resized: true };
    quality = Math.max(40, quality - 10);
  }
  throw new PayloadFitError(maxBytes);
}

export class PayloadFitError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the model input cannot be made to fit the endpoint's ${maxBytes}-byte payload limit`);
    this.name = 'PayloadFitError';
  }
}
