/**
 * The bad-input corpus: every kind of input a merchant's upload can hold, generated in memory, each with what the
 * pipeline must make of it. Asset-level kinds are independent of each other, so they share one archive (one run);
 * batch-level kinds (and manifests, of which an archive holds one) get an archive each.
 */
import { stringify } from 'csv-stringify/sync';
import { crc32 } from 'node:zlib';
import { Jimp } from 'jimp';
import type { ReasonCode } from '../../lambdas/core/outcomes';
import type { AssetRecord } from '../../lambdas/core/records';
import * as image from './image-bytes';
import { craftZip, deflatedZeros, zipOf, type ZipEntry } from './zip-writer';

export const COLUMNS = ['asset_id', 'file', 'merchant_id', 'declared_category', 'title', 'description', 'price', 'currency'] as const;
export type Row = Partial<Record<(typeof COLUMNS)[number], string>> & Record<string, string>;

/** `accepted`: decoded and triaged (any of AUTO_PASS, NEEDS_REVIEW, FLAGGED); else REJECTED_INPUT with `reason`. */
export interface AssetExpectation {
  kind: string;
  /** The record: a row by its manifest row number, or an archive file no row names by its key (`file:<path>`). */
  rowNumber?: number;
  /** The row's asset_id as written (for the reader; an id over its limit is stored cut). */
  assetId?: string;
  orphanKey?: string;
  accepted?: true;
  reason?: ReasonCode;
  /** The explanation must say this (a clear message, not only a code). */
  says?: RegExp;
  check?: (record: AssetRecord) => void;
}

export interface MixedBatch {
  archive: Buffer;
  rows: number;
  expectations: AssetExpectation[];
}

const MERCHANT = 'm-corpus';

function row(assetId: string, file: string, extra: Row = {}): Row {
  return { asset_id: assetId, file, merchant_id: MERCHANT, declared_category: 'Boats', title: `Listing ${assetId}`, ...extra };
}

/**
 * One archive, every asset-level kind: images of every format and defect, archive entries of every unsafe kind, and
 * manifest rows of every malformed kind. Each expectation names its record.
 */
