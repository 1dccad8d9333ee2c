/**
 * Safe reading of a batch archive (zip), entry by entry. Opening judges the archive from its central directory alone
 * (batch-level limits, and a problem per entry: unsafe path, empty, oversized, zip bomb, duplicate, unsupported);
 * nothing is inflated until a caller asks for one entry, and then its bytes stream through a verifier (declared
 * size, CRC-32, the archive's total inflated budget) into a sink the caller provides — an S3 upload, a buffer, or
 * nothing at all. So memory never has to hold the archive's files, and one bad file never sinks the batch.
 *
 * Names are decoded here rather than by yauzl (`decodeStrings: false`): yauzl would throw on the first unsafe name and
 * abort the whole archive, whereas an unsafe name is an asset-level problem for us.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { crc32 } from 'node:zlib';
import * as yauzl from 'yauzl';
import type { Entry, Options as YauzlOptions, ZipFile } from 'yauzl';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export interface ArchiveLimits {
  /** Size of the zip itself. */
  maxArchiveBytes: number;
  /** Central-directory records (files, folders and junk alike), checked before any entry is read. */
  maxEntries: number;
  /** Uncompressed size of one file; larger files are reported FILE_TOO_LARGE and not inflated. */
  maxEntryBytes: number;
  /** Sum of the declared uncompressed sizes of the files that would be extracted (what ends up in memory). */
  maxTotalUncompressedBytes: number;
  /** Zip-bomb guard: uncompressed/compressed above this is refused for entries above `compressionRatioMinBytes`. */
  maxCompressionRatio: number;
  /** Small files legitimately compress very well (text, blank images), so the ratio guard only applies above this. */
  compressionRatioMinBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxArchiveBytes: 512 * MiB,
  maxEntries: 20_000,
  maxEntryBytes: 50 * MiB,
  maxTotalUncompressedBytes: 2 * GiB,
  maxCompressionRatio: 200,
  compressionRatioMinBytes: 1 * MiB,
});

/**
 * Asset-level problems. UNSAFE_PATH, EMPTY_FILE and FILE_TOO_LARGE match reason codes of the same name;
 * SUSPICIOUS_COMPRESSION (compression ratio above the zip-bomb guard), CORRUPT_ENTRY (cannot be inflated, CRC or
 * size mismatch, encrypted or an unsupported compression method) and DUPLICATE_ENTRY (a later entry with the same
 * normalized path) are archive-specific and mapped to reason codes by the caller.
 */
export const ARCHIVE_ENTRY_PROBLEMS = ['UNSAFE_PATH', 'EMPTY_FILE', 'FILE_TOO_LARGE', 'SUSPICIOUS_COMPRESSION', 'CORRUPT_ENTRY', 'DUPLICATE_ENTRY'] as const;
export type ArchiveEntryProblem = (typeof ARCHIVE_ENTRY_PROBLEMS)[number];

export interface ArchiveEntry {
  /**
   * Forward slashes, `.`/empty segments and non-escaping `..` resolved, Unicode NFC (macOS writes NFD names).
   * For an UNSAFE_PATH entry it is only slash-normalized, for display.
   */
  path: string;
  /** The name as stored in the zip, decoded (UTF-8 when flagged, else CP437), separators untouched. */
  rawPath: string;
  /** The declared uncompressed size (verified when the entry is extracted). */
  size: number;
  /** Only from `readBatchArchive` (in memory), and only when there is no problem. */
  data?: Buffer;
  problem?: ArchiveEntryProblem;
  /** One human sentence on what is wrong, when there is a problem. */
  detail?: string;
}

export type ArchiveErrorCode = 'ARCHIVE_UNREADABLE' | 'ARCHIVE_TOO_LARGE' | 'TOO_MANY_ENTRIES' | 'ARCHIVE_TOO_LARGE_UNCOMPRESSED';

export type ArchiveReadResult =
  | {
      ok: true;
      /** Regular files in central-directory order (directories are skipped, junk is in `ignored`). */
      entries: ArchiveEntry[];
      /** OS junk (`__MACOSX/…`, `.DS_Store`, `Thumbs.db`, `desktop.ini`, AppleDouble `._*`), by normalized path. */
      ignored: string[];
      /** The single top-level folder every file was in (a zipped folder), removed from `path`s; see `folderRoot`. */
      root?: string;
    }
  | { ok: false; error: { code: ArchiveErrorCode; message: string } };

