/**
 * `npm run scale [-- --assets N] [-- --json]` (default 10,000 assets)
 *
 * Builds one batch of N small, distinct, deterministic JPEGs (seeded 96×72 gradients with blocks, ~3 KB each) and its
 * manifest, runs it through the local pipeline to completion on a temporary state folder (durable stand-ins: object
 * bodies on disk, DynamoDB on LevelDB, as `media-triage run` uses them), and prints `assets`, `outcomes`, `seconds`
 * and `peakRssMb`. The SageMaker stand-in answers at once with fixed labels: this measures the pipeline's own
 * scaling (PrepareBatch, the map, CrossCheck, Report), not the models; real models are in `npm run bench`.
 *
 * Peak RSS is the process's VmHWM (worker-thread sandboxes and stand-ins share the process), read after the run.
 * Compare two sizes (e.g. 1,000 and 10,000): a step that held every image would make it grow with N.
 */
import '../local/quiet-node-version-warning';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTaxonomy } from '../lambdas/core/taxonomy';
import { buildZip, manifestCsv, type DemoRow } from '../local/demo-batch';
import { setInvocationTimer } from '../local/lambda-sandboxes';
import { loadTemplate, openLocalSession } from '../local/local-session';
import { ProgressBar } from '../local/progress';
import { syntheticJpeg } from './images';

const { values: args } = parseArgs({
  options: {
    assets: { type: 'string', default: '10000' },
    json: { type: 'boolean', default: false },
  },
});
const assetCount = Number(args.assets);
if (!Number.isInteger(assetCount) || assetCount <= 0) throw new Error('--assets takes a positive whole number');

/** Both endpoints answered at once with valid labels (as bench's instant-model runs): every asset auto-passes. */
function instantAnswer(request: { endpointName: string }): { labels: Array<{ label: string; score: number }> } {
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: label === 'a photo of a boat' ? 0.9 : 0.1 / (candidates.length - 1) })) };
}

/** The process's peak resident set (VmHWM) in MB; Linux only, else the current RSS. */
function peakRssMb(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match !== null) return Math.round(Number(match[1]) / 1024);
  } catch {
    // not Linux: fall through
  }
  return Math.round(process.memoryUsage().rss / 1024 / 1024);
}

async function buildBatch(count: number, bar: ProgressBar): Promise<Buffer> {
  const rows: DemoRow[] = [];
  const files: Record<string, Uint8Array | string> = {};
  for (let index = 0; index < count; index += 1) {
    const file = `images/${String(index).padStart(6, '0')}.jpg`;
    files[file] = await syntheticJpeg(96, 72, 1_000 + index);
    rows.push({
      asset_id: `SCALE-${String(index).padStart(6, '0')}`,
      file,
      merchant_id: `m-scale-${index % 50}`,
      declared_category: 'Boats',
      title: `Boat listing ${index}`,
    });
    if (index % 100 === 0) bar.update(index, count);
  }
  bar.done();
  files['manifest.csv'] = manifestCsv(rows);
  return buildZip(files);
}

function log(message: string): void {
  if (process.stderr.isTTY === true || !args.json) process.stderr.write(`${message}\n`);
}

async function main(): Promise<void> {
  log(`generating ${assetCount} images…`);
  const archive = await buildBatch(assetCount, new ProgressBar('images'));
  const stateDir = mkdtempSync(path.join(tmpdir(), 'scale-run-'));
  const bar = new ProgressBar('map');
  let assetsDone = 0;
  // Handler time per stage (hand-over to answer), to say where the wall time goes.
  const stageMs: Record<string, { invocations: number; totalMs: number }> = {};
  setInvocationTimer((stage, ms) => {
    const entry = (stageMs[stage] ??= { invocations: 0, totalMs: 0 });
    entry.invocations += 1;
    entry.totalMs += Math.round(ms);
  });
  try {
    const template = await loadTemplate();
    const started = performance.now();
    const session = await openLocalSession({
      stateDir,
      template,
      intercept: instantAnswer,
      onMapBatch: (done, total, assets) => {
        assetsDone += assets;
        bar.update(done, total, `${assetsDone} assets`);
        // Without a terminal (a log file): a line every 5% instead of the bar.
        if (process.stderr.isTTY !== true && done % Math.max(1, Math.ceil(total / 20)) === 0) {
          process.stderr.write(
            `map ${done}/${total} children, ${assetsDone} assets, ${Math.round((performance.now() - started) / 1000)} s, peak RSS ${peakRssMb()} MB\n`,
          );
        }
      },
    });
    try {
      const execution = await session.runArchive(archive, `scale-${assetCount}.zip`);
      bar.done();
      const seconds = (performance.now() - started) / 1000;
      const output = execution.output as { status?: string; assets?: number; outcomes?: Record<string, number>; batchId?: string } | undefined;
      if (execution.status !== 'SUCCEEDED' || output?.status !== 'COMPLETED') {
        throw new Error(`the batch did not complete: ${execution.error ?? output?.status ?? 'unknown'} ${execution.cause ?? ''}`);
      }
      const result = {
        assets: output.assets ?? 0,
        outcomes: output.outcomes ?? {},
        seconds: Math.round(seconds * 10) / 10,
        peakRssMb: peakRssMb(),
        assetsPerSec: Math.round(((output.assets ?? 0) / seconds) * 100) / 100,
        archiveMb: Math.round((archive.byteLength / 1024 / 1024) * 10) / 10,
        batchId: output.batchId,
        stages: stageMs,
        models: 'instant (fixed labels from the SageMaker stand-in)',
        machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', loadAverage1m: Math.round(loadavg()[0]! * 10) / 10 },
      };
      if (args.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } else {
        process.stdout.write(
          `assets ${result.assets} in ${result.seconds} s (${result.assetsPerSec}/s), peak RSS ${result.peakRssMb} MB\n` +
            `outcomes ${JSON.stringify(result.outcomes)}\n` +
            `${result.machine.cores} cores (${result.machine.cpu}), load ${result.machine.loadAverage1m}; models ${result.models}\n`,
        );
      }
    } finally {
      await session.close();
    }
  } finally {
    setInvocationTimer(undefined);
    bar.done();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  if (args.json) process.stdout.write(`${JSON.stringify({ error: (error as Error).message, code: 'ERROR' })}\n`);
  process.exitCode = 1;
});
