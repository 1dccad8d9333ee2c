/**
 * The local state folder's ownership rules:
 * - **Marker**: media-triage writes `.media-triage-state.json` into a folder only when it creates that folder, and
 *   `reset` deletes only a folder carrying it — never one it did not make (`--state-dir .` in a project folder).
 * - **Lock**: one run per folder. `run.lock` holds the holder's pid (and, on Linux, the process start time, so a
 *   reused pid is not mistaken for the holder); a lock whose holder is gone is stale and taken over.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, readFile, readdir, realpath, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isProcessAlive } from './process-liveness';

export const MARKER_FILE = '.media-triage-state.json';
export const LOCK_FILE = 'run.lock';
const MARKER_KIND = 'media-triage local state';

export type StateDirErrorCode = 'STATE_LOCKED' | 'NOT_A_STATE_DIR';

export class StateDirError extends Error {
  constructor(
    message: string,
    readonly code: StateDirErrorCode,
  ) {
    super(message);
    this.name = 'StateDirError';
  }
}

/** Creates the state folder with its marker when it does not exist; an existing folder is used as it is. */
export async function ensureStateDir(dir: string): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  try {
    await mkdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if (!(await stat(dir)).isDirectory()) throw new StateDirError(`the state folder ${dir} exists and is not a folder`, 'NOT_A_STATE_DIR');
    return;
  }
  const marker = path.join(dir, MARKER_FILE);
  await writeFile(`${marker}.tmp`, `${JSON.stringify({ kind: MARKER_KIND, createdAt: new Date().toISOString(), pid: process.pid }, null, 2)}\n`);
  await rename(`${marker}.tmp`, marker);
}

export async function hasMarker(dir: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(path.join(dir, MARKER_FILE), 'utf8')) as { kind?: string };
    return marker.kind === MARKER_KIND;
  } catch {
    return false;
  }
}

interface LockContent {
  pid: number;
  startedAt: string;
  command: string;
  /** /proc/<pid>/stat start time (clock ticks since boot), Linux only. */
  processStart?: string;
}

export interface StateLock {
  readonly dir: string;
  release(): void;
}

/** Start time of a process from /proc (Linux); undefined where /proc is not available. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the parenthesised command name (which may contain spaces).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function holderIsAlive(holder: LockContent): boolean {
  if (!isProcessAlive(holder.pid)) return false;
  if (holder.processStart === undefined) return true;
  const current = processStart(holder.pid);
  return current === undefined || current === holder.processStart;
}

function readLock(file: string): { text: string; content?: LockContent } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const content = JSON.parse(text) as LockContent;
    return { text, content: typeof content.pid === 'number' ? content : undefined };
  } catch {
    return { text };
  }
}

function lockedError(dir: string, holder: LockContent | undefined): StateDirError {
  const who =
    holder === undefined ? 'another media-triage process that is starting' : `media-triage (pid ${holder.pid}, ${holder.command}, since ${holder.startedAt})`;
  return new StateDirError(`the state folder ${dir} is in use by ${who}; wait for it to finish or stop it, then try again`, 'STATE_LOCKED');
}

/**
 * Takes the folder's lock or throws STATE_LOCKED naming the holder. The lock is released by `release()` and, as a
 * fallback, when the process exits (a SIGKILL leaves it behind; the next run sees its pid is gone).
 */
export function acquireStateLock(dir: string, command: string): StateLock {
  const file = path.join(dir, LOCK_FILE);
  const content: LockContent = { pid: process.pid, startedAt: new Date().toISOString(), command, processStart: processStart(process.pid) };
  const text = `${JSON.stringify(content)}\n`;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      takeOverIfStale(dir, file);
      continue;
    }
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    return heldLock(dir, file, text);
  }
  throw lockedError(dir, readLock(file)?.content);
}

/** Removes a lock whose holder is gone; throws STATE_LOCKED when the holder runs. */
function takeOverIfStale(dir: string, file: string): void {
  const seen = readLock(file);
  if (seen === undefined) return;
  if (seen.content === undefined) {
    // Unreadable: a process between creating and writing its lock (microseconds), or one killed right there.
    const age = Date.now() - safeMtime(file);
    if (age < 2000) throw lockedError(dir, undefined);
  } else if (holderIsAlive(seen.content)) {
    throw lockedError(dir, seen.content);
  }
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = readLock(aside);
  if (moved !== undefined && moved.text !== seen.text) {
    // Another process took the stale lock over between our read and our rename: give its lock back.
    try {
      linkSync(aside, file);
    } finally {
      unlinkSync(aside);
    }
    throw lockedError(dir, moved.content);
  }
  unlinkSync(aside);
}

function safeMtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function heldLock(dir: string, file: string, text: string): StateLock {
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    // Only ever remove our own lock (a reset may have removed the folder, or a takeover replaced it).
    if (readLock(file)?.text === text) unlinkSync(file);
  };
  process.on('exit', release);
  return { dir, release };
}

export type ResetOutcome = { ok: true; removed: boolean; stateDir: string } | { ok: false; error: string; code: StateDirErrorCode; stateDir: string };

/**
 * Deletes a state folder media-triage created (it carries the marker) and that no run holds. Refuses anything else
 * with a sentence saying why. The marker goes last, so an interrupted reset can simply be run again.
 */
export async function resetStateDir(dir: string): Promise<ResetOutcome> {
  let real: string;
  try {
    real = await realpath(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, removed: false, stateDir: dir };
    throw error;
  }
  if (!(await stat(real)).isDirectory() || !(await hasMarker(real))) {
    return {
      ok: false,
      code: 'NOT_A_STATE_DIR',
      stateDir: dir,
      error: `${dir} was not created by media-triage (it has no ${MARKER_FILE}); not deleting it — remove it yourself if it really is local state`,
    };
  }
  let lock: StateLock;
  try {
    lock = acquireStateLock(real, 'reset');
  } catch (error) {
    if (error instanceof StateDirError) return { ok: false, code: error.code, stateDir: dir, error: error.message };
    throw error;
  }
  try {
    for (const name of await readdir(real)) {
      if (name === MARKER_FILE || name === LOCK_FILE) continue;
      await rm(path.join(real, name), { recursive: true, force: true });
    }
    await rm(path.join(real, MARKER_FILE), { force: true });
  } finally {
    lock.release();
  }
  await rmdir(real);
  return { ok: true, removed: true, stateDir: dir };
}