// yauzl 3 exposes these but @types/yauzl (2.x) does not declare them.
type RawEntry = Entry & { fileNameRaw: Buffer };
const getFileNameLowLevel = (
  yauzl as unknown as {
    getFileNameLowLevel: (generalPurposeBitFlag: number, fileNameBuffer: Buffer, extraFields: Entry['extraFields'], strictFileNames: boolean) => string;
  }
).getFileNameLowLevel;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const DOS_DIRECTORY = 0x10;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;

interface Candidate {
  entry: Entry;
  path: string;
  rawPath: string;
  problem?: ArchiveEntryProblem;
  detail?: string;
}

/** Where the zip is: a file on disk (the Lambda's ephemeral storage) with its size, or bytes in memory (tests). */
export type ArchiveSource = { path: string; size: number } | Buffer;

/** Consumes one entry's verified bytes (to the end, or until the stream fails); resolves once they are stored. */
export type EntrySink = (bytes: Readable, entry: ArchiveEntry) => Promise<void>;

export type ExtractOutcome = { ok: true; size: number } | { ok: false; problem: 'CORRUPT_ENTRY'; detail: string };

export type ArchiveOpenResult = { ok: true; archive: BatchArchive } | BatchLevelFailure;

/** Thrown by `extract` when the bytes inflated from the archive, all entries together, pass the total limit. */
export class ArchiveBudgetExceeded extends Error {
  readonly code = 'ARCHIVE_TOO_LARGE_UNCOMPRESSED' satisfies ArchiveErrorCode;
  constructor(limit: number) {
    super(`The archive's files expand to more than the ${formatBytes(limit)} limit for one batch.`);
    this.name = 'ArchiveBudgetExceeded';
  }
}

/**
 * Opens an archive and classifies every central-directory record, inflating nothing. Batch-level limits are judged
 * here: size, entry count, and the declared uncompressed total of the files that would be extracted.
 */
export async function openBatchArchive(source: ArchiveSource, limits?: Partial<ArchiveLimits>): Promise<ArchiveOpenResult> {
  const lim: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS, ...limits };
  const size = Buffer.isBuffer(source) ? source.length : source.size;
  if (size > lim.maxArchiveBytes) {
    return fail('ARCHIVE_TOO_LARGE', `The archive is ${formatBytes(size)}, above the ${formatBytes(lim.maxArchiveBytes)} limit for one batch.`);
  }

  let zipFile: ZipFile;
  try {
    zipFile = await openZip(source);
  } catch (error) {
    return unreadable(error);
  }
  let handedOver = false;
  try {
    // EOCD's count bounds how many records yauzl will read, so this caps the work before any is parsed.
    if (zipFile.entryCount > lim.maxEntries) {
      return fail('TOO_MANY_ENTRIES', `The archive has ${zipFile.entryCount} entries, more than the limit of ${lim.maxEntries}.`);
    }
    let records: Entry[];
    try {
      records = await listEntries(zipFile);
    } catch (error) {
      return unreadable(error);
    }
    const { candidates, ignored, root } = classifyRecords(records, lim);
    const totalUncompressed = candidates.filter((c) => c.problem === undefined).reduce((sum, c) => sum + c.entry.uncompressedSize, 0);
    if (totalUncompressed > lim.maxTotalUncompressedBytes) {
      return fail(
        'ARCHIVE_TOO_LARGE_UNCOMPRESSED',
        `The archive's files expand to ${formatBytes(totalUncompressed)}, above the ${formatBytes(lim.maxTotalUncompressedBytes)} limit for one batch.`,
      );
    }
    handedOver = true;
    return { ok: true, archive: new BatchArchive(zipFile, candidates, ignored, lim.maxTotalUncompressedBytes, root) };
  } finally {
    if (!handedOver) zipFile.close();
  }
}

/**
 * An opened archive: the classified entries, and extraction of one entry at a time into a sink. Several extractions
 * may run at once (each reads its own range of the file). Close it when done.
 */
export class BatchArchive {
  /** Regular files in central-directory order (directories are skipped, junk is in `ignored`); no `data`. */
  readonly entries: readonly ArchiveEntry[];
  /** OS junk (`__MACOSX/…`, `.DS_Store`, `Thumbs.db`, `desktop.ini`, AppleDouble `._*`), by normalized path. */
  readonly ignored: readonly string[];
  private readonly records = new Map<ArchiveEntry, Entry>();
  private inflated = 0;

