/**
 * The asset record stored in DynamoDB (one per asset of a batch) and the batch record. Every asset record carries
 * lineage: which pipeline, taxonomy, triage policy and models (with the endpoint variant that answered) decided it.
 */
import { describeDuplicates, type DuplicateFinding, type DuplicateMatch } from './duplicates';
import type { NormalizedListing } from './manifest';
import { mostSevere, REVIEWABLE_OUTCOMES, type Outcome, type ReasonCode } from './outcomes';
import type { LabelScores } from './hf-contract';
import type { GateReport } from './gates/quality-gates';
import type { StageMs } from './kpis/stage-timings';
import type { TriageEvidence } from './triage';

export interface ModelLineage {
  modelId: string;
  modelVersion: string;
  endpointName: string;
  /** The production variant that answered (InvokedProductionVariant); empty when the model was never called. */
  variant: string;
}

export interface Lineage {
  pipelineVersion: string;
  taxonomyVersion: string;
  policyVersion: string;
  categoryModel?: ModelLineage;
  policyModel?: ModelLineage;
}

export interface ImageFacts {
  format: string;
  width: number;
  height: number;
  bytes: number;
  sha256: string;
  perceptualHash: string;
  modelInputKey: string;
}

/** Why an asset FAILED: the stage, the error's code (its AWS error name, or a reason code) and its message. */
export interface AssetFailure {
  stage: string;
  code: string;
  message: string;
}

export interface AssetRecord {
  pk: string;
  sk: string;
  recordType: 'ASSET';
  batchId: string;
  assetKey: string;
  rowNumber?: number;
  file?: string;
  listing: Partial<NormalizedListing>;
  /** Top-level copy of the merchant id so a GSI can index records by merchant. */
  merchantId?: string;
  /** Top-level copy of the image's perceptual hash so a GSI can find the same image across batches. */
  perceptualHash?: string;
  outcome: Outcome;
  reasons: ReasonCode[];
  explanation: string;
  image?: ImageFacts;
  evidence?: TriageEvidence;
  /**
   * The endpoints' raw answers triage read (a few dozen label/score pairs), so a reviewed dataset can re-run a later
   * triage policy on exactly what this one saw (eval --dataset). Absent on early-decided assets and older records.
   */
  modelOutputs?: { categoryLabels: LabelScores; policyLabels: LabelScores };
  lineage: Lineage;
  /** The stage that decided the outcome (PrepareBatch, Preprocess, Classify, Triage, Report). */
  decidedBy: string;
  /** Milliseconds each map stage spent on this asset (core/kpis/stage-timings.ts); absent when decided before the map. */
  stageMs?: StageMs;
  /** On a FAILED asset: the error behind it (its AWS error code, e.g. `SlowDown`, `ThrottlingException`). */
  failure?: AssetFailure;
  receivedAt: string;
  decidedAt: string;
  /** An AUTO_PASS sent to review as an audit sample. */
  auditSampled?: boolean;
  /** Listings with the same or a near-identical image across merchants or categories (added by CrossCheck). */
  duplicates?: DuplicateMatch[];
  /**
   * The review task's revision: 1 when the record is first decided reviewable, +1 whenever its reviewer-visible state
   * changes afterwards (see core/review-task.ts). Absent while the record never needed a person.
   */
  reviewRevision?: number;
  /** The revision that has its review message (the queue's deduplication makes that exactly one). */
  reviewSentRevision?: number;
  /** Message id of the latest revision's review message. */
  reviewMessageId?: string;
  reviewEnqueuedAt?: string;
  /** Human review of the current revision (core/review/decisions.ts): OPEN, ADJUDICATION or FINAL. */
  reviewStatus?: 'OPEN' | 'ADJUDICATION' | 'FINAL';
  /** The consolidated review label once the review policy's rule is met (approve, reject, recategorize:<id>). */
  reviewOutcome?: string;
  reviewOutcomeBy?: 'consensus' | 'adjudication';
  reviewOutcomeRevision?: number;
  reviewedBy?: string[];
  reviewedAt?: string;
  /**
   * The same asset (merchant + asset_id) with the same content in an earlier batch, whose decision and review state
   * this record carries (core/asset-identity.ts); its review goes on on that record's task.
   */
  carriedFrom?: { batchId: string; assetKey: string; at: string };
  /** The earlier record of the same asset that this one replaced because its content changed. */
  supersedes?: { batchId: string; assetKey: string; at: string };
  /** A later record of the same asset with changed content: this record's review task is closed as superseded. */
  supersededBy?: { batchId: string; assetKey: string; at: string };
}

export type BatchStatus = 'PREPARED' | 'REFUSED' | 'COMPLETED';

