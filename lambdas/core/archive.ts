/**
 * Safe reading of a batch archive (zip) held in memory. Batch-level failures (the archive as a whole cannot or must
 * not be opened) are returned as an error; problems with single entries (unsafe paths, empty/oversized/corrupt files,
 * duplicates, zip bombs) are reported on the entry and its data is never inflated, so one bad file never sinks the
 * batch.
 *
 * Names are decoded here rather than by yauzl (`decodeStrings: false`): yauzl would throw on the first unsafe name and
 * abort the whole archive, whereas an unsafe name is an asset-level problem for us.
 */
import { crc32 } from 'node:zlib';
import * as yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';

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
export const ARCHIVE_ENTRY_PROBLEMS = [
  'UNSAFE_PATH',
  'EMPTY_FILE',
  'FILE_TOO_LARGE',
  'SUSPICIOUS_COMPRESSION',
  'CORRUPT_ENTRY',
  'DUPLICATE_ENTRY',
] as const;
export type ArchiveEntryProblem = (typeof ARCHIVE_ENTRY_PROBLEMS)[number];

export interface ArchiveEntry {
  /**
   * Forward slashes, `.`/empty segments and non-escaping `..` resolved, Unicode NFC (macOS writes NFD names).
   * For an UNSAFE_PATH entry it is only slash-normalized, for display.
   */
  path: string;
  /** The name as stored in the zip, decoded (UTF-8 when flagged, else CP437), separators untouched. */
  rawPath: string;
  /** Actual bytes when extracted; the declared uncompressed size otherwise. */
  size: number;
  /** Present only when there is no problem. */
  data?: Buffer;
  problem?: ArchiveEntryProblem;
  /** One human sentence on what is wrong, when there is a problem. */
  detail?: string;
}

export type ArchiveErrorCode =
  | 'ARCHIVE_UNREADABLE'
  | 'ARCHIVE_TOO_LARGE'
  | 'TOO_MANY_ENTRIES'
  | 'ARCHIVE_TOO_LARGE_UNCOMPRESSED';

export type ArchiveReadResult =
  | {
      ok: true;
      /** Regular files in central-directory order (directories are skipped, junk is in `ignored`). */
      entries: ArchiveEntry[];
      /** OS junk (`__MACOSX/…`, `.DS_Store`, `Thumbs.db`, `desktop.ini`, AppleDouble `._*`), by normalized path. */
      ignored: string[];
    }
  | { ok: false; error: { code: ArchiveErrorCode; message: string } };

// yauzl 3 exposes these but @types/yauzl (2.x) does not declare them.
type RawEntry = Entry & { fileNameRaw: Buffer };
const getFileNameLowLevel = (
  yauzl as unknown as {
    getFileNameLowLevel: (
      generalPurposeBitFlag: number,
      fileNameBuffer: Buffer,
      extraFields: Entry['extraFields'],
      strictFileNames: boolean,
    ) => string;
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

export async function readBatchArchive(zip: Buffer, limits?: Partial<ArchiveLimits>): Promise<ArchiveReadResult> {
  const lim: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS, ...limits };
  if (zip.length > lim.maxArchiveBytes) {
    return fail('ARCHIVE_TOO_LARGE', `The archive is ${formatBytes(zip.length)}, above the ${formatBytes(lim.maxArchiveBytes)} limit for one batch.`);
  }

  let zipFile: ZipFile;
  try {
    zipFile = await openZip(zip);
  } catch (error) {
    return unreadable(error);
  }
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

    // Pass 1: classify every record from the central directory alone, so batch-level limits are judged before
    // anything is inflated.
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

    const toExtract = candidates.filter((candidate) => candidate.problem === undefined);
    const totalUncompressed = toExtract.reduce((sum, candidate) => sum + candidate.entry.uncompressedSize, 0);
    if (totalUncompressed > lim.maxTotalUncompressedBytes) {
      return fail(
        'ARCHIVE_TOO_LARGE_UNCOMPRESSED',
        `The archive's files expand to ${formatBytes(totalUncompressed)}, above the ${formatBytes(lim.maxTotalUncompressedBytes)} limit for one batch.`,
      );
    }

    // Pass 2: inflate, one entry at a time to bound memory to the data we keep.
    const entries: ArchiveEntry[] = [];
    for (const candidate of candidates) {
      const { entry, path, rawPath } = candidate;
      if (candidate.problem !== undefined) {
        entries.push({ path, rawPath, size: entry.uncompressedSize, problem: candidate.problem, detail: candidate.detail });
        continue;
      }
      const extracted = await extractEntry(zipFile, entry);
      entries.push(
        'data' in extracted
          ? { path, rawPath, size: extracted.data.length, data: extracted.data }
          : { path, rawPath, size: entry.uncompressedSize, problem: 'CORRUPT_ENTRY', detail: extracted.detail },
      );
    }
    return { ok: true, entries, ignored };
  } finally {
    zipFile.close();
  }
}

function fail(code: ArchiveErrorCode, message: string): ArchiveReadResult {
  return { ok: false, error: { code, message } };
}

function unreadable(error: unknown): ArchiveReadResult {
  const reason = error instanceof Error ? error.message : String(error);
  return fail('ARCHIVE_UNREADABLE', `The file is not a readable zip archive (${reason}).`);
}

function openZip(zip: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true }, (error, zipFile) => {
      if (error) reject(error);
      else resolve(zipFile);
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

/**
 * Inflates one entry, never holding more than its declared size: yauzl's `validateEntrySizes` fails the stream as
 * soon as the output passes the declared size, and the declared size already passed the per-file and ratio limits,
 * so a lying header cannot make us inflate past them either.
 */
function extractEntry(zipFile: ZipFile, entry: Entry): Promise<{ data: Buffer } | { detail: string }> {
  const corrupt = (reason: string) => ({ detail: `The file cannot be extracted (${reason}).` });
  return new Promise((resolve) => {
    zipFile.openReadStream(entry, (openError, stream) => {
      if (openError) {
        resolve(corrupt(openError.message));
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      let settled = false;
      const settle = (result: { data: Buffer } | { detail: string }): void => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        // Redundant with yauzl's own check for deflated entries, but cheap and independent of yauzl's options.
        if (received > entry.uncompressedSize) {
          settle(corrupt(`more data than the declared ${entry.uncompressedSize} bytes`));
          stream.destroy();
          return;
        }
        chunks.push(chunk);
      });
      stream.on('error', (error: Error) => {
        settle(corrupt(error.message));
        stream.destroy();
      });
      stream.on('end', () => {
        const data = Buffer.concat(chunks, received);
        if (data.length !== entry.uncompressedSize) {
          settle(corrupt(`${data.length} bytes instead of the declared ${entry.uncompressedSize}`));
        } else if (crc32(data) !== entry.crc32) {
          // yauzl does not check CRCs; stored entries would otherwise pass corrupted bytes through silently.
          settle(corrupt('CRC-32 mismatch'));
        } else {
          settle({ data });
        }
      });
    });
  });
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
