/**
 * `npm run bench [-- --images N] [-- --runs K] [-- --large 12,16,24] [-- --workers N] [-- --quick] [-- --skip-models]
 * [-- --skip-memory] [-- --skip-startup] [-- --json]`
 *
 * Generates a deterministic image set in a temp folder, then measures in one process: the Preprocess jimp floor (one
 * core, all cores), the local pipeline with the SageMaker stand-in answering at once, the pipeline with the bundled
 * models and the models' own floor (one thread, all cores), the start-up of the real `run` command in fresh processes
 * (a first and then warm runs), and the peak memory of one Preprocess on a 36 MP image. Every figure is taken `--runs`
 * times (default 3) and reported as the median; `--quick` is a smoke run (20 images, no large ones, one run, no
 * memory probe). The load average at the start and the end goes into the figures: on a shared machine, figures taken
 * under load are not clean. Prints a summary, writes bench/results/<timestamp>.json (git-ignored) and, with --json,
 * ends with one JSON line.
 */
import '../local/quiet-node-version-warning';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PREPROCESS_OPTIONS } from '../lambdas/core/image';
import { loadTaxonomy } from '../lambdas/core/taxonomy';
import { PROJECT_ROOT } from '../local/project-root';
import { loadTemplate } from '../local/local-session';
import { ProgressBar } from '../local/progress';
import { sharedModelPool } from '../local/sagemaker/model-pool';
import { modelServerEnabled, sharedRemoteModelPool, stopModelServer } from '../local/sagemaker/model-server-client';
import { readLocalStack } from '../local/template';
import { allCoresFloor, allCoresModelsFloor, modelsFloor, singleCoreFloor } from './floor';
import { generateImageSet, syntheticJpeg, type BenchImage } from './images';
import { buildArchive, runPipeline, type PipelineResult } from './pipeline';
import { measured, median, round } from './stats';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string' },
    large: { type: 'string' },
    runs: { type: 'string' },
    workers: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'skip-models': { type: 'boolean', default: false },
    'skip-memory': { type: 'boolean', default: false },
    'skip-startup': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
// --quick only changes the defaults; an explicit --images, --large or --runs still wins.
const smallCount = Number(args.images ?? (args.quick ? '20' : '200'));
const largeText = args.large ?? (args.quick ? '' : '12,16,24');
const largeMegapixels = largeText === '' ? [] : largeText.split(',').map(Number);
const runs = Number(args.runs ?? (args.quick ? '1' : '3'));
const workers = args.workers === undefined ? undefined : Number(args.workers);
const skipMemory = args['skip-memory'] || args.quick;
if (![smallCount, runs, ...largeMegapixels, workers ?? 1].every((n) => Number.isFinite(n) && n > 0)) {
  throw new Error('--images, --runs, --workers and --large take positive numbers');
}
/** Images in the archive the start-up probe runs (a small batch: start-up, not throughput, is measured). */
const STARTUP_IMAGES = 10;

/** The model answer of the stand-in when no model should run: fixed labels of a valid shape for both endpoints. */
function fixedAnswer(request: { endpointName: string }): { labels: Array<{ label: string; score: number }> } {
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: label === 'a photo of a boat' ? 0.9 : 0.1 / (candidates.length - 1) })) };
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function withBar<T>(label: string, total: number, work: (tick: (done: number) => void) => Promise<T>): Promise<T> {
  const bar = new ProgressBar(label);
  try {
    return await work((done) => bar.update(done, total));
  } finally {
    bar.done();
  }
}

function cpuUtilisation(run: { cpuMs: number; wallMs: number }): number {
  return run.cpuMs / run.wallMs;
}

