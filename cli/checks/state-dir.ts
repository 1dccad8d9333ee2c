/**
 * The local state folder (`--state-dir`, `MEDIA_TRIAGE_HOME`): it may not exist yet (the first run creates it), but
 * when something is there it must be a folder; a file there would only fail later, deep inside a stand-in.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../usage';
import { describeFsError } from './fs-errors';

export async function checkStateDir(dir: string): Promise<string> {
  const resolved = path.resolve(dir);
  const info = await stat(resolved).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new UsageError(`the state dir ${dir} cannot be used: ${describeFsError(error)}`);
  });
  if (info !== undefined && !info.isDirectory()) throw new UsageError(`the state dir ${dir} is a file, not a folder`);
  return resolved;
}
