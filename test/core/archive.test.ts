import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { strToU8, zipSync } from 'fflate';
import type { Zippable } from 'fflate';
import * as yauzl from 'yauzl';
import type { Entry } from 'yauzl';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ArchiveBudgetExceeded, openBatchArchive, readBatchArchive } from '../../lambdas/core/archive';
import type { ArchiveEntry, ArchiveReadResult, EntrySink } from '../../lambdas/core/archive';

const MiB = 1024 * 1024;

function zip(files: Zippable): Buffer {
  return Buffer.from(zipSync(files, { mtime: new Date('2024-01-01T00:00:00Z') }));
}

async function readOk(archive: Buffer, limits?: Parameters<typeof readBatchArchive>[1]) {
  const result = await readBatchArchive(archive, limits);
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result;
}

function byPath(entries: ArchiveEntry[]): Map<string, ArchiveEntry> {
  return new Map(entries.map((entry) => [entry.path, entry]));
}

function errorOf(result: ArchiveReadResult) {
  if (result.ok) throw new Error('expected a batch-level error');
  return result.error;
}

interface CraftedEntry {
  name: string | Buffer;
  /** Bytes as stored in the zip (already deflated when method is 8). */
  stored: Buffer;
  method?: 0 | 8;
  crc?: number;
  uncompressedSize: number;
  flags?: number;
  externalAttrs?: number;
}