  constructor(
    private readonly zipFile: ZipFile,
    candidates: readonly Candidate[],
    ignored: readonly string[],
    private readonly maxTotalInflatedBytes: number,
    /** The zipped folder's name when every file was inside one top-level folder (removed from `path`s). */
    readonly root?: string,
  ) {
    this.entries = candidates.map(({ entry, path, rawPath, problem, detail }) => {
      const archiveEntry: ArchiveEntry = { path, rawPath, size: entry.uncompressedSize };
      if (problem !== undefined) Object.assign(archiveEntry, { problem, detail });
      this.records.set(archiveEntry, entry);
      return archiveEntry;
    });
    this.ignored = ignored;
  }

  /** Bytes inflated so far by every extraction together. */
  get inflatedBytes(): number {
    return this.inflated;
  }

  /**
   * Streams one problem-free entry through the verifier into `sink`. The stream fails — before it ends, so a sink
   * that stores only on a clean end (an S3 upload) stores nothing — when the data outgrows the declared size, ends
   * short, or fails its CRC-32; that is a CORRUPT_ENTRY outcome. An error of the sink's own is rethrown, and so is
   * ArchiveBudgetExceeded: the running total of inflated bytes is counted here, whatever the headers declared.
   */
  async extract(entry: ArchiveEntry, sink: EntrySink): Promise<ExtractOutcome> {
    const record = this.records.get(entry);
    if (record === undefined || entry.problem !== undefined) throw new Error(`archive entry "${entry.path}" is not one to extract`);
    const corrupt = (reason: string): ExtractOutcome => ({ ok: false, problem: 'CORRUPT_ENTRY', detail: `The file cannot be extracted (${reason}).` });
    let source: Readable;
    try {
      source = await openReadStream(this.zipFile, record);
    } catch (error) {
      return corrupt((error as Error).message);
    }
    const verifier = new EntryVerifier(record, (bytes) => {
      this.inflated += bytes;
      if (this.inflated > this.maxTotalInflatedBytes) throw new ArchiveBudgetExceeded(this.maxTotalInflatedBytes);
    });
    source.on('error', (error: Error) => verifier.fail(error));
    verifier.on('close', () => source.destroy());
    source.pipe(verifier);
    try {
      await sink(verifier, entry);
    } catch (error) {
      if (verifier.failure === undefined) throw error;
    } finally {
      verifier.destroy();
    }
    if (verifier.failure instanceof ArchiveBudgetExceeded) throw verifier.failure;
    if (verifier.failure !== undefined) return corrupt(verifier.failure.message);
    if (!verifier.verified) throw new Error(`the sink for "${entry.path}" returned before reading the entry to its end`);
    return { ok: true, size: record.uncompressedSize };
  }

  /** An entry's bytes in memory (for the manifest). The per-file limit already bounds them. */
  async readIntoMemory(entry: ArchiveEntry): Promise<{ ok: true; data: Buffer } | Extract<ExtractOutcome, { ok: false }>> {
    let data = Buffer.alloc(0);
    const outcome = await this.extract(entry, async (bytes) => {
      const chunks: Buffer[] = [];
      for await (const chunk of bytes) chunks.push(chunk as Buffer);
      data = Buffer.concat(chunks);
    });
    return outcome.ok ? { ok: true, data } : outcome;
  }

  close(): void {
    this.zipFile.close();
  }
}

/**
 * Counts, checks and passes through one entry's inflated bytes. yauzl's `validateEntrySizes` already fails a
 * deflated stream that passes its declared size, and the declared size already passed the per-file and ratio limits,
 * so a lying header cannot make us inflate past them; the size check here is independent of yauzl's options, and the
 * CRC check is ours alone (yauzl does not check CRCs: stored entries would pass corrupted bytes through silently).
 */
class EntryVerifier extends Transform {
  failure: Error | undefined;
  verified = false;
  private received = 0;
  private crc = 0;

  constructor(
    private readonly record: Entry,
    private readonly count: (bytes: number) => void,
  ) {
    super();
  }

  /** Fails the stream with the reason (kept for the outcome). */
  fail(error: Error): void {
    this.failure ??= error;
    this.destroy(this.failure);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.record.uncompressedSize) {
      callback(this.remember(new Error(`more data than the declared ${this.record.uncompressedSize} bytes`)));
      return;
    }
    try {
      this.count(chunk.length);
    } catch (error) {
      callback(this.remember(error as Error));
      return;
    }
    this.crc = crc32(chunk, this.crc);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.received !== this.record.uncompressedSize) {
      callback(this.remember(new Error(`${this.received} bytes instead of the declared ${this.record.uncompressedSize}`)));
    } else if (this.crc >>> 0 !== this.record.crc32 >>> 0) {
      callback(this.remember(new Error('CRC-32 mismatch')));
    } else {
      this.verified = true;
      callback();
    }
  }

  private remember(error: Error): Error {
    this.failure ??= error;
    return error;
  }
}