export async function mixedBatch(): Promise<MixedBatch> {
  const entries: ZipEntry[] = [];
  const rows: Row[] = [];
  const expectations: AssetExpectation[] = [];
  const add = (name: string, data: Buffer, options: Partial<ZipEntry> = {}) => entries.push({ name, data, ...options });
  /** A row naming a file (added to the archive when `data` is given), with what its record must be. */
  const asset = (expectation: Omit<AssetExpectation, 'assetId'> & { id: string; file: string; data?: Buffer; row?: Row }) => {
    const { id, file, data, row: extra, ...rest } = expectation;
    if (data !== undefined) add(file, data);
    rows.push(row(id, file, extra));
    expectations.push({ ...rest, assetId: id, rowNumber: rows.length });
  };

  const photo = await image.jpeg(96, 64);
  const png = await Jimp.fromBitmap({ data: image.gradient(80, 60), width: 80, height: 60 }).getBuffer('image/png');

  // ---- images: formats ----
  asset({ kind: 'baseline JPEG', id: 'img-jpeg', file: 'images/photo.jpg', data: photo, accepted: true });
  asset({ kind: 'PNG', id: 'img-png', file: 'images/photo.png', data: png, accepted: true });
  asset({ kind: 'CMYK JPEG (Adobe, 4 components)', id: 'img-cmyk', file: 'images/cmyk.jpg', data: image.cmykJpeg(), accepted: true });
  asset({ kind: 'progressive JPEG', id: 'img-progressive', file: 'images/progressive.jpg', data: image.progressiveJpeg(), accepted: true });
  asset({ kind: '16-bit PNG', id: 'img-png16', file: 'images/deep.png', data: image.sixteenBitPng(40, 30), accepted: true });
  asset({ kind: 'palette PNG', id: 'img-palette', file: 'images/palette.png', data: image.palettePng(40, 30), accepted: true });
  asset({ kind: 'PNG with alpha', id: 'img-alpha', file: 'images/alpha.png', data: image.alphaPng(40, 30), accepted: true });
  asset({
    kind: 'WebP (lossy)',
    id: 'img-webp',
    file: 'images/photo.webp',
    data: await image.webp(96, 64),
    accepted: true,
    check: (r) => expectFormat(r, 'webp', 96, 64),
  });
  asset({
    kind: 'WebP (lossless, alpha)',
    id: 'img-webp-lossless',
    file: 'images/alpha.webp',
    data: await image.webp(64, 48, { lossless: true, alpha: true }),
    accepted: true,
    check: (r) => expectFormat(r, 'webp', 64, 48),
  });
  asset({
    kind: 'AVIF',
    id: 'img-avif',
    file: 'images/photo.avif',
    data: await image.avif(64, 48),
    accepted: true,
    check: (r) => expectFormat(r, 'avif', 64, 48),
  });
  asset({
    kind: 'GIF (first frame)',
    id: 'img-gif',
    file: 'images/photo.gif',
    data: await image.gif(64, 48),
    accepted: true,
    check: (r) => expectFormat(r, 'gif', 64, 48),
  });
  asset({ kind: 'BMP', id: 'img-bmp', file: 'images/photo.bmp', data: await image.bmp(64, 48), accepted: true, check: (r) => expectFormat(r, 'bmp', 64, 48) });
  asset({
    kind: 'HEIC',
    id: 'img-heic',
    file: 'images/IMG_0001.HEIC',
    data: image.heicHeader(),
    reason: 'UNSUPPORTED_FORMAT_HEIC',
    says: /export the photo as JPEG/,
  });
  asset({
    kind: 'TIFF',
    id: 'img-tiff',
    file: 'images/scan.tiff',
    data: await image.tiff(32, 32),
    reason: 'UNSUPPORTED_FORMAT',
    says: /TIFF is not accepted.*convert it to JPEG or PNG/,
  });
  asset({
    kind: 'wrong extension (PNG named .jpg)',
    id: 'img-wrong-ext',
    file: 'images/really-png.jpg',
    data: png,
    accepted: true,
    check: (r) => expectFormat(r, 'png', 80, 60),
  });
  asset({
    kind: 'text file named .jpg',
    id: 'img-text',
    file: 'images/notes.jpg',
    data: Buffer.from('not an image at all\n'),
    reason: 'UNSUPPORTED_FORMAT',
    says: /not a JPEG, PNG, WebP, AVIF, GIF or BMP/,
  });
  asset({
    kind: 'nested archive',
    id: 'img-nested-zip',
    file: 'images/more.zip',
    data: zipOf({ 'inner.jpg': photo }),
    reason: 'UNSUPPORTED_FORMAT',
    says: /zip archive/,
  });

  // ---- images: defects ----
  asset({ kind: 'zero-byte JPEG', id: 'img-empty-jpeg', file: 'images/empty.jpg', data: Buffer.alloc(0), reason: 'EMPTY_FILE', says: /zero bytes/ });
  asset({ kind: 'zero-byte PNG', id: 'img-empty-png', file: 'images/empty.png', data: Buffer.alloc(0), reason: 'EMPTY_FILE', says: /zero bytes/ });
  asset({
    kind: 'truncated JPEG',
    id: 'img-trunc-jpeg',
    file: 'images/trunc.jpg',
    data: photo.subarray(0, photo.length >> 1),
    reason: 'CORRUPT_IMAGE',
    says: /cannot be/,
  });
  asset({ kind: 'truncated PNG', id: 'img-trunc-png', file: 'images/trunc.png', data: png.subarray(0, 40), reason: 'CORRUPT_IMAGE', says: /cannot be/ });
  asset({
    kind: 'corrupt JPEG (garbage after the header)',
    id: 'img-corrupt-jpeg',
    file: 'images/garbled.jpg',
    data: garble(photo, 0x180),
    reason: 'CORRUPT_IMAGE',
  });
  asset({ kind: 'corrupt PNG (garbage IDAT)', id: 'img-corrupt-png', file: 'images/garbled.png', data: garble(png, 60), reason: 'CORRUPT_IMAGE' });
  asset({
    kind: 'JPEG pixel bomb (50k×50k declared)',
    id: 'bomb-jpeg',
    file: 'images/bomb.jpg',
    data: image.jpegDeclaring(photo, 50_000, 50_000),
    reason: 'IMAGE_TOO_LARGE',
    says: /50000x50000 is 2500\.0 megapixels/,
  });
  asset({
    kind: 'PNG pixel bomb',
    id: 'bomb-png',
    file: 'images/bomb.png',
    data: image.pngDeclaring(50_000, 50_000),
    reason: 'IMAGE_TOO_LARGE',
    says: /50000x50000/,
  });
  asset({
    kind: 'WebP pixel bomb (VP8X canvas)',
    id: 'bomb-webp',
    file: 'images/bomb.webp',
    data: await image.webpDeclaring(50_000, 50_000),
    reason: 'IMAGE_TOO_LARGE',
    says: /50000x50000/,
  });
  asset({
    kind: 'GIF pixel bomb (logical screen)',
    id: 'bomb-gif',
    file: 'images/bomb.gif',
    data: await image.gifDeclaring(50_000, 50_000),
    reason: 'IMAGE_TOO_LARGE',
    says: /50000x50000/,
  });
  asset({
    kind: 'GIF pixel bomb (first frame only)',
    id: 'bomb-gif-frame',
    file: 'images/bomb-frame.gif',
    data: await image.gifDeclaring(50_000, 50_000, true),
    reason: 'IMAGE_TOO_LARGE',
    says: /50000x50000/,
  });
  const big = await image.noisyJpeg(1400, 1400);
  asset({
    kind: 'image above the 4 MB endpoint payload',
    id: 'img-above-payload',
    file: 'images/huge.jpg',
    data: big,
    accepted: true,
    check: (r) => expect4MbFile(r, big.length),
  });
  for (let orientation = 1; orientation <= 8; orientation += 1) {
    // 96×64 as stored: orientations 5–8 turn it a quarter, so the record's upright size is 64×96.
    const [w, h] = orientation >= 5 ? [64, 96] : [96, 64];
    asset({
      kind: `EXIF orientation ${orientation}`,
      id: `exif-${orientation}`,
      file: `images/exif-${orientation}.jpg`,
      data: image.withExifOrientation(photo, orientation),
      accepted: true,
      check: (r) => expectFormat(r, 'jpeg', w, h),
    });
  }

  // ---- archive entries ----
  const unsafe = (kind: string, name: string, says: RegExp) => {
    add(name, photo);
    expectations.push({ kind, orphanKey: `file:${name}`, reason: 'UNSAFE_PATH', says });
  };
  unsafe('zip slip: ../', '../../etc/evil.jpg', /escapes the archive root/);
  unsafe('zip slip: ../ inside a folder', 'images/../../evil.jpg', /escapes the archive root/);
  unsafe('zip slip: absolute path', '/tmp/evil.jpg', /is absolute/);
  unsafe('zip slip: backslashes', '..\\..\\evil.jpg', /escapes the archive root/);
  unsafe('zip slip: drive letter', 'C:\\Windows\\evil.jpg', /drive letter/);
  unsafe('zip slip: UNC path', '\\\\server\\share\\evil.jpg', /is absolute/);
  add('images/link.jpg', Buffer.from('/etc/passwd'), { unixMode: 0o120777 });
  rows.push(row('entry-symlink', 'images/link.jpg'));
  expectations.push({ kind: 'symlink', rowNumber: rows.length, reason: 'UNSAFE_PATH', says: /symbolic link/ });
  add('images/dup.jpg', photo);
  add('images/dup.jpg', png);
  rows.push(row('entry-dup', 'images/dup.jpg'));
  expectations.push({ kind: 'duplicate entry name (first copy used)', rowNumber: rows.length, accepted: true, check: (r) => expectFormat(r, 'jpeg', 96, 64) });
  expectations.push({
    kind: 'duplicate entry name (second copy)',
    orphanKey: 'file:images/dup.jpg',
    reason: 'DUPLICATE_ARCHIVE_ENTRY',
    says: /more than once/,
  });
  add('images/secret.jpg', photo, { flags: 0x1 });
  rows.push(row('entry-encrypted', 'images/secret.jpg'));
  expectations.push({ kind: 'encrypted entry', rowNumber: rows.length, reason: 'CORRUPT_IMAGE', says: /encrypted/ });
  add('images/bzip2.jpg', photo, { method: 12, stored: photo });
  rows.push(row('entry-method', 'images/bzip2.jpg'));
  expectations.push({ kind: 'unsupported compression method', rowNumber: rows.length, reason: 'CORRUPT_IMAGE', says: /compression method 12/ });
  add('images/crc.jpg', photo, { method: 0, crc: (crc32(photo) ^ 1) >>> 0 });
  rows.push(row('entry-crc', 'images/crc.jpg'));
  expectations.push({ kind: 'CRC mismatch', rowNumber: rows.length, reason: 'CORRUPT_IMAGE', says: /CRC-32 mismatch/ });
  const zeros = 20;
  entries.push({ name: 'images/bomb-ratio.jpg', stored: deflatedZeros(zeros), method: 8, crc: 0, uncompressedSize: zeros * 1024 * 1024 });
  rows.push(row('entry-zip-bomb', 'images/bomb-ratio.jpg'));
  expectations.push({ kind: 'zip bomb (compression ratio)', rowNumber: rows.length, reason: 'SUSPICIOUS_COMPRESSION', says: /zip-bomb limit/ });
  add('images/orphan.jpg', photo);
  expectations.push({ kind: 'orphan file', orphanKey: 'file:images/orphan.jpg', reason: 'ORPHAN_FILE', says: /named by no manifest row/ });
  add('__MACOSX/images/._photo.jpg', Buffer.from('junk'));
  add('.DS_Store', Buffer.from('junk'));

  // ---- manifest rows ----
  asset({ kind: 'missing file', id: 'row-missing-file', file: 'images/nowhere.jpg', reason: 'MISSING_FILE', says: /not in the archive/ });
  rows.push(row('img-jpeg', 'images/photo.jpg'));
  expectations.push({ kind: 'duplicate asset_id', rowNumber: rows.length, reason: 'DUPLICATE_ASSET_ID', says: /already used by manifest row 1/ });
  asset({ kind: 'two rows, one file', id: 'row-same-file', file: 'images/photo.jpg', accepted: true, row: { declared_category: 'Boats' } });
  asset({
    kind: 'unknown category',
    id: 'row-unknown-category',
    file: 'images/photo.jpg',
    row: { declared_category: 'Spaceships' },
    reason: 'UNKNOWN_CATEGORY',
    says: /Spaceships/,
  });
  asset({
    kind: 'empty required field',
    id: 'row-empty-title',
    file: 'images/photo.jpg',
    row: { title: '' },
    reason: 'INVALID_MANIFEST_ROW',
    says: /empty required field: title/,
  });
  asset({ kind: 'asset_id above its limit', id: 'x'.repeat(300), file: 'images/photo.jpg', reason: 'INVALID_MANIFEST_ROW', says: /asset_id is 300 bytes/ });
  asset({
    kind: 'extremely long description (truncated, recorded)',
    id: 'row-long-text',
    file: 'images/photo.jpg',
    row: { description: 'Seaworthy. '.repeat(20_000) },
    accepted: true,
    check: (r) => {
      if (r.listing.truncated?.['description'] === undefined) throw new Error('the cut description is not recorded');
    },
  });
  for (const [kind, price, currency, value, code] of [
    ['price with thousands comma', '1,299.00', 'USD', 1299, 'USD'],
    ['price with a euro sign', '€12', '', 12, 'EUR'],
    ['price with a decimal comma', '12,50', 'EUR', 12.5, 'EUR'],
    ['price with spaces grouping', '1 299,00', 'EUR', 1299, 'EUR'],
  ] as const) {
    asset({
      kind,
      id: `price-${price}`,
      file: 'images/photo.jpg',
      row: { price, currency },
      accepted: true,
      check: (r) => {
        if (r.listing.price !== value || r.listing.currency !== code) throw new Error(`${price} read as ${r.listing.price} ${r.listing.currency}`);
      },
    });
  }
  asset({
    kind: 'ambiguous price',
    id: 'price-ambiguous',
    file: 'images/photo.jpg',
    row: { price: '1,299' },
    reason: 'INVALID_MANIFEST_ROW',
    says: /ambiguous/,
  });
  asset({
    kind: 'dollar sign without currency',
    id: 'price-dollar',
    file: 'images/photo.jpg',
    row: { price: '$12' },
    reason: 'INVALID_MANIFEST_ROW',
    says: /several currencies/,
  });
  asset({
    kind: 'non-numeric price',
    id: 'price-text',
    file: 'images/photo.jpg',
    row: { price: 'call us' },
    reason: 'INVALID_MANIFEST_ROW',
    says: /not a non-negative decimal/,
  });
  const emoji = 'Bateau ⛵ 🚤 — 👨‍👩‍👧 family boat';
  const rtl = 'قارب صيد خشبي — סירת דייגים';
  asset({
    kind: 'emoji and right-to-left text',
    id: 'row-unicode',
    file: 'images/photo.jpg',
    row: { title: emoji, description: rtl },
    accepted: true,
    check: (r) => expectText(r, emoji, rtl),
  });
  asset({
    kind: 'CSV-injection strings',
    id: '=cmd|/C calc!A0',
    file: 'images/photo.jpg',
    row: { title: '=HYPERLINK("http://x","y")', merchant_id: '@m-inject', description: '+1+1' },
    accepted: true,
  });
  asset({
    kind: 'extra columns',
    id: 'row-extra',
    file: 'images/photo.jpg',
    row: { colour: 'blue', 'Weight (kg)': '3' },
    accepted: true,
    check: (r) => expectAttributes(r),
  });

  const csv = stringify(rows, { header: true, columns: [...COLUMNS, 'colour', 'Weight (kg)'] });
  // A row with more fields than the header: kept and rejected on its own, never shifting the others.
  const withBadRow = `${csv}row-extra-fields,images/photo.jpg,${MERCHANT},Boats,T,d,1,EUR,blue,3,surplus\n`;
  expectations.push({
    kind: 'row with too many fields',
    rowNumber: rows.length + 1,
    reason: 'INVALID_MANIFEST_ROW',
    says: /11 fields where the header has 10/,
  });
  entries.unshift({ name: 'manifest.csv', data: Buffer.from(withBadRow, 'utf8') });
  return { archive: craftZip(entries), rows: rows.length + 1, expectations };
}