/** Minimal zip writer for archives fflate will not produce: lying sizes, CP437 names, encryption flags. */
function craftZip(entries: CraftedEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = typeof entry.name === 'string' ? Buffer.from(entry.name, 'utf8') : entry.name;
    const method = entry.method ?? 8;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(entry.flags ?? 0, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE((entry.crc ?? 0) >>> 0, 14);
    local.writeUInt32LE(entry.stored.length, 18);
    local.writeUInt32LE(entry.uncompressedSize, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(entry.flags ?? 0, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE((entry.crc ?? 0) >>> 0, 16);
    central.writeUInt32LE(entry.stored.length, 20);
    central.writeUInt32LE(entry.uncompressedSize, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((entry.externalAttrs ?? 0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, entry.stored);
    centrals.push(central, name);
    offset += local.length + name.length + entry.stored.length;
  }
  const directory = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(directory.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, eocd]);
}

/** A raw deflate stream inflating to `mib` MiB of zeros at ~1000:1, built without ever holding the output. */
function deflatedZeros(mib: number): Buffer {
  const block = zlib.deflateRawSync(Buffer.alloc(MiB), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  // Sync-flushed blocks are byte-aligned and non-final; an empty final fixed block (0x03 0x00) ends the stream.
  return Buffer.concat([...Array.from({ length: mib }, () => block), Buffer.from([0x03, 0x00])]);
}

/** Counts every byte any inflater produced while `run` was running, whether or not it was consumed. */
async function countInflated<T>(run: () => Promise<T>): Promise<{ result: T; inflated: number }> {
  let inflated = 0;
  const original = zlib.createInflateRaw;
  vi.spyOn(zlib, 'createInflateRaw').mockImplementation((options?: zlib.ZlibOptions) => {
    const inflater = original(options);
    inflater.on('data', (chunk: Buffer) => {
      inflated += chunk.length;
    });
    return inflater;
  });
  const result = await run();
  return { result, inflated };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('readBatchArchive', () => {
  it('reads nested folders, normalizes paths and skips directories', async () => {
    const photo = randomBytes(4000);
    const archive = zip({
      'manifest.csv': strToU8('asset_id,file\n1,images/a.jpg\n'),
      images: { 'a.jpg': photo, sub: { 'b.png': strToU8('png-ish') } },
      'empty-folder/': new Uint8Array(0),
      './dotted/c.jpg': strToU8('c'),
      'win\\d.jpg': strToU8('d'),
      'a/./b//../e.jpg': strToU8('e'),
      stored: { 'f.jpg': [strToU8('stored bytes'), { level: 0 }] },
    });
    const { entries, ignored } = await readOk(archive);
    expect(entries.map((entry) => entry.path)).toEqual([
      'manifest.csv',
      'images/a.jpg',
      'images/sub/b.png',
      'dotted/c.jpg',
      'win/d.jpg',
      'a/e.jpg',
      'stored/f.jpg',
    ]);
    expect(ignored).toEqual([]);
    const files = byPath(entries);
    expect(files.get('images/a.jpg')).toEqual({ path: 'images/a.jpg', rawPath: 'images/a.jpg', size: 4000, data: photo });
    expect(files.get('win/d.jpg')?.rawPath).toBe('win\\d.jpg');
    expect(files.get('dotted/c.jpg')?.rawPath).toBe('./dotted/c.jpg');
    expect(files.get('stored/f.jpg')?.data?.toString()).toBe('stored bytes');
    for (const entry of entries) expect(entry.problem).toBeUndefined();
  });

  it('marks absolute, escaping and NUL paths UNSAFE_PATH and never extracts them', async () => {
    const archive = zip({
      '../evil.jpg': strToU8('x'),
      '/abs.jpg': strToU8('x'),
      'a/../../x.jpg': strToU8('x'),
      '..\\win-evil.jpg': strToU8('x'),
      'ok\\..\\..\\deep.jpg': strToU8('x'),
      'C:\\drive.jpg': strToU8('x'),
      '\\\\server\\share\\unc.jpg': strToU8('x'),
      'nul\0.jpg': strToU8('x'),
      'a/../fine.jpg': strToU8('fine'),
    });
    const { entries } = await readOk(archive);
    const unsafe = entries.filter((entry) => entry.problem === 'UNSAFE_PATH');
    expect(unsafe.map((entry) => entry.rawPath)).toEqual([
      '../evil.jpg',
      '/abs.jpg',
      'a/../../x.jpg',
      '..\\win-evil.jpg',
      'ok\\..\\..\\deep.jpg',
      'C:\\drive.jpg',
      '\\\\server\\share\\unc.jpg',
      'nul\0.jpg',
    ]);
    for (const entry of unsafe) {
      expect(entry.data).toBeUndefined();
      expect(entry.detail).toMatch(/^The path /);
    }
    expect(unsafe[3]?.path).toBe('../win-evil.jpg');
    expect(byPath(entries).get('fine.jpg')?.data?.toString()).toBe('fine');
  });

  it('marks symlink entries UNSAFE_PATH from the Unix mode in the external attributes', async () => {
    const archive = zip({
      'link.jpg': [strToU8('/etc/passwd'), { os: 3, attrs: 0o120777 << 16 }],
      'regular.jpg': [strToU8('real'), { os: 3, attrs: 0o100644 << 16 }],
    });

    // Pin how fflate writes the attributes: Unix mode in the upper 16 bits, as Info-ZIP does.
    const modes = await new Promise<number[]>((resolve, reject) => {
      yauzl.fromBuffer(archive, { lazyEntries: true }, (error, zipFile) => {
        if (error) return reject(error);
        const found: number[] = [];
        zipFile.on('entry', (entry: Entry) => {
          found.push((entry.externalFileAttributes >>> 16) & 0o170000);
          zipFile.readEntry();
        });
        zipFile.on('end', () => resolve(found));
        zipFile.on('error', reject);
        zipFile.readEntry();
      });
    });
    expect(modes).toEqual([0o120000, 0o100000]);

    const files = byPath((await readOk(archive)).entries);
    expect(files.get('link.jpg')).toMatchObject({ problem: 'UNSAFE_PATH', detail: expect.stringMatching(/symbolic link/) });
    expect(files.get('link.jpg')?.data).toBeUndefined();
    expect(files.get('regular.jpg')?.data?.toString()).toBe('real');
  });

  it('reports zero-byte files as EMPTY_FILE', async () => {
    const files = byPath((await readOk(zip({ 'empty.jpg': new Uint8Array(0), 'full.jpg': strToU8('x') }))).entries);
    expect(files.get('empty.jpg')).toMatchObject({ size: 0, problem: 'EMPTY_FILE' });
    expect(files.get('empty.jpg')?.data).toBeUndefined();
    expect(files.get('full.jpg')?.problem).toBeUndefined();
  });

  it('reports entries above maxEntryBytes as FILE_TOO_LARGE without inflating them', async () => {
    const archive = zip({ 'big.jpg': randomBytes(5000), 'small.jpg': randomBytes(500) });
    const { result, inflated } = await countInflated(() => readOk(archive, { maxEntryBytes: 1000 }));
    const files = byPath(result.entries);
    expect(files.get('big.jpg')).toMatchObject({ size: 5000, problem: 'FILE_TOO_LARGE', detail: expect.stringMatching(/1000 bytes per-file limit/) });
    expect(files.get('big.jpg')?.data).toBeUndefined();
    expect(files.get('small.jpg')?.data?.length).toBe(500);
    expect(inflated).toBe(500);
  });

  it('refuses a buffer that is not a zip, an empty one and a truncated zip as ARCHIVE_UNREADABLE', async () => {
    const notZip = errorOf(await readBatchArchive(Buffer.from('this is a manifest, not a zip\n')));
    expect(notZip.code).toBe('ARCHIVE_UNREADABLE');
    expect(notZip.message).toMatch(/^The file is not a readable zip archive \(.+\)\.$/);
    expect(errorOf(await readBatchArchive(Buffer.alloc(0))).code).toBe('ARCHIVE_UNREADABLE');

    const whole = zip({ 'a.jpg': randomBytes(3000), 'b.jpg': randomBytes(3000) });
    expect(errorOf(await readBatchArchive(whole.subarray(0, whole.length >> 1))).code).toBe('ARCHIVE_UNREADABLE');
    expect(errorOf(await readBatchArchive(whole.subarray(0, whole.length - 10))).code).toBe('ARCHIVE_UNREADABLE');
  });

  it('refuses archives above maxArchiveBytes, maxEntries or the total uncompressed limit', async () => {
    const archive = zip({ 'a.jpg': randomBytes(800), 'b.jpg': randomBytes(800), 'c/': new Uint8Array(0), 'd.jpg': strToU8('d') });

    const tooBig = errorOf(await readBatchArchive(archive, { maxArchiveBytes: 1024 }));
    expect(tooBig).toEqual({ code: 'ARCHIVE_TOO_LARGE', message: expect.stringMatching(/above the 1 KiB limit/) });

    const tooMany = errorOf(await readBatchArchive(archive, { maxEntries: 3 }));
    expect(tooMany).toEqual({ code: 'TOO_MANY_ENTRIES', message: 'The archive has 4 entries, more than the limit of 3.' });
    await readOk(archive, { maxEntries: 4 });

    const expands = errorOf(await readBatchArchive(archive, { maxTotalUncompressedBytes: 1500 }));
    expect(expands).toEqual({
      code: 'ARCHIVE_TOO_LARGE_UNCOMPRESSED',
      message: "The archive's files expand to 1.6 KiB, above the 1.5 KiB limit for one batch.",
    });
    await readOk(archive, { maxTotalUncompressedBytes: 1601 });
  });

  it('ignores OS junk entries but lists them', async () => {
    const { entries, ignored } = await readOk(
      zip({
        '__MACOSX/images/._a.jpg': strToU8('resource fork'),
        'images/a.jpg': strToU8('a'),
        'images/.DS_Store': strToU8('finder'),
        'Thumbs.db': strToU8('thumbs'),
        'images/._b.jpg': strToU8('apple double'),
        '.DS_Store': new Uint8Array(0),
      }),
    );
    // The one real file is in images/: a zipped folder, read from inside it (junk does not count).
    expect(entries.map((entry) => [entry.path, entry.rawPath])).toEqual([['a.jpg', 'images/a.jpg']]);
    expect(ignored).toEqual(['__MACOSX/images/._a.jpg', 'images/.DS_Store', 'Thumbs.db', 'images/._b.jpg', '.DS_Store']);
  });

  it('keeps the first of entries sharing a normalized path and marks the later ones DUPLICATE_ENTRY', async () => {
    const { entries } = await readOk(
      zip({ 'img/a.jpg': strToU8('first'), './img/a.jpg': strToU8('second'), 'img\\a.jpg': strToU8('third'), 'b.jpg': strToU8('b') }),
    );
    expect(entries.map((entry) => [entry.rawPath, entry.path, entry.problem])).toEqual([
      ['img/a.jpg', 'img/a.jpg', undefined],
      ['./img/a.jpg', 'img/a.jpg', 'DUPLICATE_ENTRY'],
      ['img\\a.jpg', 'img/a.jpg', 'DUPLICATE_ENTRY'],
      ['b.jpg', 'b.jpg', undefined],
    ]);
    expect(entries[0]?.data?.toString()).toBe('first');
    expect(entries[1]?.data).toBeUndefined();
  });

  it('reads a zipped folder (every file inside one top-level folder) from inside that folder', async () => {
    const result = await readOk(zip({ 'Spring/manifest.csv': strToU8('m'), 'Spring/img/a.jpg': strToU8('a'), '__MACOSX/Spring/._a.jpg': strToU8('junk') }));
    expect(result.root).toBe('Spring');
    expect(result.entries.map((entry) => [entry.path, entry.rawPath])).toEqual([
      ['manifest.csv', 'Spring/manifest.csv'],
      ['img/a.jpg', 'Spring/img/a.jpg'],
    ]);
    // Two top-level folders, or a file at the root: no folder is the root.
    expect((await readOk(zip({ 'a/x.jpg': strToU8('x'), 'b/y.jpg': strToU8('y') }))).root).toBeUndefined();
    expect((await readOk(zip({ 'a/x.jpg': strToU8('x'), 'manifest.csv': strToU8('m') }))).root).toBeUndefined();
  });

  it('refuses an honest zip bomb from its declared ratio without inflating anything', async () => {
    const archive = zip({ 'bomb.jpg': new Uint8Array(8 * MiB), 'ok.jpg': strToU8('ok') });
    expect(archive.length).toBeLessThan(64 * 1024);
    const { result, inflated } = await countInflated(() => readOk(archive));
    const files = byPath(result.entries);
    expect(files.get('bomb.jpg')).toMatchObject({ size: 8 * MiB, problem: 'SUSPICIOUS_COMPRESSION', detail: expect.stringMatching(/200:1/) });
    expect(files.get('bomb.jpg')?.data).toBeUndefined();
    expect(inflated).toBe(2);
  });

  it('stops inflating an entry whose data outgrows its declared size (lying header)', async () => {
    const bomb = deflatedZeros(256); // 256 MiB once inflated, ~260 KB stored
    const archive = craftZip([
      { name: 'liar.jpg', stored: bomb, uncompressedSize: 2 * MiB }, // declared ratio < 200: passes the up-front checks
      { name: 'next.jpg', stored: Buffer.from('ok'), method: 0, crc: zlib.crc32('ok'), uncompressedSize: 2 },
    ]);
    const { result, inflated } = await countInflated(() => readOk(archive));
    const files = byPath(result.entries);
    expect(files.get('liar.jpg')).toMatchObject({ problem: 'CORRUPT_ENTRY', detail: expect.stringMatching(/too many bytes|more data than/) });
    expect(files.get('liar.jpg')?.data).toBeUndefined();
    expect(files.get('next.jpg')?.data?.toString()).toBe('ok');
    expect(inflated).toBeLessThan(16 * MiB);
  });

  it('does not touch an entry whose declared size is above the per-file limit', async () => {
    const archive = craftZip([{ name: 'huge.jpg', stored: deflatedZeros(256), uncompressedSize: 256 * MiB }]);
    const { result, inflated } = await countInflated(() => readOk(archive));
    expect(result.entries[0]).toMatchObject({ problem: 'FILE_TOO_LARGE', size: 256 * MiB });
    expect(inflated).toBe(0);
  });

  it('reports undecodable entries as CORRUPT_ENTRY and keeps reading the others', async () => {
    const good = Buffer.from('good bytes');
    const deflated = zlib.deflateRawSync(randomBytes(2000));
    const garbled = Buffer.from(deflated);
    garbled.fill(0xff, 10, 40);
    const archive = craftZip([
      { name: 'garbled.jpg', stored: garbled, crc: 0, uncompressedSize: 2000 },
      { name: 'bad-crc.jpg', stored: good, method: 0, crc: zlib.crc32(good) ^ 1, uncompressedSize: good.length },
      // traditional encryption: a 12-byte header precedes the stored bytes
      { name: 'encrypted.jpg', stored: randomBytes(20), method: 0, flags: 0x1, uncompressedSize: 8 },
      { name: 'bzip2.jpg', stored: good, method: 12 as 8, uncompressedSize: 100 },
      { name: 'good.jpg', stored: good, method: 0, crc: zlib.crc32(good), uncompressedSize: good.length },
    ]);
    const files = byPath((await readOk(archive)).entries);
    expect(files.get('garbled.jpg')?.problem).toBe('CORRUPT_ENTRY');
    expect(files.get('bad-crc.jpg')).toMatchObject({ problem: 'CORRUPT_ENTRY', detail: expect.stringMatching(/CRC/) });
    expect(files.get('encrypted.jpg')).toMatchObject({ problem: 'CORRUPT_ENTRY', detail: 'The file is encrypted.' });
    expect(files.get('bzip2.jpg')).toMatchObject({ problem: 'CORRUPT_ENTRY', detail: expect.stringMatching(/compression method 12/) });
    expect(files.get('good.jpg')?.data).toEqual(good);
  });

  it('decodes names as UTF-8 when flagged, CP437 otherwise, and NFC-normalizes paths', async () => {
    const data = Buffer.from('x');
    const crc = zlib.crc32(data);
    const archive = craftZip([
      // "café.jpg" in CP437 (0x82 = é), no UTF-8 flag, as old Windows zippers write it
      { name: Buffer.from([0x63, 0x61, 0x66, 0x82, 0x2e, 0x6a, 0x70, 0x67]), stored: data, method: 0, crc, uncompressedSize: 1 },
      // "crème.jpg" decomposed (NFD), UTF-8 flag set, as macOS writes it
      { name: Buffer.from('cre\u0300me.jpg', 'utf8'), flags: 0x800, stored: data, method: 0, crc, uncompressedSize: 1 },
    ]);
    const { entries } = await readOk(archive);
    expect(entries.map((entry) => [entry.rawPath, entry.path])).toEqual([
      ['caf\u00e9.jpg', 'caf\u00e9.jpg'],
      ['cre\u0300me.jpg', 'cr\u00e8me.jpg'],
    ]);
  });
});

describe('openBatchArchive: entry by entry into a sink', () => {
  async function openOk(source: Parameters<typeof openBatchArchive>[0], limits?: Parameters<typeof openBatchArchive>[1]) {
    const opened = await openBatchArchive(source, limits);
    if (!opened.ok) throw new Error(`expected ok, got ${opened.error.code}`);
    return opened.archive;
  }

  /** A sink that, like an S3 upload, stores the bytes only when the stream ends cleanly. */
  function storingSink(store: Map<string, Buffer>): EntrySink {
    return async (bytes, entry) => {
      const chunks: Buffer[] = [];
      for await (const chunk of bytes) chunks.push(chunk as Buffer);
      store.set(entry.path, Buffer.concat(chunks));
    };
  }

  it('classifies from the central directory without inflating, then streams one entry into a sink from a file', async () => {
    const photo = randomBytes(300_000);
    const archive = zip({ 'manifest.csv': strToU8('asset_id\n1\n'), 'a.jpg': [photo, { level: 0 }], 'b.jpg': randomBytes(10) });
    const dir = await mkdtemp(path.join(tmpdir(), 'archive-test-'));
    try {
      const file = path.join(dir, 'batch.zip');
      await writeFile(file, archive);
      const { result: opened, inflated } = await countInflated(() => openOk({ path: file, size: archive.length }));
      expect(inflated).toBe(0);
      expect(opened.entries.map((entry) => [entry.path, entry.size, entry.data])).toEqual([
        ['manifest.csv', 11, undefined],
        ['a.jpg', 300_000, undefined],
        ['b.jpg', 10, undefined],
      ]);
      const stored = new Map<string, Buffer>();
      expect(await opened.extract(opened.entries[1]!, storingSink(stored))).toEqual({ ok: true, size: 300_000 });
      expect(stored.get('a.jpg')?.equals(photo)).toBe(true);
      expect(stored.has('b.jpg')).toBe(false);
      expect(opened.inflatedBytes).toBe(300_000);
      opened.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails the stream before its end on a CRC mismatch, so a storing sink stores nothing, and reports CORRUPT_ENTRY', async () => {
    const good = Buffer.from('good bytes');
    const archive = craftZip([
      { name: 'bad-crc.jpg', stored: good, method: 0, crc: zlib.crc32(good) ^ 1, uncompressedSize: good.length },
      // Deflated data that ends short of the declared size.
      { name: 'short.jpg', stored: zlib.deflateRawSync(good), crc: zlib.crc32(good), uncompressedSize: good.length + 5 },
    ]);
    const opened = await openOk(archive);
    const stored = new Map<string, Buffer>();
    for (const entry of opened.entries) {
      const outcome = await opened.extract(entry, storingSink(stored));
      expect(outcome).toMatchObject({ ok: false, problem: 'CORRUPT_ENTRY' });
    }
    expect(stored.size).toBe(0);
    opened.close();
  });

  it("rethrows the sink's own failure rather than calling the entry corrupt", async () => {
    const opened = await openOk(zip({ 'a.jpg': randomBytes(1000) }));
    const failing: EntrySink = async (bytes) => {
      bytes.resume();
      throw new Error('S3 is down');
    };
    await expect(opened.extract(opened.entries[0]!, failing)).rejects.toThrow('S3 is down');
    opened.close();
  });

  it('refuses to extract an entry that has a problem, and notices a sink that returns without reading', async () => {
    const opened = await openOk(zip({ 'empty.jpg': new Uint8Array(0), 'a.jpg': randomBytes(100) }));
    const [empty, photo] = opened.entries;
    await expect(opened.extract(empty!, async () => {})).rejects.toThrow(/not one to extract/);
    await expect(opened.extract(photo!, async () => {})).rejects.toThrow(/returned before reading/);
    opened.close();
  });

  it('counts inflated bytes across extractions and stops at the total limit, whatever the headers declared', async () => {
    const opened = await openOk(zip({ 'a.jpg': randomBytes(1000) }), { maxTotalUncompressedBytes: 1500 });
    const entry = opened.entries[0]!;
    expect(await opened.extract(entry, storingSink(new Map()))).toEqual({ ok: true, size: 1000 });
    await expect(opened.extract(entry, storingSink(new Map()))).rejects.toBeInstanceOf(ArchiveBudgetExceeded);
    expect(opened.inflatedBytes).toBeLessThanOrEqual(1500 + 64 * 1024);
    opened.close();
  });

  it('extracts several entries at once from one file', async () => {
    const files = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`p${i}.jpg`, randomBytes(200_000 + i)]));
    const opened = await openOk(zip(Object.fromEntries(Object.entries(files).map(([name, data]) => [name, [data, { level: 0 }]]))));
    const stored = new Map<string, Buffer>();
    const outcomes = await Promise.all(opened.entries.map((entry) => opened.extract(entry, storingSink(stored))));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    for (const [name, data] of Object.entries(files)) expect(stored.get(name)?.equals(data), name).toBe(true);
    opened.close();
  });
});
