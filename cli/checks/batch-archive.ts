/**
 * The batch given to `run`: an existing regular file that is a zip (by its first bytes, not its name) and is named
 * `*.zip`, since the pipeline's trigger starts only for `incoming/*.zip` (README "The batch contract").
 */
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../usage';
import { describeFsError } from './fs-errors';

/** A zip starts with a local file header, or, when it holds nothing, with the end-of-central-directory record. */
const ZIP_SIGNATURES = [Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('PK\x05\x06', 'latin1')];

export interface BatchArchive {
  archive: Buffer;
  /** The name the archive is uploaded under (`incoming/<fileName>`); the batch id derives from it. */
  fileName: string;
}

export async function readBatchArchive(file: string): Promise<BatchArchive> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read the batch ${file}: ${describeFsError(error)}`);
  });
  if (info.isDirectory()) throw new UsageError(`the batch ${file} is a folder; give the path of a batch archive (.zip)`);
  if (!info.isFile()) throw new UsageError(`the batch ${file} is not a regular file; give the path of a batch archive (.zip)`);
  const head = await firstBytes(file, 4);
  if (!ZIP_SIGNATURES.some((signature) => head.equals(signature))) {
    throw new UsageError(
      `the batch ${file} is not a zip archive (a zip starts with "PK\\x03\\x04"; this file starts with ${JSON.stringify(head.toString('latin1'))})`,
    );
  }
  const fileName = path.basename(file);
  if (!fileName.endsWith('.zip')) {
    throw new UsageError(`the batch ${file} must be named *.zip: the pipeline starts only for archives uploaded as incoming/*.zip`);
  }
  const archive = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read the batch ${file}: ${describeFsError(error)}`);
  });
  return { archive, fileName };
}

async function firstBytes(file: string, count: number): Promise<Buffer> {
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read the batch ${file}: ${describeFsError(error)}`);
  });
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