function garble(bytes: Buffer, from: number): Buffer {
  const copy = Buffer.from(bytes);
  for (let i = from; i < copy.length - 2; i += 1) copy[i] = (i * 7919) & 0xff;
  return copy;
}

function expectFormat(record: AssetRecord, format: string, width: number, height: number): void {
  const { image: facts } = record;
  if (facts?.format !== format || facts.width !== width || facts.height !== height) {
    throw new Error(`expected ${format} ${width}x${height}, the record says ${facts?.format} ${facts?.width}x${facts?.height}`);
  }
}

function expect4MbFile(record: AssetRecord, bytes: number): void {
  if (bytes <= 4 * 1024 * 1024) throw new Error(`the generated image is only ${bytes} bytes, not above the 4 MB payload`);
  if (record.image?.bytes !== bytes) throw new Error(`the record says ${record.image?.bytes} bytes`);
}

function expectText(record: AssetRecord, title: string, description: string): void {
  if (record.listing.title !== title.normalize('NFC') || record.listing.description !== description.normalize('NFC')) {
    throw new Error(`text changed: ${record.listing.title} / ${record.listing.description}`);
  }
}

function expectAttributes(record: AssetRecord): void {
  const attributes = record.listing.attributes ?? {};
  if (attributes['colour'] !== 'blue' || attributes['weight_(kg)'] !== '3') throw new Error(`attributes: ${JSON.stringify(attributes)}`);
}

