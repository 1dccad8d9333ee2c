/**
 * Nightly: the jobs EventBridge Scheduler runs once a day (lib/constructs/nightly-schedule.ts), and
 * `media-triage sweep` runs locally through the same handler. Each job reports its counts and its errors; a job that
 * fails (or fails on one item) does not stop the others, and the result says which failed.
 *
 * Jobs:
 * - `redriveBatches`: archives uploaded under incoming/ within the lookback window whose batch never started (no batch
 *   record once the grace period has passed: the upload event was lost, or EventBridge gave up and dead-lettered it)
 *   or never finished (a PREPARED record whose last run is older than `staleAfterHours`: the execution failed, timed
 *   out or was aborted). Each is started again with StartExecution and the input the upload rule gives
 *   (core/batch-start.ts). StartExecution rather than RedriveExecution: the batch record does not know the execution
 *   (an unstarted batch has none), a redrive works only on a failed execution less than 14 days old, and a rerun is
 *   safe by design — PrepareBatch keeps every standing record and hands the map only assets without one, so a rerun
 *   finishes the batch and duplicates nothing. The name is deterministic per night (sweep-<yyyymmdd>-<batchId>), so a
 *   second sweep that night starts nothing twice. REFUSED batches are not re-driven (their input is at fault) and
 *   COMPLETED ones are done (FAILED assets in them are retried by uploading the archive again).
 * - `reviewMessages`: every recent batch's reviewable records whose current review revision has no message yet get it
 *   (adapters/review-queue.ts `sweepReviewMessages`, which never sends a revision twice).
 * - `dailyRollup`: the stakeholder roll-up of the previous UTC day (`rollupDate` overrides it), through
 *   adapters/daily-rollup.ts `writeDailyRollup` with `refreshBatches`: that day's batch pages and `batches` rows are
 *   rebuilt from their current records and reviews (review figures move after a batch ran), the day's `decisions`
 *   partition is written and the roll-up page refreshed. The schedule runs after midnight UTC, so "yesterday" is a
 *   finished day; a rerun rewrites the same objects.
 */
import { writeDailyRollup } from '../adapters/daily-rollup';
import { getBatchRecord } from '../adapters/record-store';
import { listUploads, uploadBatchId, type RecentUpload } from '../adapters/recent-uploads';
import { startBatchExecution } from '../adapters/executions';
import { sweepReviewMessages } from '../adapters/review-queue';
import { setting } from '../adapters/settings';
import { batchStartInput, eventTime, INCOMING_PREFIX, sweepExecutionName } from '../core/batch-start';
import type { BatchRecord } from '../core/records';
import { logger } from './logger';
import { countEvent, instrumented, METRIC_NAMES } from './metrics';

export interface NightlyInput {
  /** Run only these jobs (default: all). */
  jobs?: string[];
  /**
   * How long an upload may go without a batch record before it counts as never started. The default covers the
   * trigger's own delivery retries; locally the sweep holds the state folder's lock, so no run is in flight and 0 is right.
   * @default 7200 (2 hours)
   */
  graceSeconds?: number;
  /** @default 72: uploads (and their batches) of the last three days are looked at */
  lookbackHours?: number;
  /** A PREPARED batch whose last run began longer ago than this is taken as failed. @default 12 */
  staleAfterHours?: number;
  /** The sweep's clock (tests); ISO 8601. @default now */
  now?: string;
  /** The UTC day (YYYY-MM-DD) the `dailyRollup` job rolls up. @default the day before `now` */
  rollupDate?: string;
}

export interface JobResult {
  counts: Record<string, number>;
  errors: string[];
}

export interface NightlySummary {
  startedAt: string;
  finishedAt: string;
  /** Per job, in the order they ran. */
  jobs: Record<string, JobResult>;
  /** Whether every job ran without an error. */
  ok: boolean;
}

export const DEFAULT_GRACE_SECONDS = 7200;
export const DEFAULT_LOOKBACK_HOURS = 72;
export const DEFAULT_STALE_AFTER_HOURS = 12;

/** What the jobs share: the window's uploads with their batch ids and records, read once. */
interface NightContext {
  now: Date;
  input: Required<Omit<NightlyInput, 'jobs' | 'now' | 'rollupDate'>> & { rollupDate: string };
  uploads(): Promise<UploadState[]>;
}

interface UploadState {
  upload: RecentUpload;
  batchId?: string;
  batch?: BatchRecord;
  /** Why the upload's batch id or record could not be read. */
  error?: string;
}

interface Job {
  name: string;
  run(context: NightContext, result: JobResult): Promise<void>;
}

const count = (result: JobResult, name: string, by = 1): void => {
  result.counts[name] = (result.counts[name] ?? 0) + by;
};

const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