export interface BatchRecord {
  pk: string;
  sk: 'BATCH';
  recordType: 'BATCH';
  batchId: string;
  archiveBucket: string;
  archiveKey: string;
  archiveSha256: string;
  /** When the batch was first received; the reports' `dt` partition derives from it so reruns land in place. */
  receivedAt: string;
  dt: string;
  status: BatchStatus;
  error?: { code: string; message: string };
  manifestFile?: string;
  /** How the manifest's bytes were decoded (lambdas/core/manifest-text.ts). */
  manifestEncoding?: string;
  /** What was read differently from a plain UTF-8, comma-separated root manifest (encoding, delimiter, folder). */
  manifestNotes?: string[];
  expectedAssets?: number;
  itemsToProcess?: number;
  ignoredEntries?: string[];
  counts?: Record<string, number>;
  /** FAILED assets per error code (core/failures.ts), written by Report: how many failed and why. */
  failures?: Record<string, number>;
  lastRunAt: string;
  completedAt?: string;
  /** The last run Report completed: from PrepareBatch starting it to Report (the report's throughput window). */
  lastRun?: { startedAt: string; completedAt: string };
  /** The quality gates of the latest report (core/gates/quality-gates.ts): per gate status, value and thresholds. */
  gates?: GateReport;
  /** The Step Functions execution that last prepared the batch (`$$.Execution.Id`; local runs have one too). */
  executionArn?: string;
  pipelineVersion: string;
  taxonomyVersion: string;
  policyVersion: string;
}

/** FLAGGED / NEEDS_REVIEW assets, and auto-passed ones sampled for an audit, go to the review queue. */
export function needsReview(record: Pick<AssetRecord, 'outcome' | 'auditSampled'>): boolean {
  return REVIEWABLE_OUTCOMES.has(record.outcome) || (record.outcome === 'AUTO_PASS' && record.auditSampled === true);
}

/** The record's current review revision: 0 when it never needed a person. */
export function currentReviewRevision(record: Pick<AssetRecord, 'outcome' | 'auditSampled' | 'reviewRevision'>): number {
  return record.reviewRevision ?? (needsReview(record) ? 1 : 0);
}

/** The highest revision that already has a message (records written before revisions existed count as 1). */
export function sentReviewRevision(record: Pick<AssetRecord, 'reviewSentRevision' | 'reviewMessageId'>): number {
  return record.reviewSentRevision ?? (record.reviewMessageId === undefined ? 0 : 1);
}

export const batchPk = (batchId: string): string => `BATCH#${batchId}`;
export const assetSk = (assetKey: string): string => `ASSET#${assetKey}`;

/** `dt` partition value (UTC date) of an ISO timestamp. */
export function partitionDate(isoTimestamp: string): string {
  return isoTimestamp.slice(0, 10);
}

export interface RecordContext {
  batchId: string;
  receivedAt: string;
  lineage: Lineage;
  now: string;
}

export function assetRecord(
  context: RecordContext,
  asset: {
    assetKey: string;
    rowNumber?: number;
    file?: string;
    listing: Partial<NormalizedListing>;
    outcome: Outcome;
    reasons: ReasonCode[];
    explanation: string;
    decidedBy: string;
    image?: ImageFacts;
    evidence?: TriageEvidence;
    modelOutputs?: AssetRecord['modelOutputs'];
    auditSampled?: boolean;
    stageMs?: StageMs;
    failure?: AssetFailure;
  },
): AssetRecord {
  return {
    pk: batchPk(context.batchId),
    sk: assetSk(asset.assetKey),
    recordType: 'ASSET',
    batchId: context.batchId,
    assetKey: asset.assetKey,
    rowNumber: asset.rowNumber,
    file: asset.file,
    listing: asset.listing,
    merchantId: asset.listing.merchantId,
    perceptualHash: asset.image?.perceptualHash,
    outcome: asset.outcome,
    reasons: asset.reasons,
    explanation: asset.explanation,
    image: asset.image,
    evidence: asset.evidence,
    modelOutputs: asset.modelOutputs,
    auditSampled: asset.auditSampled === true ? true : undefined,
    reviewRevision: needsReview({ outcome: asset.outcome, auditSampled: asset.auditSampled }) ? 1 : undefined,
    lineage: context.lineage,
    decidedBy: asset.decidedBy,
    stageMs: asset.stageMs,
    failure: asset.failure,
    receivedAt: context.receivedAt,
    decidedAt: context.now,
  };
}

/**
 * The record with a duplicate finding applied, or undefined when it already carries every reason (reruns) or is not
 * a triaged decision. A duplicate across merchants or categories needs a person: AUTO_PASS becomes NEEDS_REVIEW.
 */
export function withDuplicateFinding(record: AssetRecord, finding: DuplicateFinding, now: string): AssetRecord | undefined {
  if (record.outcome === 'REJECTED_INPUT' || record.outcome === 'FAILED') return undefined;
  const added = finding.reasons.filter((reason) => !record.reasons.includes(reason));
  if (added.length === 0) return undefined;
  return {
    ...record,
    // no longer an auto-pass, so no longer an audit sample; its reviewer-visible state changed, so a new review revision
    // (a follow-up message: an earlier message, audit or not, described the record without these reasons)
    auditSampled: undefined,
    reviewRevision: Math.max(currentReviewRevision(record), sentReviewRevision(record)) + 1,
    outcome: mostSevere(record.outcome, 'NEEDS_REVIEW'),
    reasons: [...record.reasons, ...added],
    explanation: `${record.explanation} ${describeDuplicates(finding)}`.trim(),
    duplicates: finding.matches,
    decidedBy: `${record.decidedBy}+CrossCheck`,
    decidedAt: now,
  };
}