// ---- batch-level and manifest kinds: one archive each ----

export interface BatchCase {
  kind: string;
  archive: () => Buffer | Promise<Buffer>;
  /** A refusal: its code and what its message must say. */
  refused?: { code: string; says: RegExp };
  /** Accepted: the records it must produce (checked by asset_id), and notes the batch record must carry. */
  accepted?: { assets: number; titles?: Record<string, string>; notes?: RegExp; files?: Record<string, string> };
}

// Latin-1 letters only, so the Windows-1252 case can encode it with Buffer's latin1.
const ACCENTED = 'Crème brûlée boat café édition';
const header = (delimiter: string) => ['asset_id', 'file', 'merchant_id', 'declared_category', 'title', 'price', 'currency'].join(delimiter);
const line = (delimiter: string, price = '12.50') => ['m-1', 'a.jpg', MERCHANT, 'Boats', ACCENTED, price, 'EUR'].join(delimiter);

function utf16be(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1]!, le[i]!];
  return le;
}

export async function batchCases(): Promise<BatchCase[]> {
  const photo = await image.jpeg(64, 48);
  const withManifest = (name: string, manifest: Buffer | string, files: Record<string, Buffer> = { 'a.jpg': photo }) => zipOf({ [name]: manifest, ...files });
  const oneRow = { assets: 1, titles: { 'm-1': ACCENTED } };
  return [
    { kind: 'empty archive', archive: () => craftZip([]), refused: { code: 'MANIFEST_MISSING', says: /holds no files/ } },
    {
      kind: 'not a zip',
      archive: () => Buffer.from('PK\x03\x04 but then nothing a zip reader can use'),
      refused: { code: 'ARCHIVE_UNREADABLE', says: /not a readable zip archive/ },
    },
    {
      kind: 'truncated zip (no central directory)',
      archive: () => withManifest('manifest.csv', `${header(',')}\n${line(',')}\n`).subarray(0, 200),
      refused: { code: 'ARCHIVE_UNREADABLE', says: /not a readable zip/ },
    },
    { kind: 'no manifest', archive: () => zipOf({ 'a.jpg': photo }), refused: { code: 'MANIFEST_MISSING', says: /no CSV or JSONL file was found/ } },
    {
      kind: 'manifest in a subfolder',
      archive: () => zipOf({ 'docs/manifest.csv': `${header(',')}\n${line(',')}\n`, 'a.jpg': photo }),
      refused: { code: 'MANIFEST_MISSING', says: /found "docs\/manifest\.csv", not at the root: move it to the root/ },
    },
    {
      kind: 'manifest under another name',
      archive: () => withManifest('products.csv', `${header(',')}\n${line(',')}\n`),
      refused: { code: 'MANIFEST_MISSING', says: /found "products\.csv": a manifest must be named manifest\.csv/ },
    },
    {
      kind: 'two manifests',
      archive: () => zipOf({ 'manifest.csv': `${header(',')}\n`, 'manifest.jsonl': '{}', 'a.jpg': photo }),
      refused: { code: 'MANIFEST_AMBIGUOUS', says: /keep one/ },
    },
    {
      kind: 'missing columns',
      archive: () => withManifest('manifest.csv', 'asset_id,file,title\nm-1,a.jpg,T\n'),
      refused: { code: 'MANIFEST_MISSING_COLUMN', says: /merchant_id, declared_category.*its header has: asset_id, file, title/ },
    },
    {
      kind: 'header with no rows',
      archive: () => withManifest('manifest.csv', `${header(',')}\r\n`),
      refused: { code: 'MANIFEST_EMPTY', says: /header but no rows/ },
    },
    {
      kind: 'invalid UTF-8 (valid and invalid sequences mixed)',
      archive: () =>
        withManifest(
          'manifest.csv',
          Buffer.concat([Buffer.from(`${header(',')}\n${line(',')}\n`, 'utf8'), Buffer.from([0x6d, 0x2d, 0x32, 0x2c, 0xc3, 0x28, 0x0a])]),
        ),
      refused: { code: 'MANIFEST_UNREADABLE', says: /not valid UTF-8: byte 0xc3 on line 3/ },
    },
    {
      kind: 'UTF-16 with a truncated last byte',
      archive: () => withManifest('manifest.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${header(',')}\n`, 'utf16le'), Buffer.from([0x41])])),
      refused: { code: 'MANIFEST_UNREADABLE', says: /odd number of bytes/ },
    },
    {
      kind: '100,000-row manifest',
      archive: () => {
        const rows = Array.from({ length: 100_000 }, (_, i) => `r-${i},images/${i}.jpg,${MERCHANT},Boats,Boat ${i}`);
        return withManifest('manifest.csv', `asset_id,file,merchant_id,declared_category,title\n${rows.join('\n')}\n`);
      },
      refused: { code: 'MANIFEST_TOO_MANY_ROWS', says: /more than 20,000 rows.*split it/ },
    },
    {
      kind: 'zip bomb (absolute size: 45 × 49 MiB declared)',
      archive: () =>
        craftZip([
          { name: 'manifest.csv', data: Buffer.from(`${header(',')}\n${line(',')}\n`) },
          ...Array.from({ length: 45 }, (_, i): ZipEntry => ({
            name: `fill/${i}.bin`,
            stored: Buffer.alloc(260 * 1024),
            method: 8,
            crc: 0,
            uncompressedSize: 49 * 1024 * 1024,
          })),
        ]),
      refused: { code: 'ARCHIVE_TOO_LARGE_UNCOMPRESSED', says: /above the 2 GiB limit/ },
    },
    { kind: 'manifest with UTF-8 BOM and CRLF', archive: () => withManifest('manifest.csv', `\uFEFF${header(',')}\r\n${line(',')}\r\n`), accepted: oneRow },
    {
      kind: 'semicolon-delimited manifest (decimal comma)',
      archive: () => withManifest('manifest.csv', `${header(';')}\n${line(';', '12,50')}\n`),
      accepted: { ...oneRow, notes: /semicolon-separated/ },
    },
    {
      kind: 'Excel sep= line',
      archive: () => withManifest('manifest.csv', `sep=;\n${header(';')}\n${line(';')}\n`),
      accepted: { ...oneRow, notes: /semicolon-separated/ },
    },
    {
      kind: 'UTF-16 LE, tab-delimited (Excel "Unicode text")',
      archive: () => withManifest('manifest.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${header('\t')}\r\n${line('\t')}\r\n`, 'utf16le')])),
      accepted: { ...oneRow, notes: /UTF-16LE \(byte-order mark\).*tab-separated/ },
    },
    {
      kind: 'UTF-16 BE with BOM',
      archive: () => withManifest('manifest.csv', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(`${header(',')}\n${line(',')}\n`)])),
      accepted: { ...oneRow, notes: /UTF-16BE/ },
    },
    {
      kind: 'Windows-1252 manifest',
      archive: () => withManifest('manifest.csv', Buffer.from(`${header(',')}\r\n${line(',')}\r\n`, 'latin1')),
      accepted: { ...oneRow, notes: /decoded as Windows-1252/ },
    },
    { kind: 'manifest named Manifest.CSV', archive: () => withManifest('Manifest.CSV', `${header(',')}\n${line(',')}\n`), accepted: oneRow },
    {
      kind: 'zipped folder (manifest in the single top-level folder)',
      archive: () =>
        zipOf({
          'Spring drop/manifest.csv': `${header(',').replace('file', 'File')}\n${line(',').replace('a.jpg', 'img/a.jpg')}\n`,
          'Spring drop/img/a.jpg': photo,
          '__MACOSX/Spring drop/._a.jpg': Buffer.from('x'),
        }),
      accepted: { ...oneRow, notes: /inside the folder "Spring drop\/"/, files: { 'm-1': 'img/a.jpg' } },
    },
  ];
}