const redriveBatches: Job = {
  name: 'redriveBatches',
  async run(context, result) {
    const graceEnd = context.now.getTime() - context.input.graceSeconds * 1000;
    const staleEnd = context.now.getTime() - context.input.staleAfterHours * 3_600_000;
    for (const name of ['uploads', 'unstarted', 'unfinished', 'started', 'alreadyStarted', 'inGrace', 'running', 'completed', 'refused']) {
      result.counts[name] = 0;
    }
    for (const state of await context.uploads()) {
      count(result, 'uploads');
      if (state.error !== undefined) {
        result.errors.push(`${state.upload.key}: ${state.error}`);
        continue;
      }
      const { upload, batch } = state;
      let reason: 'unstarted' | 'unfinished';
      if (batch === undefined) {
        if (upload.lastModified.getTime() > graceEnd) {
          count(result, 'inGrace');
          continue;
        }
        reason = 'unstarted';
      } else if (batch.status === 'COMPLETED' || batch.status === 'REFUSED') {
        count(result, batch.status === 'COMPLETED' ? 'completed' : 'refused');
        continue;
      } else if (Date.parse(batch.lastRunAt) > staleEnd) {
        count(result, 'running');
        continue;
      } else {
        reason = 'unfinished';
      }
      count(result, reason);
      // An unfinished batch restarts from its own record: the key it was found under and when it was first received.
      const input = batchStartInput({
        bucket: upload.bucket,
        key: batch?.archiveKey ?? upload.key,
        receivedAt: batch?.receivedAt ?? eventTime(upload.lastModified),
      });
      try {
        const started = await startBatchExecution(input, sweepExecutionName(state.batchId!, context.now));
        count(result, started.started ? 'started' : 'alreadyStarted');
        if (started.started) logger.info('batch re-driven', { batchId: state.batchId, reason, executionArn: started.executionArn });
      } catch (error) {
        result.errors.push(`${upload.key} (${state.batchId}): StartExecution failed: ${describe(error)}`);
      }
    }
    countEvent(METRIC_NAMES.batchesRedriven, result.counts['started'] ?? 0);
  },
};

const reviewMessages: Job = {
  name: 'reviewMessages',
  async run(context, result) {
    result.counts['batches'] = 0;
    result.counts['messagesSent'] = 0;
    const batchIds = new Set<string>();
    for (const state of await context.uploads()) {
      if (state.batch !== undefined && state.batch.status !== 'REFUSED') batchIds.add(state.batch.batchId);
    }
    for (const batchId of batchIds) {
      count(result, 'batches');
      try {
        count(result, 'messagesSent', await sweepReviewMessages(batchId));
      } catch (error) {
        result.errors.push(`${batchId}: ${describe(error)}`);
      }
    }
    countEvent(METRIC_NAMES.reviewMessagesSwept, result.counts['messagesSent'] ?? 0);
  },
};

const dailyRollup: Job = {
  name: 'dailyRollup',
  async run(context, result) {
    const rolled = await writeDailyRollup({
      date: context.input.rollupDate,
      reportsBucket: setting('reportsBucket'),
      tableName: setting('tableName'),
      refreshBatches: true,
      now: context.now.toISOString(),
    });
    result.counts['batches'] = rolled.batches.length;
    result.counts['refreshed'] = rolled.refreshed.length;
    result.counts['decisions'] = rolled.decisions;
    result.counts['decisionFiles'] = rolled.decisionKeys.length;
  },
};

/** The jobs, in order: re-drives first, so the roll-up sees what they finished. */
export const NIGHTLY_JOBS: readonly Job[] = [redriveBatches, reviewMessages, dailyRollup];

/** The UTC day before `now`, YYYY-MM-DD. */
export function previousUtcDay(now: Date): string {
  return new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
}

export const handler = instrumented('Nightly', nightly);

async function nightly(event: NightlyInput | null | undefined): Promise<NightlySummary> {
  const request = event ?? {};
  const now = request.now === undefined ? new Date() : new Date(request.now);
  if (Number.isNaN(now.getTime())) throw new Error(`Nightly: "now" is not a date: ${String(request.now)}`);
  const input = {
    graceSeconds: request.graceSeconds ?? DEFAULT_GRACE_SECONDS,
    lookbackHours: request.lookbackHours ?? DEFAULT_LOOKBACK_HOURS,
    staleAfterHours: request.staleAfterHours ?? DEFAULT_STALE_AFTER_HOURS,
    rollupDate: request.rollupDate ?? previousUtcDay(now),
  };
  const unknown = (request.jobs ?? []).filter((name) => !NIGHTLY_JOBS.some((job) => job.name === name));
  if (unknown.length > 0) throw new Error(`Nightly: unknown job(s) ${unknown.join(', ')} (jobs: ${NIGHTLY_JOBS.map((job) => job.name).join(', ')})`);
  let uploads: Promise<UploadState[]> | undefined;
  const context: NightContext = { now, input, uploads: () => (uploads ??= readUploads(now, input.lookbackHours)) };

  const summary: NightlySummary = { startedAt: now.toISOString(), finishedAt: '', jobs: {}, ok: true };
  for (const job of NIGHTLY_JOBS) {
    if (request.jobs !== undefined && !request.jobs.includes(job.name)) continue;
    const result: JobResult = { counts: {}, errors: [] };
    try {
      await job.run(context, result);
    } catch (error) {
      result.errors.push(describe(error));
    }
    if (result.errors.length > 0) logger.error('nightly job had errors', { job: job.name, errors: result.errors.slice(0, 20) });
    summary.jobs[job.name] = result;
  }
  summary.ok = Object.values(summary.jobs).every((result) => result.errors.length === 0);
  countEvent(
    METRIC_NAMES.nightlyJobErrors,
    Object.values(summary.jobs).reduce((sum, result) => sum + result.errors.length, 0),
  );
  summary.finishedAt = new Date().toISOString();
  logger.info('nightly jobs done', { jobs: summary.jobs });
  return summary;
}

async function readUploads(now: Date, lookbackHours: number): Promise<UploadState[]> {
  const bucket = setting('dataBucket');
  const uploads = await listUploads(bucket, INCOMING_PREFIX, new Date(now.getTime() - lookbackHours * 3_600_000));
  const states: UploadState[] = [];
  for (const upload of uploads) {
    try {
      const batchId = await uploadBatchId(upload);
      states.push({ upload, batchId, batch: await getBatchRecord(batchId) });
    } catch (error) {
      states.push({ upload, error: describe(error) });
    }
  }
  return states;
}
