/**
 * The Batches page on a deployed stack (`review serve --stack`): an archive is uploaded under `incoming/` of the
 * stack's data bucket, whose EventBridge rule starts the execution; the job follows that execution
 * (cli/ops/submit-batch.ts, as `media-triage submit` does), its progress comes from the records table and its
 * outcomes, exceptions and CSV from the table and the reports bucket. Jobs run side by side: the stack scales, not
 * this process. Nothing here knows the page, and the page does not know which backend it talks to.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { s3Client } from '../lambdas/adapters/aws-clients';
import { deriveBatchId } from '../lambdas/core/batch-plan';
import type { BatchSummary } from '../lambdas/core/report';
import { followUpload, resultOfExecution, uploadBatch } from '../cli/ops/submit-batch';
import type { PipelineNames } from '../cli/target';
import { countAssetRecords, readBatchRecord } from '../lambdas/adapters/batch-table-reads';
import { batchAssets } from './batch-records';
import type { BatchJob, BatchResult, BatchesBackend } from './batches';

export interface StackBatchesOptions {
  /** Between polls of an execution (default 2 s). */
  pollMs?: number;
  /** How long a job follows its execution before it gives up on it (default 1 hour; the execution goes on). */
  followMs?: number;
}

interface JobEntry {
  job: BatchJob;
  summary?: BatchSummary;
  settled?: boolean;
}

export class StackBatches implements BatchesBackend {
  private readonly entries = new Map<string, JobEntry>();
  private readonly running = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly names: PipelineNames,
    private readonly options: StackBatchesOptions = {},
  ) {}

  async submit(fileName: string, archive: Buffer): Promise<BatchJob> {
    const job: BatchJob = {
      jobId: randomUUID(),
      fileName,
      batchId: deriveBatchId(`incoming/${fileName}`, archive),
      state: 'QUEUED',
      submittedAt: new Date().toISOString(),
      progress: { recorded: 0 },
      note: 'uploading…',
    };
    const entry: JobEntry = { job };
    this.entries.set(job.jobId, entry);
    const run = this.run(entry, archive).finally(() => this.running.delete(run));
    this.running.add(run);
    return structuredClone(job);
  }

  private async run(entry: JobEntry, archive: Buffer): Promise<void> {
    const { job } = entry;
    const started = Date.now();
    try {
      const uploaded = await uploadBatch(this.names, archive, job.fileName, { signal: this.stopping.signal });
      job.note = 'waiting for the execution to start…';
      const followed = await followUpload(this.names, uploaded, {
        pollMs: this.options.pollMs ?? 2000,
        deadline: started + (this.options.followMs ?? 3_600_000),
        signal: this.stopping.signal,
        onExecution: (executionArn) => {
          job.executionArn = executionArn;
          job.state = 'RUNNING';
          job.startedAt = new Date().toISOString();
          delete job.note;
        },
      });
      if (followed.kind !== 'stopped') {
        job.state = 'FAILED';
        job.error =
          followed.kind === 'timeout'
            ? {
                code: followed.executionArn === null ? 'NO_EXECUTION' : 'FOLLOW_TIMEOUT',
                message: 'stopped following the execution (it goes on; see media-triage status)',
              }
            : { code: 'INTERRUPTED', message: 'the console stopped following the execution' };
      } else {
        const result = resultOfExecution(this.names, uploaded, followed, started);
        if (result.status === 'COMPLETED') {
          job.state = 'COMPLETED';
          entry.summary = followed.output as BatchSummary;
        } else {
          job.state = result.status;
          job.error = { code: result.code, message: result.error };
        }
      }
    } catch (error) {
      job.state = 'FAILED';
      job.error = { code: 'RUN_ERROR', message: (error as Error).message };
    }
    delete job.note;
    job.finishedAt = new Date().toISOString();
  }

  async jobs(): Promise<BatchJob[]> {
    const jobs: BatchJob[] = [];
    for (const jobId of [...this.entries.keys()].reverse()) jobs.push((await this.progress(jobId))!);
    return jobs;
  }

  async progress(jobId: string): Promise<BatchJob | undefined> {
    const entry = this.entries.get(jobId);
    if (entry === undefined) return undefined;
    const { job } = entry;
    if (job.state !== 'QUEUED' && entry.settled !== true) {
      const finished = job.finishedAt !== undefined;
      const batch = await readBatchRecord(this.names.tableName, job.batchId);
      job.progress = { expectedAssets: batch?.expectedAssets, recorded: await countAssetRecords(this.names.tableName, job.batchId) };
      entry.settled = finished;
    }
    return structuredClone(job);
  }

  async result(jobId: string): Promise<BatchResult | undefined> {
    const job = await this.progress(jobId);
    if (job === undefined) return undefined;
    const summary = this.entries.get(jobId)!.summary;
    return { job, summary, assets: job.state === 'COMPLETED' ? await batchAssets(this.names.tableName, job.batchId) : [] };
  }

  async csv(jobId: string): Promise<{ fileName: string; body: Buffer } | undefined> {
    const summary = this.entries.get(jobId)?.summary;
    if (summary === undefined) return undefined;
    const object = await s3Client().send(new GetObjectCommand({ Bucket: this.names.reportsBucket, Key: summary.reports.assets }));
    return { fileName: `${summary.batchId}-assets.csv`, body: Buffer.from(await object.Body!.transformToByteArray()) };
  }

  /** Stops following (the executions go on) and waits for the jobs to notice. */
  async close(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled([...this.running]);
  }
}
