/**
 * Runs one batch archive through a local session and shapes the result the CLI prints: the Report stage's summary
 * plus where the records and reports are, or a batch-level error.
 */
import { listAssetRecords } from '../../lambdas/adapters/record-store';
import { REVIEWABLE_OUTCOMES } from '../../lambdas/core/outcomes';
import type { AssetRecord } from '../../lambdas/core/records';
import type { BatchSummary } from '../../lambdas/core/report';
import { openLocalSession, type LocalSessionOptions } from './local-session';
import type { ExecutionEvent } from './state-machine-runner';

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
  reports: { assets: string; summary: string };
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

export interface RunResult {
  result: RunSummary | RunFailure;
  /** Assets that need a person (FLAGGED, NEEDS_REVIEW) or were rejected/failed, with their explanations. */
  attention: AssetRecord[];
  events: ExecutionEvent[];
}

export async function runBatchLocally(archive: Buffer, fileName: string, options: LocalSessionOptions): Promise<RunResult> {
  const started = Date.now();
  const session = await openLocalSession(options);
  let outcome: RunResult;
  try {
    const execution = await session.runArchive(archive, fileName);
    const output = execution.output as (BatchSummary & { status?: string; error?: { code: string; message: string } }) | undefined;
    if (execution.status === 'FAILED') {
      outcome = {
        result: { status: 'FAILED', error: `pipeline execution failed: ${execution.error ?? 'unknown error'}${execution.cause ? ` (${execution.cause})` : ''}`, code: execution.error ?? 'ExecutionFailed' },
        attention: [],
        events: execution.events,
      };
    } else if (output?.status === 'REFUSED') {
      outcome = {
        result: { status: 'REFUSED', error: `batch refused: ${output.error?.message ?? 'unknown reason'}`, code: output.error?.code ?? 'REFUSED', batchId: output.batchId },
        attention: [],
        events: execution.events,
      };
    } else {
      const summary = output as BatchSummary;
      const records = await listAssetRecords(summary.batchId);
      const table = session.stack.tables[0]?.name ?? '';
      const reviewQueue = session.stack.queues.find((queue) => queue.deadLetterTargetArn !== undefined);
      outcome = {
        result: {
          status: 'COMPLETED',
          batchId: summary.batchId,
          dt: summary.dt,
          assets: summary.assets,
          outcomes: summary.outcomes,
          reasons: summary.reasons,
          sentToReview: summary.sentToReview,
          auditSamples: summary.auditSamples,
          reportsDir: session.reportsDir() ?? null,
          reports: summary.reports,
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
  } finally {
    await session.close();
  }
  if (outcome.result.status === 'COMPLETED') outcome.result.elapsedMs = Date.now() - started;
  return outcome;
}

function attentionOrder(record: AssetRecord): number {
  if (record.outcome === 'FLAGGED') return 0;
  if (REVIEWABLE_OUTCOMES.has(record.outcome)) return 1;
  if (record.outcome === 'FAILED') return 2;
  return 3;
}
