/**
 * A small zip writer for archives ordinary zippers refuse to produce: repeated names, `../` and drive-letter paths,
 * backslashes, symlinks, encryption flags, unknown compression methods and central directories that lie about sizes.
 * Entries are written exactly as described (nothing normalized), so the archive reader meets them as an attacker
 * would send them.
 */
import { crc32, deflateRawSync } from 'node:zlib';
import zlib from 'node:zlib';

const MiB = 1024 * 1024;

export interface ZipEntry {
  name: string;
  /** The file's bytes (deflated here unless `method` is 0 or `stored` is given). */
  data?: Buffer;
  /** Bytes exactly as stored, for lying or pre-compressed entries (then give `uncompressedSize` and `crc`). */
  stored?: Buffer;
  method?: number;
  crc?: number;
  uncompressedSize?: number;
  flags?: number;
  /** Unix mode in the upper 16 bits (0o100644 regular file, 0o120777 symlink). */
  unixMode?: number;
}

export function craftZip(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const method = entry.method ?? 8;
    const data = entry.data ?? Buffer.alloc(0);
    const stored = entry.stored ?? (method === 8 ? deflateRawSync(data) : data);
    const crc = (entry.crc ?? crc32(data)) >>> 0;
    const size = entry.uncompressedSize ?? data.length;
    const flags = (entry.flags ?? 0) | 0x0800; // names are UTF-8
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((entry.unixMode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, stored);
    centrals.push(central, name);
    offset += local.length + name.length + stored.length;
  }
  const directory = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(Math.min(entries.length, 0xffff), 8);
  eocd.writeUInt16LE(Math.min(entries.length, 0xffff), 10);
  eocd.writeUInt32LE(directory.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, eocd]);
}

/** Files by name, deflated: the ordinary case. */
export function zipOf(files: Record<string, Buffer | string>): Buffer {
  return craftZip(Object.entries(files).map(([name, data]) => ({ name, data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data })));
}

/** A raw deflate stream inflating to `mib` MiB of zeros at ~1000:1, built without ever holding the output. */
export function deflatedZeros(mib: number): Buffer {
  const block = zlib.deflateRawSync(Buffer.alloc(MiB), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  // Sync-flushed blocks are byte-aligned and non-final; an empty final fixed block (0x03 0x00) ends the stream.
  return Buffer.concat([...Array.from({ length: mib }, () => block), Buffer.from([0x03, 0x00])]);
}
