/**
 * Which state machine definitions the interpreter has already validated, remembered across processes.
 *
 * aws-local-stepfunctions validates a definition with asl-validator, which compiles its JSON schemas on every call:
 * about 0.5 s of main-thread CPU for the batch machine and 0.3 s for the Map's item processor, paid by every command
 * before its first state ran (measured with MEDIA_TRIAGE_TRACE). Validation is a pure function of the definition and
 * the validator's version, so a definition that passed once passes again: the cache records the SHA-256 of the
 * definition's JSON together with the lockfile's (which pins the validator), and a changed package or definition
 * is validated afresh. Kept where build tools keep caches (`node_modules/.cache/media-triage/`);
 * `MEDIA_TRIAGE_BUNDLE_CACHE=off` (which also turns off the handler bundle cache) bypasses it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './project-root';

/** Definitions kept: the batch machine and its item processor, for several checkouts sharing one node_modules. */
const KEEP = 64;

const inProcess = new Set<string>();
let lockfileHash: string | undefined;

function cacheFile(): string {
  return path.join(PROJECT_ROOT, 'node_modules', '.cache', 'media-triage', 'validated-definitions.json');
}

function enabled(): boolean {
  return process.env['MEDIA_TRIAGE_BUNDLE_CACHE'] !== 'off';
}

function keyOf(definitionJson: string): string {
  if (lockfileHash === undefined) {
    let lockfile: Buffer;
    try {
      lockfile = readFileSync(path.join(PROJECT_ROOT, 'package-lock.json'));
    } catch {
      lockfile = Buffer.alloc(0);
    }
    lockfileHash = createHash('sha256').update(lockfile).digest('hex');
  }
  return createHash('sha256').update(`${lockfileHash}\n`).update(definitionJson).digest('hex');
}

function readRecorded(): string[] {
  try {
    const parsed = JSON.parse(readFileSync(cacheFile(), 'utf8')) as unknown;
    return Array.isArray(parsed) ? parsed.filter((entry): entry is string => typeof entry === 'string') : [];
  } catch {
    return [];
  }
}

/** True when this definition (its JSON text) passed validation before, in this process or an earlier one. */
export function wasValidated(definitionJson: string): boolean {
  if (inProcess.has(definitionJson)) return true;
  if (!enabled()) return false;
  const known = readRecorded().includes(keyOf(definitionJson));
  if (known) inProcess.add(definitionJson);
  return known;
}

/** Records that this definition passed validation (the interpreter threw nothing for it). */
export function recordValidated(definitionJson: string): void {
  if (inProcess.has(definitionJson)) return;
  inProcess.add(definitionJson);
  if (!enabled()) return;
  const key = keyOf(definitionJson);
  const recorded = readRecorded().filter((entry) => entry !== key);
  const file = cacheFile();
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    // Written aside, then renamed: a concurrent reader sees the old list or the new one, never half of one.
    const partial = `${file}.${randomUUID()}`;
    writeFileSync(partial, JSON.stringify([key, ...recorded].slice(0, KEEP)));
    renameSync(partial, file);
  } catch {
    // A cache that cannot be written only costs the next command a validation.
  }
}
