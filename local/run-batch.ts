/**
 * Runs one batch archive through a local session and shapes the result the CLI prints: the Report stage's summary
 * plus where the records and reports are, a batch-level error, or — after Ctrl-C — what was done before it.
 *
 * With a state folder the run first makes sure the folder is ours (created with its marker when absent) and takes
 * its lock, before synthesizing or starting anything: a second run on the same folder gets STATE_LOCKED.
 */
import { traceMark } from './startup-trace';
import path from 'node:path';
import { getObjectBytes } from '../lambdas/adapters/object-store';
import { listAssetRecords } from '../lambdas/adapters/record-store';
import { deriveBatchId } from '../lambdas/core/batch-plan';
import { OUTCOMES, REVIEWABLE_OUTCOMES, type Outcome } from '../lambdas/core/outcomes';
import type { AssetRecord } from '../lambdas/core/records';
import type { GateReport } from '../lambdas/core/gates/quality-gates';
import type { BatchSummary } from '../lambdas/core/report';
import { stagingPrefix } from '../lambdas/core/work-items';
import { exitCodeFor, exitSoonAfterInterrupt, watchInterrupts } from './interrupts';
import { loadTemplate, openLocalSession, type LocalSession, type LocalSessionOptions } from './local-session';
import { acquireStateLock, ensureStateDir, StateDirError, type StateLock } from './state-dir';
import type { ExecutionEvent } from './state-machine-runner';
import { sweepStaleTempDirs } from './temp-dirs';

/** The `--json` contract of `run` and `demo` (README "CLI output"). Fields are only ever added. */
export interface RunSummary {
  status: 'COMPLETED';
  batchId: string;
  dt: string;
  assets: number;
  outcomes: BatchSummary['outcomes'];
  reasons: BatchSummary['reasons'];
  sentToReview: number;
  auditSamples: number;
  reportsDir: string | null;
  reports: { assets: string; summary: string; exceptions: string; batches: string; html: string };
  /** Local path of the batch's HTML page (null for in-memory runs). */
  reportHtml: string | null;
  /** The batch's quality gates (config/quality-gates.json): overall and per gate. */
  gates: GateReport;
  records: { table: string; stateDir: string | null };
  /** The review queue's name (stable) and its URL during this run (the local port changes between runs). */
  reviewQueue: string;
  reviewQueueUrl: string;
  versions: BatchSummary['versions'];
  elapsedMs: number;
}

export interface RunFailure {
  status: 'REFUSED' | 'FAILED';
  error: string;
  code: string;
  batchId?: string;
}

/** The `--json` line after Ctrl-C (exit 130) or SIGTERM (exit 143): what the run got done before it stopped. */
export interface RunInterrupted {
  status: 'INTERRUPTED';
  error: string;
  code: 'INTERRUPTED';
  signal: NodeJS.Signals;
  batchId: string;
  /** Assets the batch holds, once PrepareBatch has planned it (null if it was stopped before). */
  assets: number | null;
  /** Assets with a record so far; the rest are processed by the next run of the same archive. */
  recorded: number;
  outcomes: Record<Outcome, number>;
  sentToReview: number;
  records: { table: string; stateDir: string | null };
  elapsedMs: number;
}

export interface RunResult {
  result: RunSummary | RunFailure | RunInterrupted;
  /** Assets that need a person (FLAGGED, NEEDS_REVIEW) or were rejected/failed, with their explanations. */
  attention: AssetRecord[];
  events: ExecutionEvent[];
}

/** The CLI's exit code for a run's result: 0 completed, 128 + signal number interrupted, 1 otherwise. */
export function runExitCode(result: RunResult['result']): number {
  if (result.status === 'COMPLETED') return 0;
  if (result.status === 'INTERRUPTED') return exitCodeFor(result.signal);
  return 1;
}

export async function runBatchLocally(archive: Buffer, fileName: string, options: LocalSessionOptions): Promise<RunResult> {
  const started = Date.now();
  let lock: StateLock | undefined;
  if (options.stateDir !== undefined) {
    try {
      await ensureStateDir(options.stateDir);
      lock = acquireStateLock(options.stateDir, `run ${fileName}`);
    } catch (error) {
      if (!(error instanceof StateDirError)) throw error;
      return { result: { status: 'FAILED', error: error.message, code: error.code }, attention: [], events: [] };
    }
  }
  try {
    // Temp folders of killed runs (their pid is gone) go now, whether or not this run synthesizes.
    sweepStaleTempDirs();
    // A synth (no cached template) is synchronous and CPU-bound: a Ctrl-C then takes Node's default (immediate exit);
    // the lock it leaves is stale.
    traceMark('run: modules loaded, state folder locked');
    const template = options.template ?? (await loadTemplate());
    const interrupts = watchInterrupts((signal) => process.stderr.write(`\n${signal}: stopping the run (again to exit at once)…\n`));
    try {
      return await runInSession(archive, fileName, { ...options, template, signal: interrupts.signal }, started, () => interrupts.interruptedBy());
    } finally {
      interrupts.dispose();
    }
  } finally {
    lock?.release();
  }
}

