/**
 * Temp folders the local mode makes (the in-process synth's cloud assembly) live in the OS temp dir under a known
 * prefix carrying the owner's pid, `media-triage-tmp-<label>-<pid>-XXXXXX`, and are removed when the work is done. A
 * process killed mid-work cannot remove its own, so every new one first sweeps those whose pid is gone.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcessAlive } from './process-liveness';

const PREFIX = 'media-triage-tmp-';
const OWNED = /^media-triage-tmp-[a-z]+-(\d+)-/;

export function withTempDir<T>(label: string, work: (dir: string) => T): T {
  sweepStaleTempDirs();
  const dir = mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${label}-${process.pid}-`));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes temp folders of ours whose process no longer runs; returns how many. */
export function sweepStaleTempDirs(tempDir = os.tmpdir()): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(tempDir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const owner = OWNED.exec(name)?.[1];
    if (owner === undefined || isProcessAlive(Number(owner))) continue;
    rmSync(path.join(tempDir, name), { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}
