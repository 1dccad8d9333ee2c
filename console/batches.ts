/**
 * What the console's Batches page needs from a pipeline, whatever runs it: the local pipeline in this process
 * (console/local-batches.ts) or a deployed stack (console/stack-batches.ts: upload under incoming/ and follow the execution). The page only ever
 * sees these shapes.
 */
import type { ReasonCode } from '../lambdas/core/outcomes';
import type { BatchSummary } from '../lambdas/core/report';

export type BatchJobState = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'REFUSED' | 'FAILED';

export interface BatchJob {
  jobId: string;
  fileName: string;
  /** Known from the archive before the run starts (`<name-slug>-<sha256 prefix>`). */
  batchId: string;
  state: BatchJobState;
  submittedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Assets the batch will produce (known once PrepareBatch has run) and those with a record so far. */
  progress: { expectedAssets?: number; recorded: number };
  error?: { code: string; message: string };
  /** What a QUEUED job is waiting for, when the page should say more than "the previous batch". */
  note?: string;
  /** The Step Functions execution running the batch (a deployed stack; local runs have one too). */
  executionArn?: string;
}

export interface BatchAsset {
  assetKey: string;
  assetId?: string;
  file?: string;
  merchantId?: string;
  declaredCategory?: string;
  title?: string;
  outcome: string;
  reasons: Array<{ code: ReasonCode; meaning: string }>;
  explanation: string;
  reviewStatus?: string;
  reviewOutcome?: string;
}

export interface BatchResult {
  job: BatchJob;
  /** The Report stage's summary (counts per outcome and reason, report keys, versions); absent unless COMPLETED. */
  summary?: BatchSummary;
  assets: BatchAsset[];
}

export interface BatchesBackend {
  /** Accepts an archive and starts (or queues) its run; returns at once. */
  submit(fileName: string, archive: Buffer): Promise<BatchJob>;
  /** Jobs submitted through this backend, newest first. */
  jobs(): Promise<BatchJob[]>;
  progress(jobId: string): Promise<BatchJob | undefined>;
  /** Outcomes of a finished job (undefined for an unknown job). */
  result(jobId: string): Promise<BatchResult | undefined>;
  /** The batch's assets CSV report (undefined unless the job COMPLETED). */
  csv(jobId: string): Promise<{ fileName: string; body: Buffer } | undefined>;
}