async function pipelineRuns(
  label: string,
  template: Awaited<ReturnType<typeof loadTemplate>>,
  archive: Buffer,
  images: number,
  intercept?: typeof fixedAnswer,
): Promise<PipelineResult[]> {
  const results: PipelineResult[] = [];
  const children = Math.ceil(images / 5);
  for (let run = 1; run <= runs; run += 1) {
    const result = await withBar(`${label} ${run}/${runs}`, children, (tick) => runPipeline(template, archive, images, { intercept, workers, onAsset: tick }));
    // A failed execution is reported, not fatal: its figures stay in the results, marked by `failedRuns`.
    if (result.status !== 'SUCCEEDED') log(`${label}: the execution ended ${result.status}\n${result.failure ?? ''}`);
    results.push(result);
  }
  return results;
}

/** Medians per stage over runs. */
function stageMedians(results: readonly PipelineResult[]): Record<string, { invocations: number; p50Ms: number; p95Ms: number; msPerImage: number }> {
  const stages = new Set(results.flatMap((result) => Object.keys(result.stages)));
  return Object.fromEntries(
    [...stages].map((stage) => {
      const of = (key: 'invocations' | 'p50Ms' | 'p95Ms' | 'msPerImage') =>
        round(median(results.map((result) => result.stages[stage]?.[key] ?? Number.NaN)), 1);
      return [stage, { invocations: of('invocations'), p50Ms: of('p50Ms'), p95Ms: of('p95Ms'), msPerImage: of('msPerImage') }];
    }),
  );
}

function summary(results: readonly PipelineResult[]) {
  return {
    failedRuns: results.filter((r) => r.status !== 'SUCCEEDED').map((r) => r.failure ?? r.status),
    imagesPerSec: round(median(results.map((r) => r.imagesPerSec))),
    wallSeconds: round(median(results.map((r) => r.wallMs)) / 1000),
    cpuUtilisation: round(median(results.map(cpuUtilisation))),
    openSessionSeconds: round(median(results.map((r) => r.openSessionMs)) / 1000),
    firstAssetSeconds: round(median(results.map((r) => r.firstAssetMs)) / 1000),
    stages: stageMedians(results),
  };
}

async function preprocessPeak(
  dir: string,
): Promise<{ megapixels: number; peakRssMb: number; baselineRssMb: number; functionMemoryMb: number } & { ok: boolean }> {
  const side = Math.floor(Math.sqrt(DEFAULT_PREPROCESS_OPTIONS.maxPixels));
  log(`generating a ${side}×${side} JPEG (the pixel guard's largest square)…`);
  const file = path.join(dir, 'largest.jpg');
  writeFileSync(file, await syntheticJpeg(side, side, 36));
  const output = execFileSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'preprocess-peak.ts'), file], { encoding: 'utf8' });
  const peak = JSON.parse(output.trim().split('\n').at(-1)!) as { baselineRssMb: number; peakRssMb: number; ok: boolean };
  return {
    megapixels: round((side * side) / 1e6, 1),
    ...peak,
    peakRssMb: round(peak.peakRssMb, 0),
    baselineRssMb: round(peak.baselineRssMb, 0),
    functionMemoryMb: 0,
  };
}

interface StartupRun {
  firstAssetMs: number | null;
  totalMs: number;
  exitCode: number;
  /** The start-up timeline (MEDIA_TRIAGE_TRACE marks), ms from the process's start. */
  phases: StartupPhases;
}

interface StartupPhases {
  /** The CLI and the local runtime's modules loaded, the state folder locked. */
  modulesLoadedMs: number | null;
  /** Stand-ins up, resources created, the archive uploaded: the execution starts. */
  executionStartedMs: number | null;
  /** The first image's own work begins (the first Preprocess invocation starts). */
  firstImageWorkMs: number | null;
}

function traceTime(stderr: string, label: string): number | null {
  const line = stderr.split('\n').find((candidate) => candidate.startsWith('[trace] ') && candidate.endsWith(` ${label}`));
  return line === undefined ? null : Number(line.split(' ')[1]);
}

