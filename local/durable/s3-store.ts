/**
 * fauxqs's S3 store, written through to disk: every object is the plain file `<root>/<bucket>/<key>` (what
 * `reportsDir` points users at), written atomically (a temp file in `<root>.tmp`, then rename) before the store
 * returns, so before fauxqs answers the request. Content type, user metadata and ETag go to a small append-only
 * index (`<root>.index.jsonl`), compacted when the store opens. Bodies are not kept in memory: each object reads
 * its file when its body is used, so a state folder holding many batches costs file handles, not RAM, on start.
 *
 * A SIGKILL at any moment leaves each object either absent, as before, or complete: a rename is atomic, and a
 * file whose index line was not written yet is still served (its ETag recomputed from its bytes).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { S3Store, type S3Object } from './fauxqs-internals';
import { afterObjectStored } from '../kill-points';
import { keyToRelativePath, relativePathToKey } from './s3-paths';

/** One index line: the object's attributes that the file itself cannot carry, or its deletion. */
interface IndexEntry {
  b: string;
  k: string;
  del?: true;
  etag?: string;
  contentType?: string;
  metadata?: Record<string, string>;
  lastModified?: number;
  size?: number;
  /** mtime of the file the entry describes: an entry for an older version of the file is ignored. */
  mtimeMs?: number;
}

/** fauxqs keeps its bucket maps private; the subclass reaches the one map it must fill on restore. */
interface StoreInternals {
  buckets: Map<string, Map<string, S3Object>>;
}

let tempCounter = 0;

export class DurableS3Store extends S3Store {
  private readonly indexFile: string;
  private readonly tempDir: string;

  constructor(private readonly root: string) {
    super();
    this.indexFile = `${root}.index.jsonl`;
    this.tempDir = `${root}.tmp`;
    mkdirSync(root, { recursive: true });
    // Leftovers of a write a kill interrupted: never renamed, so never part of the store.
    rmSync(this.tempDir, { recursive: true, force: true });
    mkdirSync(this.tempDir, { recursive: true });
    this.restore();
  }

  override createBucket(name: string): void {
    mkdirSync(path.join(this.root, name), { recursive: true });
    super.createBucket(name);
  }

  override deleteBucket(name: string): void {
    super.deleteBucket(name);
    rmSync(path.join(this.root, name), { recursive: true, force: true });
  }

  override putObject(bucket: string, key: string, body: Buffer, contentType?: string, metadata?: Record<string, string>): S3Object {
    // Let the base class refuse a missing bucket before anything touches the disk.
    if (!this.hasBucket(bucket)) return super.putObject(bucket, key, body, contentType, metadata);
    const file = this.writeFile(bucket, key, body);
    const stored = super.putObject(bucket, key, body, contentType, metadata);
    const persisted = this.persisted(bucket, stored, file);
    afterObjectStored(key);
    return persisted;
  }

  override completeMultipartUpload(uploadId: string, parts: { partNumber: number; etag: string }[]): S3Object {
    const stored = super.completeMultipartUpload(uploadId, parts);
    const bucket = [...this.internals().buckets].find(([, objects]) => objects.get(stored.key) === stored)?.[0];
    if (bucket === undefined) throw new Error(`completed upload ${uploadId} is in no bucket`);
    try {
      const persisted = this.persisted(bucket, stored, this.writeFile(bucket, stored.key, stored.body));
      afterObjectStored(stored.key);
      return persisted;
    } catch (error) {
      // Memory must not hold what the disk does not: the client sees the failure and uploads again.
      this.internals().buckets.get(bucket)?.delete(stored.key);
      throw error;
    }
  }

  override getObject(bucket: string, key: string): S3Object {
    // One read of the file per request (the lazy body would read it on every access).
    const stored = super.getObject(bucket, key);
    return { ...stored, body: stored.body };
  }

  override headObject(bucket: string, key: string): S3Object {
    // The base class's headObject goes through getObject, which would read the file for a HEAD.
    return super.getObject(bucket, key);
  }

  override deleteObject(bucket: string, key: string): void {
    super.deleteObject(bucket, key);
    rmSync(path.join(this.root, bucket, keyToRelativePath(key)), { force: true });
    this.appendIndex({ b: bucket, k: key, del: true });
  }

  override emptyBucket(name: string): void {
    super.emptyBucket(name);
    if (!this.hasBucket(name)) return;
    rmSync(path.join(this.root, name), { recursive: true, force: true });
    mkdirSync(path.join(this.root, name), { recursive: true });
  }

