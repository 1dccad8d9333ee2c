/**
 * A deterministic image set: seeded gradients with coloured blocks and mild noise, JPEG-encoded by jimp. Every image
 * differs in layout (so the perceptual-hash duplicate check keeps them apart) and compresses like a photo, not like
 * pure noise.
 */
import { Jimp } from 'jimp';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mulberry32 } from '../test/support/random';

export interface BenchImage {
  file: string;
  path: string;
  width: number;
  height: number;
  bytes: number;
}

/** The tests' seeded PRNG: the same images on every machine and run. */
const random = mulberry32;

export async function syntheticJpeg(width: number, height: number, seed: number): Promise<Buffer> {
  const next = random(seed);
  const image = new Jimp({ width, height, color: 0xffffffff });
  const data = image.bitmap.data;
  const [r0, g0, b0, r1, g1, b1] = Array.from({ length: 6 }, () => next() * 255);
  const blocks = Array.from({ length: 6 }, () => ({
    x: next() * width,
    y: next() * height,
    w: (0.1 + next() * 0.4) * width,
    h: (0.1 + next() * 0.4) * height,
    c: [next() * 255, next() * 255, next() * 255],
  }));
  let noise = seed >>> 0;
  for (let y = 0; y < height; y += 1) {
    const v = y / height;
    for (let x = 0; x < width; x += 1) {
      const u = x / width;
      const block = blocks.find((b) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h);
      // A cheap LCG for per-pixel grain: the seeded PRNG per pixel would dominate generation time.
      noise = (Math.imul(noise, 1664525) + 1013904223) >>> 0;
      const grain = ((noise >>> 24) - 128) / 16;
      const i = (y * width + x) * 4;
      data[i] = clamp((block?.c[0] ?? r0! * (1 - u) + r1! * u) + grain);
      data[i + 1] = clamp((block?.c[1] ?? g0! * (1 - v) + g1! * v) + grain);
      data[i + 2] = clamp((block?.c[2] ?? b0! * (1 - u * v) + b1! * u * v) + grain);
      data[i + 3] = 255;
    }
  }
  return image.getBuffer('image/jpeg', { quality: 85 });
}

function clamp(value: number): number {
  return Math.max(0, Math.min(255, Math.round(value)));
}

/** `small` images around 1 MP (1152×864) and the given large sizes (megapixels, 4:3), written under `dir`. */
export async function generateImageSet(
  dir: string,
  small: number,
  largeMegapixels: readonly number[],
  onProgress: (done: number, total: number) => void,
): Promise<BenchImage[]> {
  const sizes = [
    ...Array.from({ length: small }, () => ({ width: 1152, height: 864 })),
    ...largeMegapixels.map((mp) => {
      const width = Math.round(Math.sqrt((mp * 1e6 * 4) / 3));
      return { width, height: Math.round((width * 3) / 4) };
    }),
  ];
  const images: BenchImage[] = [];
  for (const [index, size] of sizes.entries()) {
    const bytes = await syntheticJpeg(size.width, size.height, 1000 + index);
    const file = `img-${String(index).padStart(4, '0')}.jpg`;
    await writeFile(path.join(dir, file), bytes);
    images.push({ file, path: path.join(dir, file), ...size, bytes: bytes.byteLength });
    onProgress(index + 1, sizes.length);
  }
  return images;
}