/**
 * The real `run` command in fresh processes (bench/startup-probe.ts), each on a new state folder, with the bundled
 * models. The first run is cold: no model server (it is stopped first), so that run loads the models and leaves the
 * server for the warm runs after it, as a user's second command finds it. The warm runs alternate a one-image archive
 * (the fixed start-up plus one image's own work) and the STARTUP_IMAGES archive (whose first asset is recorded with
 * the first map child: ItemBatcher's 5 items go through each stage together).
 */
async function startupRuns(dir: string, images: readonly BenchImage[]): Promise<{ first: StartupRun; warmOne: StartupRun[]; warmMany: StartupRun[] }> {
  const manyFile = path.join(dir, 'startup.zip');
  const oneFile = path.join(dir, 'startup-one.zip');
  writeFileSync(manyFile, await buildArchive(images.slice(0, STARTUP_IMAGES)));
  writeFileSync(oneFile, await buildArchive(images.slice(0, 1)));
  let index = 0;
  const probe = (archiveFile: string): StartupRun => {
    const stateDir = path.join(dir, `startup-state-${(index += 1)}`);
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'startup-probe.ts'), 'run', archiveFile, '--json', '--state-dir', stateDir],
      {
        encoding: 'utf8',
        env: { ...process.env, MEDIA_TRIAGE_TRACE: '1' },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    rmSync(stateDir, { recursive: true, force: true });
    const run = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Omit<StartupRun, 'phases'>;
    return {
      ...run,
      phases: {
        modulesLoadedMs: traceTime(child.stderr, 'run: modules loaded, state folder locked'),
        executionStartedMs: traceTime(child.stderr, 'session: archive uploaded'),
        firstImageWorkMs: traceTime(child.stderr, 'invocation start: Preprocess'),
      },
    };
  };
  return withBar('start-up (fresh processes)', 2 * runs + 1, async (tick) => {
    await stopModelServer();
    const first = probe(manyFile);
    tick(1);
    const warmOne: StartupRun[] = [];
    const warmMany: StartupRun[] = [];
    for (let run = 1; run <= runs; run += 1) {
      warmOne.push(probe(oneFile));
      warmMany.push(probe(manyFile));
      tick(2 * run + 1);
    }
    return { first, warmOne, warmMany };
  });
}

const seconds = (ms: number | null | undefined): number => round((ms ?? Number.NaN) / 1000);
const medianSeconds = (values: ReadonlyArray<number | null>): number => seconds(median(values.map((value) => value ?? Number.NaN)));

/**
 * Per-image stage times for `media-triage cost`, as a Lambda would see them: each stage of the instant-model run
 * (the least CPU contention), except Preprocess at the one-core floor (a Lambda has its own CPU; locally seven
 * sandboxes share two cores) and Classify as its own overhead plus the slower of the two model calls (it makes both
 * at once and waits on them).
 */
function durationsForCost(
  instant: ReturnType<typeof summary>,
  preprocessMsPerImage: number,
  models: ReadonlyArray<{ categoryMsPerCall: number; policyMsPerCall: number }>,
  avgImageMb: number,
) {
  const stageMsPerImage = Object.fromEntries(Object.entries(instant.stages).map(([stage, figures]) => [stage, figures.msPerImage]));
  stageMsPerImage['Preprocess'] = round(preprocessMsPerImage, 1);
  const modelMsPerCall: Record<string, number> = {};
  if (models.length > 0) {
    modelMsPerCall['zero-shot-image-classification'] = round(median(models.map((r) => r.categoryMsPerCall)), 1);
    modelMsPerCall['image-classification'] = round(median(models.map((r) => r.policyMsPerCall)), 1);
    stageMsPerImage['Classify'] = round((stageMsPerImage['Classify'] ?? 0) + Math.max(...Object.values(modelMsPerCall)), 1);
  }
  return { stageMsPerImage, modelMsPerCall, measuredAvgMb: round(avgImageMb, 3) };
}

/** The load average (1 min) and what it means on this machine's cores. */
function load(): number {
  return round(loadavg()[0]!);
}