  override clearObjects(): void {
    for (const { name } of this.listBuckets()) this.emptyBucket(name);
    super.clearObjects();
  }

  override purgeAll(): void {
    super.purgeAll();
    rmSync(this.root, { recursive: true, force: true });
    mkdirSync(this.root, { recursive: true });
    writeFileSync(this.indexFile, '');
  }

  private internals(): StoreInternals {
    return this as unknown as StoreInternals;
  }

  /** Writes the bytes to a temp file and renames it into place; returns the final path. */
  private writeFile(bucket: string, key: string, body: Buffer): string {
    const target = path.join(this.root, bucket, keyToRelativePath(key));
    const temp = path.join(this.tempDir, `${process.pid}-${(tempCounter += 1)}`);
    writeFileSync(temp, body);
    try {
      mkdirSync(path.dirname(target), { recursive: true });
      renameSync(temp, target);
    } catch (error) {
      rmSync(temp, { force: true });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
        // A plain file tree cannot hold both `a` and `a/b`; say so rather than keep one only in memory.
        throw new Error(`local S3 cannot store s3://${bucket}/${key}: a file tree cannot hold a key that is also a folder of other keys`);
      }
      throw error;
    }
    return target;
  }

  /** Records the object's attributes in the index and swaps its in-memory body for a read of its file. */
  private persisted(bucket: string, stored: S3Object, file: string): S3Object {
    const { mtimeMs } = statSync(file);
    this.appendIndex({
      b: bucket,
      k: stored.key,
      etag: stored.etag,
      contentType: stored.contentType,
      metadata: stored.metadata,
      lastModified: stored.lastModified.getTime(),
      size: stored.contentLength,
      mtimeMs,
    });
    readBodyFromFile(stored, file);
    return stored;
  }

  private appendIndex(entry: IndexEntry): void {
    appendFileSync(this.indexFile, `${JSON.stringify(entry)}\n`);
  }

  /** Loads every bucket folder and object file, then rewrites the index with only the live entries. */
  private restore(): void {
    const index = readIndex(this.indexFile);
    const live: IndexEntry[] = [];
    for (const bucketEntry of readdirSync(this.root, { withFileTypes: true })) {
      if (!bucketEntry.isDirectory()) continue;
      const bucket = bucketEntry.name;
      super.createBucket(bucket);
      const objects = this.internals().buckets.get(bucket)!;
      const bucketRoot = path.join(this.root, bucket);
      for (const file of readdirSync(bucketRoot, { recursive: true, withFileTypes: true })) {
        if (!file.isFile()) continue;
        const full = path.join(file.parentPath, file.name);
        const key = relativePathToKey(path.relative(bucketRoot, full));
        const stat = statSync(full);
        const known = index.get(indexKey(bucket, key));
        const entry: IndexEntry =
          known !== undefined && known.size === stat.size && known.mtimeMs === stat.mtimeMs
            ? known
            : // A file the index does not describe (a kill between rename and index line, or a file a person put
              // there): its bytes are the truth.
              {
                b: bucket,
                k: key,
                etag: `"${createHash('md5').update(readFileSync(full)).digest('hex')}"`,
                lastModified: stat.mtimeMs,
                size: stat.size,
                mtimeMs: stat.mtimeMs,
              };
        live.push(entry);
        const object: S3Object = {
          key,
          body: Buffer.alloc(0),
          contentType: entry.contentType ?? 'application/octet-stream',
          contentLength: stat.size,
          etag: entry.etag!,
          lastModified: new Date(entry.lastModified ?? stat.mtimeMs),
          metadata: entry.metadata ?? {},
        };
        readBodyFromFile(object, full);
        objects.set(key, object);
      }
    }
    const compacted = `${this.indexFile}.compacting`;
    writeFileSync(compacted, live.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    renameSync(compacted, this.indexFile);
  }
}

function indexKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}

/** The latest entry per object; a torn last line (a kill mid-append) is ignored. */
function readIndex(file: string): Map<string, IndexEntry> {
  const entries = new Map<string, IndexEntry>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return entries;
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let entry: IndexEntry;
    try {
      entry = JSON.parse(line) as IndexEntry;
    } catch {
      continue;
    }
    if (entry.del === true) entries.delete(indexKey(entry.b, entry.k));
    else entries.set(indexKey(entry.b, entry.k), entry);
  }
  return entries;
}

function readBodyFromFile(object: S3Object, file: string): void {
  Object.defineProperty(object, 'body', { get: () => readFileSync(file), enumerable: true, configurable: true });
}

/** Removes a leftover file of the old save-at-exit format, if any (its content is the file tree itself). */
export function unlinkIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