/**
 * Reads a whole archive into memory: every problem-free entry's `data`, or CORRUPT_ENTRY when it cannot be
 * extracted. For small archives and tests; PrepareBatch streams entries with `openBatchArchive` instead.
 */
export async function readBatchArchive(zip: Buffer, limits?: Partial<ArchiveLimits>): Promise<ArchiveReadResult> {
  const opened = await openBatchArchive(zip, limits);
  if (!opened.ok) return opened;
  const { archive } = opened;
  try {
    const entries: ArchiveEntry[] = [];
    for (const entry of archive.entries) {
      if (entry.problem !== undefined) {
        entries.push(entry);
        continue;
      }
      const read = await archive.readIntoMemory(entry);
      entries.push(read.ok ? { ...entry, size: read.data.length, data: read.data } : { ...entry, problem: read.problem, detail: read.detail });
    }
    return { ok: true, entries, ignored: [...archive.ignored], ...(archive.root === undefined ? {} : { root: archive.root }) };
  } finally {
    archive.close();
  }
}

/** Pass 1: every record judged from the central directory alone, so batch-level limits come before any inflating. */
function classifyRecords(records: readonly Entry[], lim: ArchiveLimits): { candidates: Candidate[]; ignored: string[]; root?: string } {
  const candidates: Candidate[] = [];
  const ignored: string[] = [];
  const seenPaths = new Set<string>();
  for (const entry of records) {
    const rawPath = getFileNameLowLevel(entry.generalPurposeBitFlag, (entry as RawEntry).fileNameRaw, entry.extraFields, true);
    const unixType = (entry.externalFileAttributes >>> 16) & S_IFMT;
    if (isDirectory(rawPath, entry, unixType)) continue;

    const resolved = resolveEntryPath(rawPath);
    if ('unsafe' in resolved) {
      candidates.push({ entry, rawPath, path: displayPath(rawPath), problem: 'UNSAFE_PATH', detail: `The path ${resolved.unsafe}.` });
      continue;
    }
    const path = resolved.path;
    if (unixType === S_IFLNK || (unixType !== 0 && unixType !== S_IFREG)) {
      const what = unixType === S_IFLNK ? 'a symbolic link' : 'a special file (device, FIFO or socket)';
      candidates.push({ entry, rawPath, path, problem: 'UNSAFE_PATH', detail: `The entry is ${what}, not a regular file.` });
      continue;
    }
    if (isJunk(path)) {
      ignored.push(path);
      continue;
    }
    if (seenPaths.has(path)) {
      candidates.push({ entry, rawPath, path, problem: 'DUPLICATE_ENTRY', detail: `An earlier entry already has the path "${path}".` });
      continue;
    }
    seenPaths.add(path);
    candidates.push({ entry, rawPath, path, ...sizeProblem(entry, lim) });
  }
  const root = folderRoot(candidates);
  if (root !== undefined) {
    for (const candidate of candidates) if (candidate.problem !== 'UNSAFE_PATH') candidate.path = candidate.path.slice(root.length + 1);
  }
  return root === undefined ? { candidates, ignored } : { candidates, ignored, root };
}

/**
 * "Compress folder" (Finder, Explorer) zips a folder with its name as every path's first segment. When every file
 * of the archive lies inside one top-level folder, that folder is the archive's root: paths are read relative to
 * it, so its `manifest.csv` is the root manifest and the rows' `file` paths resolve as the merchant wrote them. (A
 * row naming the full path still finds its file, through the raw path.) Junk (`__MACOSX/`) does not count; an
 * unsafe entry keeps its display path and does not count either.
 */
function folderRoot(candidates: readonly Candidate[]): string | undefined {
  const safe = candidates.filter((candidate) => candidate.problem !== 'UNSAFE_PATH');
  const first = safe[0]?.path.split('/')[0];
  if (first === undefined) return undefined;
  return safe.every((candidate) => candidate.path.startsWith(`${first}/`)) ? first : undefined;
}

type BatchLevelFailure = { ok: false; error: { code: ArchiveErrorCode; message: string } };

function fail(code: ArchiveErrorCode, message: string): BatchLevelFailure {
  return { ok: false, error: { code, message } };
}

