/**
 * A cache of the locally synthesized template, keyed by everything the synth reads: the CDK app and constructs
 * (`lib/`), the stage registry and handlers it points at (`lambdas/`), the configuration (`config/`), `cdk.json`,
 * `package.json` and the lockfile (the CDK version), and the account the environment names. While none of them
 * changes, a local command reuses the template instead of paying seconds of in-process synth; any edit gives a new key.
 * Kept where build tools keep caches (`node_modules/.cache/media-triage/templates/`), never in the OS temp dir; the
 * newest few are kept. `MEDIA_TRIAGE_TEMPLATE_CACHE=off` bypasses it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CfnTemplate } from './template';

const SOURCE_DIRS = ['lib', 'lambdas', 'config'];
// synthesize.ts holds the in-process synth's options (region, skipped bundling), so it shapes the template too.
const SOURCE_FILES = ['local/synthesize.ts', 'cdk.json', 'package.json', 'package-lock.json'];
const SOURCE_EXTENSIONS = new Set(['.ts', '.mts', '.mjs', '.js', '.json']);
// Worktrees of one project share node_modules, hence this cache: keep enough for each of them to find its own.
const KEEP = 16;

function sourceFiles(root: string): string[] {
  const files: string[] = [];
  for (const dir of SOURCE_DIRS) {
    let entries: string[];
    try {
      entries = readdirSync(path.join(root, dir), { recursive: true }) as string[];
    } catch {
      continue;
    }
    for (const entry of entries) if (SOURCE_EXTENSIONS.has(path.extname(entry))) files.push(path.join(dir, entry));
  }
  return [...files.sort(), ...SOURCE_FILES];
}

/** The key of the template the sources under `root` synthesize to (and the environment's account). */
export function templateCacheKey(root: string, account = process.env['CDK_DEFAULT_ACCOUNT'] ?? ''): string {
  const hash = createHash('sha256').update(`account=${account}\n`);
  for (const file of sourceFiles(root)) {
    let content: Buffer;
    try {
      content = readFileSync(path.join(root, file));
    } catch {
      continue;
    }
    hash.update(`${file.split(path.sep).join('/')}\n${content.length}\n`).update(content);
  }
  return hash.digest('hex').slice(0, 32);
}

function cacheDir(root: string): string {
  return path.join(root, 'node_modules', '.cache', 'media-triage', 'templates');
}

function enabled(): boolean {
  return process.env['MEDIA_TRIAGE_TEMPLATE_CACHE'] !== 'off';
}

export function readCachedTemplate(root: string, key: string): CfnTemplate | undefined {
  if (!enabled()) return undefined;
  try {
    return JSON.parse(readFileSync(path.join(cacheDir(root), `${key}.json`), 'utf8')) as CfnTemplate;
  } catch {
    return undefined;
  }
}

export function writeCachedTemplate(root: string, key: string, template: CfnTemplate): void {
  if (!enabled()) return;
  const dir = cacheDir(root);
  try {
    mkdirSync(dir, { recursive: true });
    // Written aside, then renamed: a concurrent reader never sees half a template.
    const partial = path.join(dir, `${key}.json.${randomUUID()}`);
    writeFileSync(partial, JSON.stringify(template));
    renameSync(partial, path.join(dir, `${key}.json`));
    const cached = readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => ({ name, at: statSync(path.join(dir, name)).mtimeMs }))
      .sort((a, b) => b.at - a.at);
    for (const stale of cached.slice(KEEP)) rmSync(path.join(dir, stale.name), { force: true });
  } catch {
    // A cache that cannot be written only costs the next command a synth.
  }
}