async function runInSession(
  archive: Buffer,
  fileName: string,
  options: LocalSessionOptions,
  started: number,
  interruptedBy: () => NodeJS.Signals | undefined,
): Promise<RunResult> {
  const session = await openLocalSession(options);
  let outcome: RunResult | undefined;
  try {
    const execution = await session.runArchive(archive, fileName);
    const signal = interruptedBy();
    if (signal !== undefined && execution.status !== 'SUCCEEDED') {
      outcome = { result: await interruptedSummary(session, archive, fileName, signal, options, started), attention: [], events: execution.events };
      return outcome;
    }
    outcome = await shapeResult(session, execution, options);
  } catch (error) {
    const signal = interruptedBy();
    if (signal === undefined) throw error;
    // Interrupted before the execution started (e.g. while uploading the archive).
    outcome = { result: await interruptedSummary(session, archive, fileName, signal, options, started), attention: [], events: [] };
    return outcome;
  } finally {
    const signal = interruptedBy();
    if (signal === undefined) await session.close();
    else {
      // Interrupted: abandoned handlers may still hold connections open; do not wait long for them.
      await Promise.race([session.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      // Armed only now, after the close: armed before it, a close slower than the delay (a busy machine) ended the
      // process before the caller printed the interrupted summary.
      exitSoonAfterInterrupt(signal);
    }
  }
  if (outcome.result.status === 'COMPLETED') outcome.result.elapsedMs = Date.now() - started;
  return outcome;
}

async function shapeResult(
  session: LocalSession,
  execution: Awaited<ReturnType<LocalSession['runArchive']>>,
  options: LocalSessionOptions,
): Promise<RunResult> {
  const output = execution.output as (BatchSummary & { gates?: GateReport; status?: string; error?: { code: string; message: string } }) | undefined;
  if (execution.status === 'FAILED') {
    return {
      result: {
        status: 'FAILED',
        error: `pipeline execution failed: ${execution.error ?? 'unknown error'}${execution.cause ? ` (${execution.cause})` : ''}`,
        code: execution.error ?? 'ExecutionFailed',
      },
      attention: [],
      events: execution.events,
    };
  }
  if (output?.status === 'REFUSED') {
    return {
      result: {
        status: 'REFUSED',
        error: `batch refused: ${output.error?.message ?? 'unknown reason'}`,
        code: output.error?.code ?? 'REFUSED',
        batchId: output.batchId,
      },
      attention: [],
      events: execution.events,
    };
  }
  const summary = output as BatchSummary & { gates: GateReport };
  const reportsDir = session.reportsDir() ?? null;
  const records = await listAssetRecords(summary.batchId);
  const table = session.stack.tables[0]?.name ?? '';
  const reviewQueue = session.stack.queues.find((queue) => queue.deadLetterTargetArn !== undefined);
  return {
    result: {
      status: 'COMPLETED',
      batchId: summary.batchId,
      dt: summary.dt,
      assets: summary.assets,
      outcomes: summary.outcomes,
      reasons: summary.reasons,
      sentToReview: summary.sentToReview,
      auditSamples: summary.auditSamples,
      reportsDir,
      reports: summary.reports,
      reportHtml: reportsDir === null ? null : localReportPath(reportsDir, summary.reports.html),
      gates: summary.gates,
      records: { table, stateDir: options.stateDir ?? null },
      reviewQueue: reviewQueue?.name ?? '',
      reviewQueueUrl: reviewQueue?.url ?? '',
      versions: summary.versions,
      elapsedMs: 0,
    },
    attention: records
      .filter((record) => record.outcome !== 'AUTO_PASS')
      .sort((a, b) => attentionOrder(a) - attentionOrder(b) || a.assetKey.localeCompare(b.assetKey)),
    events: execution.events,
  };
}

/** What an interrupted run got done, read from the stand-ins (still up; abandoned work may still be landing). */
async function interruptedSummary(
  session: LocalSession,
  archive: Buffer,
  fileName: string,
  signal: NodeJS.Signals,
  options: LocalSessionOptions,
  started: number,
): Promise<RunInterrupted> {
  const batchId = deriveBatchId(`incoming/${path.basename(fileName)}`, archive);
  const records = await listAssetRecords(batchId).catch(() => [] as AssetRecord[]);
  const expected = await getObjectBytes(session.dataBucket, `${stagingPrefix(batchId)}expected-assets.json`)
    .then((bytes) => (JSON.parse(bytes.toString('utf8')) as { assetKeys: string[] }).assetKeys.length)
    .catch(() => null);
  const outcomes = Object.fromEntries(OUTCOMES.map((name) => [name, 0])) as Record<Outcome, number>;
  for (const record of records) outcomes[record.outcome] += 1;
  const progress = expected === null ? `${records.length} assets recorded` : `${records.length} of ${expected} assets recorded`;
  return {
    status: 'INTERRUPTED',
    error: `interrupted by ${signal}: ${progress}; run the same command again to resume`,
    code: 'INTERRUPTED',
    signal,
    batchId,
    assets: expected,
    recorded: records.length,
    outcomes,
    sentToReview: records.filter((record) => record.reviewMessageId !== undefined).length,
    records: { table: session.stack.tables[0]?.name ?? '', stateDir: options.stateDir ?? null },
    elapsedMs: Date.now() - started,
  };
}

/** The local file of a reports-bucket key: the reports dir mirrors the bucket's `reports/` prefix. */
export function localReportPath(reportsDir: string, key: string): string {
  return path.join(reportsDir, ...key.replace(/^reports\//, '').split('/'));
}

function attentionOrder(record: AssetRecord): number {
  if (record.outcome === 'FLAGGED') return 0;
  if (REVIEWABLE_OUTCOMES.has(record.outcome)) return 1;
  if (record.outcome === 'FAILED') return 2;
  return 3;
}