function unreadable(error: unknown): BatchLevelFailure {
  const reason = error instanceof Error ? error.message : String(error);
  return fail('ARCHIVE_UNREADABLE', `The file is not a readable zip archive (${reason}).`);
}

function openZip(source: ArchiveSource): Promise<ZipFile> {
  // autoClose off: entries are extracted after the directory is read, possibly several at once.
  const options: YauzlOptions = { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false };
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, zipFile: ZipFile): void => {
      if (error) reject(error);
      else resolve(zipFile);
    };
    if (Buffer.isBuffer(source)) yauzl.fromBuffer(source, options, done);
    else yauzl.open(source.path, options, done);
  });
}

function openReadStream(zipFile: ZipFile, entry: Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zipFile.openReadStream(entry, (error, stream) => {
      if (error) reject(error);
      else resolve(stream);
    });
  });
}

function listEntries(zipFile: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const records: Entry[] = [];
    zipFile.on('entry', (entry: Entry) => {
      records.push(entry);
      zipFile.readEntry();
    });
    zipFile.once('end', () => resolve(records));
    zipFile.once('error', reject);
    zipFile.readEntry();
  });
}

function isDirectory(rawPath: string, entry: Entry, unixType: number): boolean {
  if (rawPath.endsWith('/') || rawPath.endsWith('\\') || unixType === S_IFDIR) return true;
  // Some Windows zippers mark folders only with the DOS attribute; a sized entry is a file whatever it claims.
  return (entry.externalFileAttributes & DOS_DIRECTORY) !== 0 && entry.uncompressedSize === 0 && unixType === 0;
}

/** Backslashes count as separators (Windows zippers), so `..\x` is judged like `../x`. */
function resolveEntryPath(rawPath: string): { path: string } | { unsafe: string } {
  if (rawPath.includes('\0')) return { unsafe: 'contains a NUL character' };
  const slashed = rawPath.replace(/\\/g, '/');
  if (slashed.startsWith('/')) return { unsafe: 'is absolute' }; // also `\\server\share`
  if (/^[a-zA-Z]:/.test(slashed)) return { unsafe: 'starts with a drive letter' };
  const segments: string[] = [];
  for (const segment of slashed.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) return { unsafe: 'escapes the archive root with ".."' };
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  if (segments.length === 0) return { unsafe: 'has no file name' };
  return { path: segments.join('/').normalize('NFC') };
}

function displayPath(rawPath: string): string {
  return rawPath.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

function isJunk(path: string): boolean {
  const segments = path.split('/');
  if (segments.includes('__MACOSX')) return true;
  const base = (segments[segments.length - 1] ?? '').toLowerCase();
  return base === '.ds_store' || base === 'thumbs.db' || base === 'desktop.ini' || base.startsWith('._');
}

function sizeProblem(entry: Entry, lim: ArchiveLimits): Pick<Candidate, 'problem' | 'detail'> {
  const size = entry.uncompressedSize;
  if (size === 0) return { problem: 'EMPTY_FILE', detail: 'The file is zero bytes.' };
  if (size > lim.maxEntryBytes) {
    return { problem: 'FILE_TOO_LARGE', detail: `The file is ${formatBytes(size)}, above the ${formatBytes(lim.maxEntryBytes)} per-file limit.` };
  }
  if (size > lim.compressionRatioMinBytes && size > entry.compressedSize * lim.maxCompressionRatio) {
    const ratio = entry.compressedSize === 0 ? 'an unbounded' : `a ${Math.round(size / entry.compressedSize)}:1`;
    return {
      problem: 'SUSPICIOUS_COMPRESSION',
      detail: `The file claims ${ratio} compression ratio, above the ${lim.maxCompressionRatio}:1 zip-bomb limit.`,
    };
  }
  if (entry.isEncrypted()) return { problem: 'CORRUPT_ENTRY', detail: 'The file is encrypted.' };
  if (entry.compressionMethod !== METHOD_STORED && entry.compressionMethod !== METHOD_DEFLATED) {
    return { problem: 'CORRUPT_ENTRY', detail: `The file uses compression method ${entry.compressionMethod}; only stored and deflate are supported.` };
  }
  return {};
}

function formatBytes(bytes: number): string {
  const units: ReadonlyArray<readonly [string, number]> = [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ];
  const unit = units.find(([, size]) => bytes >= size);
  if (unit === undefined) return `${bytes} bytes`;
  const value = bytes / unit[1];
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit[0]}`;
}
