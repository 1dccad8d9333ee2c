/**
 * The Batches page on the local pipeline: archives run through the open local session's `runArchive` — the same
 * stand-ins, records table and review queue the review page works on, so an uploaded batch's exceptions show up for
 * review at once. (`runBatchLocally` would open a second session, whose stand-ins take over the process's AWS
 * endpoints.) Runs are one at a time, in submission order: the local models share the machine's cores. Progress
 * comes from the records table (the batch record's expected assets, the asset records written so far), as it would
 * on a deployed stack.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { s3Client } from '../lambdas/adapters/aws-clients';
import { deriveBatchId } from '../lambdas/core/batch-plan';
import type { BatchSummary } from '../lambdas/core/report';
import type { LocalSession } from '../local/local-session';
import { countAssetRecords, readBatchRecord } from '../lambdas/adapters/batch-table-reads';
import { batchAssets } from './batch-records';
import type { BatchJob, BatchResult, BatchesBackend } from './batches';

type SessionPart = Pick<LocalSession, 'runArchive' | 'reportsBucket' | 'stack'>;

interface JobEntry {
  job: BatchJob;
  summary?: BatchSummary;
  /** The progress was read after the run ended: it cannot change any more. */
  settled?: boolean;
}

export class LocalBatches implements BatchesBackend {
  private readonly entries = new Map<string, JobEntry>();
  /** Runs chain on this promise so they never overlap. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: SessionPart,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private get tableName(): string {
    const table = this.session.stack.tables[0];
    if (table === undefined) throw new Error('the local stack has no records table');
    return table.name;
  }

  async submit(fileName: string, archive: Buffer): Promise<BatchJob> {
    const key = `incoming/${fileName}`;
    const job: BatchJob = {
      jobId: randomUUID(),
      fileName,
      batchId: deriveBatchId(key, archive),
      state: 'QUEUED',
      submittedAt: this.clock().toISOString(),
      progress: { recorded: 0 },
    };
    const entry: JobEntry = { job };
    this.entries.set(job.jobId, entry);
    this.queue = this.queue.then(() => this.run(entry, archive));
    return { ...job };
  }

  private async run(entry: JobEntry, archive: Buffer): Promise<void> {
    const { job } = entry;
    job.state = 'RUNNING';
    job.startedAt = this.clock().toISOString();
    try {
      const execution = await this.session.runArchive(archive, job.fileName);
      job.executionArn = execution.executionArn;
      const output = execution.output as (BatchSummary & { status?: string; error?: { code: string; message: string } }) | undefined;
      if (execution.status !== 'SUCCEEDED') {
        job.state = 'FAILED';
        job.error = { code: execution.error ?? 'ExecutionFailed', message: `the pipeline execution failed${execution.cause ? `: ${execution.cause}` : ''}` };
      } else if (output?.status === 'REFUSED') {
        job.state = 'REFUSED';
        job.error = { code: output.error?.code ?? 'REFUSED', message: output.error?.message ?? 'the batch was refused' };
      } else {
        job.state = 'COMPLETED';
        entry.summary = output;
      }
    } catch (error) {
      job.state = 'FAILED';
      job.error = { code: 'RUN_ERROR', message: (error as Error).message };
    }
    job.finishedAt = this.clock().toISOString();
  }

  async jobs(): Promise<BatchJob[]> {
    const all = [...this.entries.keys()].reverse();
    const jobs: BatchJob[] = [];
    for (const jobId of all) jobs.push((await this.progress(jobId))!);
    return jobs;
  }

  async progress(jobId: string): Promise<BatchJob | undefined> {
    const entry = this.entries.get(jobId);
    if (entry === undefined) return undefined;
    const { job } = entry;
    if (job.state !== 'QUEUED' && entry.settled !== true) {
      const finished = job.finishedAt !== undefined;
      const batch = await readBatchRecord(this.tableName, job.batchId);
      job.progress = { expectedAssets: batch?.expectedAssets, recorded: await countAssetRecords(this.tableName, job.batchId) };
      entry.settled = finished;
    }
    return structuredClone(job);
  }

  async result(jobId: string): Promise<BatchResult | undefined> {
    const job = await this.progress(jobId);
    if (job === undefined) return undefined;
    const summary = this.entries.get(jobId)!.summary;
    const finished = job.state === 'COMPLETED';
    return { job, summary, assets: finished ? await batchAssets(this.tableName, job.batchId) : [] };
  }

  async csv(jobId: string): Promise<{ fileName: string; body: Buffer } | undefined> {
    const summary = this.entries.get(jobId)?.summary;
    if (summary === undefined) return undefined;
    const object = await s3Client().send(new GetObjectCommand({ Bucket: this.session.reportsBucket, Key: summary.reports.assets }));
    return { fileName: `${summary.batchId}-assets.csv`, body: Buffer.from(await object.Body!.transformToByteArray()) };
  }
}
