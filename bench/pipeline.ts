/**
 * The local pipeline end to end on the bench images: one archive, the synthesized template's own trigger and state
 * machine, the same handlers in their sandboxes. Per-stage durations come from the sandboxes' invocation timer.
 */
import { readFile } from 'node:fs/promises';
import { buildZip, manifestCsv, type DemoRow } from '../local/demo-batch';
import { setInvocationTimer } from '../local/lambda-sandboxes';
import { openLocalSession, type LocalSessionOptions } from '../local/local-session';
import type { CfnTemplate } from '../local/template';
import type { BenchImage } from './images';
import { measured, percentile } from './stats';

export interface StageFigures {
  invocations: number;
  p50Ms: number;
  p95Ms: number;
  /** The stage's total handler time divided by the batch's images. */
  msPerImage: number;
}

export interface PipelineResult {
  status: string;
  /** Why the execution failed: its error and cause, and the failures and catches among its events. */
  failure?: string;
  imagesPerSec: number;
  wallMs: number;
  cpuMs: number;
  /** Session start (stand-ins, resources) and from the upload to the first Persist answer. */
  openSessionMs: number;
  firstAssetMs: number;
  stages: Record<string, StageFigures>;
}

export async function buildArchive(images: readonly BenchImage[]): Promise<Buffer> {
  const rows: DemoRow[] = images.map((image, index) => ({
    asset_id: `BENCH-${String(index).padStart(4, '0')}`,
    file: `images/${image.file}`,
    merchant_id: `m-bench-${index % 7}`,
    declared_category: 'Boats',
    title: `Bench image ${index}`,
  }));
  const files: Record<string, Uint8Array | string> = { 'manifest.csv': manifestCsv(rows) };
  for (const image of images) files[`images/${image.file}`] = await readFile(image.path);
  return buildZip(files);
}

export async function runPipeline(
  template: CfnTemplate,
  archive: Buffer,
  imageCount: number,
  options: { intercept?: LocalSessionOptions['intercept']; workers?: number; onAsset: (done: number) => void },
): Promise<PipelineResult> {
  const durations = new Map<string, number[]>();
  let assetsDone = 0;
  let runStarted = 0;
  let firstAssetMs = Number.NaN;
  setInvocationTimer((stage, ms) => {
    durations.set(stage, [...(durations.get(stage) ?? []), ms]);
    if (stage === 'Persist') {
      if (Number.isNaN(firstAssetMs)) firstAssetMs = performance.now() - runStarted;
      // Persist takes one Map child's items; progress is counted in children, scaled to images at the end.
      options.onAsset(++assetsDone);
    }
  });
  try {
    const open = await measured(() => openLocalSession({ template, intercept: options.intercept, workers: options.workers }));
    const session = open.value;
    try {
      runStarted = performance.now();
      const run = await measured(() => session.runArchive(archive, 'bench.zip'));
      const stages: Record<string, StageFigures> = {};
      for (const [stage, values] of durations) {
        stages[stage] = {
          invocations: values.length,
          p50Ms: percentile(values, 50),
          p95Ms: percentile(values, 95),
          msPerImage: values.reduce((a, b) => a + b, 0) / imageCount,
        };
      }
      const failures = run.value.events
        .filter((event) => event.error !== undefined)
        .map((event) => `${event.type} ${event.state ?? ''} ${event.error ?? ''}: ${event.cause ?? ''}`);
      const failure = run.value.status === 'SUCCEEDED' ? undefined : [`${run.value.error ?? ''}: ${run.value.cause ?? ''}`, ...failures.slice(0, 5)].join('\n');
      return {
        status: run.value.status,
        failure,
        imagesPerSec: imageCount / (run.wallMs / 1000),
        wallMs: run.wallMs,
        cpuMs: run.cpuMs,
        openSessionMs: open.wallMs,
        firstAssetMs,
        stages,
      };
    } finally {
      await session.close();
    }
  } finally {
    setInvocationTimer(undefined);
  }
}