async function main(): Promise<void> {
  const loadAtStart = load();
  const dir = mkdtempSync(path.join(tmpdir(), 'media-triage-bench-'));
  try {
    const images: BenchImage[] = await withBar('generating images', smallCount + largeMegapixels.length, (tick) =>
      generateImageSet(dir, smallCount, largeMegapixels, tick),
    );
    const count = images.length;
    const avgImageMb = images.reduce((sum, image) => sum + image.bytes, 0) / count / 1024 / 1024;

    log('floor: jimp on one core…');
    const single = [];
    const all = [];
    let modelInputs: Buffer[] = [];
    for (let run = 1; run <= runs; run += 1) {
      const one = await withBar(`floor 1 core ${run}/${runs}`, count, (tick) => singleCoreFloor(images, tick));
      modelInputs = one.modelInputs;
      single.push(one);
      all.push(await withBar(`floor all cores ${run}/${runs}`, count, (tick) => allCoresFloor(images, tick, workers)));
    }

    log('synthesizing the template (once; later runs reuse it)…');
    const synth = await measured(() => loadTemplate());
    const template = synth.value;
    const archive = await buildArchive(images);

    const instant = summary(await pipelineRuns('pipeline, instant models', template, archive, count, fixedAnswer));
    let withModels: ReturnType<typeof summary> | undefined;
    const models: Awaited<ReturnType<typeof modelsFloor>>[] = [];
    const modelsAll: Awaited<ReturnType<typeof allCoresModelsFloor>>[] = [];
    if (!args['skip-models']) {
      // Models loaded before the clock starts, as for their floor: loading them is start-up, measured on its own below.
      log('loading the models (in the model server, or in worker threads of this process)…');
      await (modelServerEnabled() ? sharedRemoteModelPool(workers) : sharedModelPool(workers)).warmUp();
      withModels = summary(await pipelineRuns('pipeline, real models', template, archive, count));
      for (let run = 1; run <= runs; run += 1) {
        models.push(await withBar(`models floor 1 thread ${run}/${runs}`, count, (tick) => modelsFloor(modelInputs, tick)));
        modelsAll.push(await withBar(`models floor all cores ${run}/${runs}`, count, (tick) => allCoresModelsFloor(modelInputs, tick, workers)));
      }
    }
    const startup = args['skip-startup'] ? undefined : await startupRuns(dir, images);
    const stack = readLocalStack(template, (name) => name);
    const memory = skipMemory ? undefined : await preprocessPeak(dir);
    if (memory !== undefined) memory.functionMemoryMb = stack.functions.find((fn) => fn.stageName === 'Preprocess')?.memorySizeMb ?? 0;

    const floorAll = median(all.map((r) => r.imagesPerSec));
    const modelsPerSec = models.length === 0 ? Number.NaN : median(models.map((r) => r.imagesPerSec));
    const modelsAllPerSec = modelsAll.length === 0 ? Number.NaN : median(modelsAll.map((r) => r.imagesPerSec));
    // Every image needs its jimp work and its inference, and both spread over every core: their core-seconds per
    // image add up, so the all-cores floor of the two is the harmonic combination of their all-cores floors.
    const combinedFloor = 1 / (1 / floorAll + 1 / modelsAllPerSec);
    const inProcessStartupSeconds = (withModels ?? instant).openSessionSeconds + (withModels ?? instant).firstAssetSeconds + synth.wallMs / 1000;
    const startupSeconds = startup === undefined ? inProcessStartupSeconds : medianSeconds(startup.warmOne.map((run) => run.firstAssetMs));
    const loadAtEnd = load();
    const cores = availableParallelism();
    const costDurations = durationsForCost(instant, 1000 / median(single.map((r) => r.imagesPerSec)), models, avgImageMb);
    const result = {
      measuredAt: new Date().toISOString(),
      machine: {
        cpus: cores,
        model: cpus()[0]?.model,
        loadAverage1m: loadAtEnd,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadAtEnd,
        // Above one runnable task per core, other jobs took CPU from the bench: its figures are pessimistic and noisy.
        // Judged at the start only: by the end the load counts the bench's own threads (model workers, sandboxes).
        underLoad: loadAtStart > cores,
        node: process.version,
      },
      images: { count, small: smallCount, largeMegapixels, avgImageMb: round(avgImageMb, 3) },
      runs,
      quick: args.quick,
      workers: workers ?? cores,
      floorSingleCoreImagesPerSec: round(median(single.map((r) => r.imagesPerSec))),
      floorImagesPerSec: round(floorAll),
      floorThreads: all[0]?.threads,
      floorCpuUtilisation: round(median(all.map(cpuUtilisation))),
      pipelineImagesPerSec: instant.imagesPerSec,
      ratio: round(instant.imagesPerSec / floorAll),
      pipeline: instant,
      modelsFloorSingleThreadImagesPerSec: round(modelsPerSec),
      modelsFloorImagesPerSec: round(modelsAllPerSec),
      modelsFloorThreads: modelsAll[0]?.threads ?? null,
      combinedFloorImagesPerSec: round(combinedFloor),
      withModelsImagesPerSec: withModels?.imagesPerSec ?? null,
      withModelsRatio: withModels === undefined ? null : round(withModels.imagesPerSec / combinedFloor),
      withModels: withModels ?? null,
      synthSeconds: round(synth.wallMs / 1000),
      // Warm: command to the first asset recorded, one-image archive (README "Performance" says why this one).
      startupSeconds: round(startupSeconds),
      startup:
        startup === undefined
          ? null
          : {
              oneImage: { warmRunsSeconds: startup.warmOne.map((run) => seconds(run.firstAssetMs)) },
              images: STARTUP_IMAGES,
              firstRunSeconds: seconds(startup.first.firstAssetMs),
              warmFirstAssetSeconds: medianSeconds(startup.warmMany.map((run) => run.firstAssetMs)),
              warmRunsSeconds: startup.warmMany.map((run) => seconds(run.firstAssetMs)),
              warmRunTotalSeconds: medianSeconds(startup.warmMany.map((run) => run.totalMs)),
              // The fixed part: what every warm run pays before any image work begins.
              beforeFirstImageSeconds: medianSeconds([...startup.warmOne, ...startup.warmMany].map((run) => run.phases.firstImageWorkMs)),
              warmPhasesSeconds: {
                modulesLoaded: medianSeconds(startup.warmMany.map((run) => run.phases.modulesLoadedMs)),
                executionStarted: medianSeconds(startup.warmMany.map((run) => run.phases.executionStartedMs)),
                firstImageWork: medianSeconds(startup.warmMany.map((run) => run.phases.firstImageWorkMs)),
                firstAsset: medianSeconds(startup.warmMany.map((run) => run.firstAssetMs)),
              },
              firstRunPhasesSeconds: {
                modulesLoaded: seconds(startup.first.phases.modulesLoadedMs),
                executionStarted: seconds(startup.first.phases.executionStartedMs),
                firstImageWork: seconds(startup.first.phases.firstImageWorkMs),
                firstAsset: seconds(startup.first.firstAssetMs),
              },
              exitCodes: [startup.first, ...startup.warmOne, ...startup.warmMany].map((run) => run.exitCode),
            },
      inProcessStartupSeconds: round(inProcessStartupSeconds),
      peakRssMb: round(process.resourceUsage().maxRSS / 1024, 0),
      preprocessPeak: memory ?? null,
      // What `media-triage cost` reads (cli/commands/cost.ts): per-image stage time and per-call model time.
      costDurations,
    };
    const resultsDir = path.join(PROJECT_ROOT, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, `${result.measuredAt.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    printSummary(result);
    console.log(`figures written to ${path.relative(process.cwd(), file)}`);
    if (args.json) console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printSummary(r: Record<string, unknown> & { pipeline: ReturnType<typeof summary>; withModels: ReturnType<typeof summary> | null }): void {
  const line = (label: string, value: unknown) => console.log(`${label.padEnd(50)} ${String(value)}`);
  const machine = r['machine'] as { cpus: number; loadAverageAtStart: number; loadAverageAtEnd: number; underLoad: boolean };
  line('machine', `${machine.cpus} cores, load average ${machine.loadAverageAtStart} at the start, ${machine.loadAverageAtEnd} at the end`);
  if (machine.underLoad) line('', 'the machine was under load from other jobs: the figures are not clean (pessimistic, noisy)');
  line('runs (medians of)', r['runs']);
  line('images', JSON.stringify(r['images']));
  line('jimp floor, 1 core (images/s)', r['floorSingleCoreImagesPerSec']);
  line(`jimp floor, ${String(r['floorThreads'])} threads (images/s)`, r['floorImagesPerSec']);
  line('pipeline, instant models (images/s)', `${r.pipeline.imagesPerSec} (ratio to floor ${String(r['ratio'])}, CPU ${r.pipeline.cpuUtilisation} cores)`);
  line('models floor, 1 thread (images/s)', r['modelsFloorSingleThreadImagesPerSec']);
  line(`models floor, ${String(r['modelsFloorThreads'])} threads (images/s)`, r['modelsFloorImagesPerSec']);
  line('jimp + models floor (images/s)', r['combinedFloorImagesPerSec']);
  if (r.withModels !== null)
    line('pipeline, real models (images/s)', `${r.withModels.imagesPerSec} (ratio ${String(r['withModelsRatio'])}, CPU ${r.withModels.cpuUtilisation} cores)`);
  const startup = r['startup'] as {
    images: number;
    oneImage: { warmRunsSeconds: number[] };
    firstRunSeconds: number;
    warmFirstAssetSeconds: number;
    warmRunsSeconds: number[];
    beforeFirstImageSeconds: number;
    warmPhasesSeconds: Record<string, number>;
  } | null;
  if (startup !== null) {
    line('start-up, warm, 1-image archive: first asset (s)', `${String(r['startupSeconds'])} (runs ${startup.oneImage.warmRunsSeconds.join(', ')})`);
    line(
      `start-up, warm, ${startup.images} images: first asset (s)`,
      `${startup.warmFirstAssetSeconds} (runs ${startup.warmRunsSeconds.join(', ')}; cold first run ${startup.firstRunSeconds})`,
    );
    line('start-up, warm: before the first image work (s)', startup.beforeFirstImageSeconds);
    line(
      `start-up, warm, ${startup.images} images: timeline (s)`,
      Object.entries(startup.warmPhasesSeconds)
        .map(([phase, at]) => `${phase} ${at}`)
        .join(', '),
    );
  }
  line('in-process: synth + session + first asset (s)', `${String(r['inProcessStartupSeconds'])} (synth ${String(r['synthSeconds'])})`);
  line('peak RSS (MB)', r['peakRssMb']);
  const peak = r['preprocessPeak'] as { megapixels: number; peakRssMb: number; functionMemoryMb: number } | null;
  if (peak !== null) line(`Preprocess peak RSS on ${peak.megapixels} MP (MB)`, `${peak.peakRssMb} of ${peak.functionMemoryMb} MB MemorySize`);
  for (const [label, run] of [
    ['instant models', r.pipeline],
    ['real models', r.withModels],
  ] as const) {
    if (run === null) continue;
    console.log(`per-stage, ${label}: invocation p50 / p95 ms (invocations), ms per image`);
    for (const [stage, s] of Object.entries(run.stages)) console.log(`  ${stage.padEnd(14)} ${s.p50Ms} / ${s.p95Ms} (${s.invocations}), ${s.msPerImage}`);
  }
}

await main();
