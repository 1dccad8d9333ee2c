/**
 * The stages' handlers bundled the way lib/constructs/stage-function.ts bundles them for Lambda (esbuild, ESM,
 * `module` before `main`, the `require` banner), except that the AWS SDK is bundled too (Lambda's runtime provides
 * it; a bundle outside the project cannot reach node_modules).
 *
 * Kept where build tools keep caches (`node_modules/.cache/media-triage/lambdas/`, never the OS temp dir), under the
 * bundle's content hash, so processes share identical bundles. Beside each bundle a small index records the project
 * files it was built from and their hash: while none of them (nor the lockfile, i.e. the packages) changes, a later
 * process takes the bundle as it is instead of running esbuild again (about a second per handler on a busy machine,
 * paid at every start before this). As for Lambda, the WebP/AVIF decoders' `.wasm` files lie beside the bundles and
 * the bundles look for them there (lambdas/core/image-codecs.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { imageCodecWasmFiles } from '../lambdas/core/image-codecs';

const QUIET_NODE_VERSION_WARNING = fileURLToPath(new URL('./quiet-node-version-warning.ts', import.meta.url));
/** Files outside the module graph that still shape every bundle: the packages' versions and the compiler settings. */
const ALWAYS_HASHED = ['package-lock.json', 'tsconfig.json'];

const bundles = new Map<string, Promise<string>>();

interface BundleIndex {
  /** Project-relative files esbuild read (node_modules excluded: the lockfile stands for them). */
  inputs: string[];
  sourceHash: string;
  bundle: string;
}

function cacheDir(projectRoot: string): string {
  return path.join(projectRoot, 'node_modules', '.cache', 'media-triage', 'lambdas');
}

/** One index per checkout and stage: checkouts sharing one node_modules (worktrees) must not overwrite each other's. */
function indexFile(projectRoot: string, stem: string): string {
  return path.join(cacheDir(projectRoot), `${stem}.${createHash('sha256').update(projectRoot).digest('hex').slice(0, 8)}.index.json`);
}

/** Hash of the given project files' contents, plus the lockfile, tsconfig and Node's major version. */
function sourceHash(projectRoot: string, inputs: readonly string[]): string | undefined {
  const hash = createHash('sha256').update(`node${process.versions.node.split('.')[0]}\n`);
  for (const file of [...inputs, ...ALWAYS_HASHED]) {
    try {
      hash.update(`${file}\n`).update(readFileSync(path.join(projectRoot, file)));
    } catch {
      return undefined;
    }
  }
  return hash.digest('hex');
}

/** The bundle a previous process built from exactly the current sources, if there is one. */
export function reusableBundle(projectRoot: string, stem: string): string | undefined {
  if (process.env['MEDIA_TRIAGE_BUNDLE_CACHE'] === 'off') return undefined;
  try {
    const index = JSON.parse(readFileSync(indexFile(projectRoot, stem), 'utf8')) as BundleIndex;
    const file = path.join(cacheDir(projectRoot), index.bundle);
    if (!existsSync(file) || sourceHash(projectRoot, index.inputs) !== index.sourceHash) return undefined;
    return pathToFileURL(file).href;
  } catch {
    return undefined;
  }
}

async function build(projectRoot: string, entryPath: string, stem: string): Promise<string> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    stdin: {
      // The Node 22 notice of the SDK is dropped here as in the CLI and the tests (quiet-node-version-warning.ts).
      contents: `import ${JSON.stringify(QUIET_NODE_VERSION_WARNING)};\nexport { handler } from ${JSON.stringify(entryPath)};\n`,
      resolveDir: projectRoot,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    mainFields: ['module', 'main'],
    // The project's own settings for every file, not whatever tsconfig.json lies above a symlinked node_modules.
    tsconfig: path.join(projectRoot, 'tsconfig.json'),
    banner: { js: "import { createRequire as __mtCreateRequire } from 'node:module'; const require = __mtCreateRequire(import.meta.url);" },
    define: { __MEDIA_TRIAGE_WASM_BESIDE_BUNDLE__: 'true' },
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.contents;
  const dir = cacheDir(projectRoot);
  const name = `${stem}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
  const file = path.join(dir, name);
  await mkdir(dir, { recursive: true });
  if (!existsSync(file)) {
    // Written aside, then renamed: another process may be writing the same bundle.
    const partial = `${file}.${randomUUID()}`;
    await writeFile(partial, code);
    await rename(partial, file);
    await removeStaleBundles(dir, stem, file);
  }
  // esbuild's paths are relative to its working directory; keep the project's own files, as project-relative paths.
  const inputs = Object.keys(result.metafile.inputs)
    .map((input) => path.relative(projectRoot, path.resolve(process.cwd(), input)))
    .filter((input) => !input.startsWith('..') && !input.split(path.sep).includes('node_modules') && !input.startsWith('<'))
    .sort();
  const hash = sourceHash(projectRoot, inputs);
  if (hash !== undefined) {
    const index: BundleIndex = { inputs, sourceHash: hash, bundle: name };
    const target = indexFile(projectRoot, stem);
    const partial = `${target}.${randomUUID()}`;
    await writeFile(partial, JSON.stringify(index));
    await rename(partial, target);
  }
  return pathToFileURL(file).href;
}

/**
 * Bundles of older sources of this handler go once nobody can still be starting from them (another checkout sharing
 * node_modules, a run that began before an edit): only those untouched for a day.
 */
async function removeStaleBundles(dir: string, stem: string, current: string): Promise<void> {
  const dayAgo = Date.now() - 86_400_000;
  for (const name of await readdir(dir)) {
    if (!name.startsWith(`${stem}-`) || !name.endsWith('.mjs') || path.join(dir, name) === current) continue;
    const stale = path.join(dir, name);
    const modified = (await stat(stale).catch(() => undefined))?.mtimeMs ?? Infinity;
    if (modified < dayAgo) await rm(stale, { force: true }).catch(() => undefined);
  }
}

/** The file URL of the stage's bundled handler: reused when its sources are unchanged, else built (once per process). */
export function bundledHandler(projectRoot: string, entry: string): Promise<string> {
  const entryPath = path.join(projectRoot, entry);
  let bundle = bundles.get(entryPath);
  if (bundle === undefined) {
    const stem = path.basename(entry, '.ts');
    const reusable = reusableBundle(projectRoot, stem);
    const built = reusable === undefined ? build(projectRoot, entryPath, stem) : Promise.resolve(reusable);
    bundle = placeCodecsBeside(cacheDir(projectRoot)).then(() => built);
    bundles.set(entryPath, bundle);
    bundle.catch(() => bundles.delete(entryPath));
  }
  return bundle;
}

/** The decoders' `.wasm` files in the bundle folder (written aside and renamed: other processes may do the same). */
async function placeCodecsBeside(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const source of imageCodecWasmFiles()) {
    const target = path.join(dir, path.basename(source));
    const size = (await stat(target).catch(() => undefined))?.size;
    if (size === (await stat(source)).size) continue;
    const partial = `${target}.${randomUUID()}`;
    await copyFile(source, partial);
    await rename(partial, target);
  }
}

/** For tests: the index of a stage's cached bundle (undefined when there is none). */
export async function bundleIndex(projectRoot: string, entry: string): Promise<BundleIndex | undefined> {
  const text = await readFile(indexFile(projectRoot, path.basename(entry, '.ts')), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as BundleIndex);
}
