/**
 * Brings a batch archive from S3 to the function's ephemeral storage, hashing it on the way, so the archive is read
 * from disk (random access, entry by entry) and never held in memory. Each download gets its own folder, removed by
 * `dispose`; folders an earlier, crashed invocation left behind in a reused sandbox are swept on the next download.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { objectKeyCandidates } from '../core/object-key';
import { getObjectStream, isNoSuchKey } from './object-store';

const FOLDER_PREFIX = 'media-triage-archive-';
/** Longer than any invocation (PrepareBatch's timeout is 15 minutes), so a live download's folder is never swept. */
const STALE_AFTER_MS = 30 * 60 * 1000;

export interface FetchedArchive {
  /** The key the object was found under (the event's key, or its URL-decoded form). */
  key: string;
  sha256: string;
  size: number;
  /** The archive on local disk; undefined when it is above `maxBytes` (then it is only hashed, never stored). */
  path?: string;
  dispose(): Promise<void>;
}

export async function fetchArchive(bucket: string, eventKey: string, maxBytes: number): Promise<FetchedArchive> {
  const { key, body, size } = await openFirstExisting(bucket, eventKey);
  const hash = createHash('sha256');
  let received = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      received += chunk.length;
      callback(null, chunk);
    },
  });
  if (size > maxBytes) {
    // Hashed for the batch id (the refusal is recorded under it), without a byte on disk.
    await pipeline(body, tap, discard());
    return { key, sha256: hash.digest('hex'), size: received, dispose: async () => {} };
  }
  await sweepStaleFolders();
  const folder = await mkdtemp(path.join(tmpdir(), FOLDER_PREFIX));
  const dispose = (): Promise<void> => rm(folder, { recursive: true, force: true });
  try {
    const file = path.join(folder, 'archive.zip');
    await pipeline(body, tap, createWriteStream(file));
    return { key, sha256: hash.digest('hex'), size: received, path: file, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

async function openFirstExisting(bucket: string, eventKey: string): Promise<{ key: string; body: Readable; size: number }> {
  const candidates = objectKeyCandidates(eventKey);
  let firstError: unknown;
  for (const key of candidates) {
    try {
      return { key, ...(await getObjectStream(bucket, key)) };
    } catch (error) {
      if (!isNoSuchKey(error)) throw error;
      firstError ??= error;
    }
  }
  throw firstError;
}

function discard(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

async function sweepStaleFolders(): Promise<void> {
  const root = tmpdir();
  const names = (await readdir(root).catch(() => [] as string[])).filter((name) => name.startsWith(FOLDER_PREFIX));
  const now = Date.now();
  for (const name of names) {
    const folder = path.join(root, name);
    const info = await stat(folder).catch(() => undefined);
    if (info !== undefined && now - info.mtimeMs > STALE_AFTER_MS) await rm(folder, { recursive: true, force: true });
  }
}
