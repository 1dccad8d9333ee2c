/**
 * A batch on a deployed stack: upload the archive under `incoming/` of the data bucket (the stack's EventBridge rule
 * starts the execution), find the execution the upload started, follow it until the batch is reported, and shape
 * the result as `run` does (README "CLI output"), plus the execution's ARN. `media-triage submit` and the console's
 * Batches page on `--stack` share it.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { s3Client } from '../../lambdas/adapters/aws-clients';
import { deriveBatchId } from '../../lambdas/core/batch-plan';
import { OUTCOMES, type Outcome } from '../../lambdas/core/outcomes';
import type { GateReport } from '../../lambdas/core/gates/quality-gates';
import type { BatchSummary } from '../../lambdas/core/report';
import type { RunSummary } from '../../local/run-batch';
import { countAssetRecords, readBatchRecord } from '../../lambdas/adapters/batch-table-reads';
import type { PipelineNames } from '../target';
import { describeExecution, describeFailure, findExecutionFor, type ExecutionState } from './executions';

export interface UploadedBatch {
  batchId: string;
  bucket: string;
  key: string;
  /** The object's LastModified (S3's clock): the execution starts after it. */
  writtenAt: Date;
}

/** `submit --json` on success: the `run` summary plus the execution that produced it. */
export interface SubmitSummary extends RunSummary {
  executionArn: string;
  reportsBucket: string;
}

export interface SubmitFailure {
  status: 'REFUSED' | 'FAILED';
  error: string;
  code: string;
  batchId: string;
  /** null when no execution was found (NO_EXECUTION). */
  executionArn: string | null;
  execution?: ExecutionState;
}

export interface SubmitInterrupted {
  status: 'INTERRUPTED';
  code: 'INTERRUPTED';
  error: string;
  signal: NodeJS.Signals;
  batchId: string;
  executionArn: string | null;
}

export interface FollowOptions {
  /** Between polls of the execution and the records table. */
  pollMs: number;
  /** Stop following (FOLLOW_TIMEOUT / NO_EXECUTION) at this time (epoch ms); the execution goes on. */
  deadline: number;
  signal?: AbortSignal;
  /** Assets recorded so far, and how many the batch holds once PrepareBatch has planned it. */
  onProgress?: (recorded: number, expected: number | undefined) => void;
  /** Called once the execution the upload started is known. */
  onExecution?: (executionArn: string) => void;
}

export async function uploadBatch(
  names: PipelineNames,
  archive: Buffer,
  fileName: string,
  options: { onBytes?: (sent: number, total: number) => void; signal?: AbortSignal } = {},
): Promise<UploadedBatch> {
  const key = `incoming/${fileName}`;
  const upload = new Upload({ client: s3Client(), params: { Bucket: names.dataBucket, Key: key, Body: archive, ContentType: 'application/zip' } });
  upload.on('httpUploadProgress', (progress) => options.onBytes?.(progress.loaded ?? 0, progress.total ?? archive.byteLength));
  const abort = (): void => void upload.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    await upload.done();
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
  const head = await s3Client().send(new HeadObjectCommand({ Bucket: names.dataBucket, Key: key }));
  return { batchId: deriveBatchId(key, archive), bucket: names.dataBucket, key, writtenAt: head.LastModified ?? new Date() };
}

/** Resolves after `ms`, or at once when the signal aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export type FollowResult =
  | { kind: 'stopped'; state: ExecutionState; output: unknown }
  | { kind: 'interrupted'; executionArn: string | null }
  | { kind: 'timeout'; executionArn: string | null };

/** Finds the execution the upload started, then polls it (and the batch's records, for progress) until it stops. */
export async function followUpload(names: PipelineNames, uploaded: UploadedBatch, options: FollowOptions): Promise<FollowResult> {
  const stateMachineArn = names.stateMachineArn;
  if (stateMachineArn === undefined) throw new Error('the stack has no StateMachineArn output');
  const checked = new Set<string>();
  let executionArn: string | undefined;
  while (executionArn === undefined) {
    if (options.signal?.aborted === true) return { kind: 'interrupted', executionArn: null };
    executionArn = await findExecutionFor(stateMachineArn, uploaded, checked);
    if (executionArn !== undefined) break;
    if (Date.now() >= options.deadline) return { kind: 'timeout', executionArn: null };
    await pause(options.pollMs, options.signal);
  }
  options.onExecution?.(executionArn);
  for (;;) {
    if (options.signal?.aborted === true) return { kind: 'interrupted', executionArn };
    const described = await describeExecution(executionArn);
    if (described.state.status !== 'RUNNING') return { kind: 'stopped', ...described };
    if (options.onProgress !== undefined) {
      const batch = await readBatchRecord(names.tableName, uploaded.batchId);
      options.onProgress(await countAssetRecords(names.tableName, uploaded.batchId), batch?.expectedAssets);
    }
    if (Date.now() >= options.deadline) return { kind: 'timeout', executionArn };
    await pause(options.pollMs, options.signal);
  }
}

const EXECUTION_CODES: Record<string, string> = { FAILED: 'EXECUTION_FAILED', TIMED_OUT: 'EXECUTION_TIMED_OUT', ABORTED: 'EXECUTION_ABORTED' };

/** The `run`-shaped result of an execution that stopped. */
export function resultOfExecution(
  names: PipelineNames,
  uploaded: UploadedBatch,
  stopped: { state: ExecutionState; output: unknown },
  startedAt: number,
): SubmitSummary | SubmitFailure {
  const { state } = stopped;
  const executionArn = state.executionArn;
  if (state.status !== 'SUCCEEDED') {
    return {
      status: 'FAILED',
      error: `the pipeline ${describeFailure(state)}`,
      code: EXECUTION_CODES[state.status] ?? 'EXECUTION_FAILED',
      batchId: uploaded.batchId,
      executionArn,
      execution: state,
    };
  }
  const output = stopped.output as (BatchSummary & { gates?: GateReport; status?: string; error?: { code: string; message: string } }) | undefined;
  if (output?.status === 'REFUSED') {
    return {
      status: 'REFUSED',
      error: `batch refused: ${output.error?.message ?? 'unknown reason'}`,
      code: output.error?.code ?? 'REFUSED',
      batchId: output.batchId ?? uploaded.batchId,
      executionArn,
    };
  }
  if (output === undefined || output.outcomes === undefined || output.gates === undefined) {
    return {
      status: 'FAILED',
      error: `execution ${executionArn} succeeded without a batch summary`,
      code: 'EXECUTION_FAILED',
      batchId: uploaded.batchId,
      executionArn,
      execution: state,
    };
  }
  const outcomes = Object.fromEntries(OUTCOMES.map((outcome) => [outcome, output.outcomes[outcome] ?? 0])) as Record<Outcome, number>;
  return {
    status: 'COMPLETED',
    batchId: output.batchId,
    dt: output.dt,
    assets: output.assets,
    outcomes,
    reasons: output.reasons,
    sentToReview: output.sentToReview,
    auditSamples: output.auditSamples,
    reportsDir: null,
    reports: output.reports,
    // On a stack the page is an object in the reports bucket (`reportHtml` is a local path only for local runs).
    reportHtml: `s3://${names.reportsBucket}/${output.reports.html}`,
    gates: output.gates,
    records: { table: names.tableName, stateDir: null },
    reviewQueue: names.reviewQueueUrl.split('/').pop() ?? '',
    reviewQueueUrl: names.reviewQueueUrl,
    versions: output.versions,
    elapsedMs: Date.now() - startedAt,
    executionArn,
    reportsBucket: names.reportsBucket,
  };
}
