/**
 * The asset record stored in DynamoDB (one per asset of a batch) and the batch record. Every asset record carries
 * lineage: which pipeline, taxonomy, triage policy and models (with the endpoint variant that answered) decided it.
 */
import type { NormalizedListing } from './manifest';
import { REVIEWABLE_OUTCOMES, type Outcome, type ReasonCode } from './outcomes';
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
  outcome: Outcome;
  reasons: ReasonCode[];
  explanation: string;
  image?: ImageFacts;
  evidence?: TriageEvidence;
  lineage: Lineage;
  /** The stage that decided the outcome (PrepareBatch, Preprocess, Classify, Triage, Report). */
  decidedBy: string;
  receivedAt: string;
  decidedAt: string;
  /** An AUTO_PASS sent to review as an audit sample. */
  auditSampled?: boolean;
  reviewMessageId?: string;
  reviewEnqueuedAt?: string;
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
  expectedAssets?: number;
  itemsToProcess?: number;
  ignoredEntries?: string[];
  counts?: Record<string, number>;
  lastRunAt: string;
  completedAt?: string;
  pipelineVersion: string;
  taxonomyVersion: string;
  policyVersion: string;
}

/** FLAGGED / NEEDS_REVIEW assets, and auto-passed ones sampled for an audit, go to the review queue. */
export function needsReview(record: Pick<AssetRecord, 'outcome' | 'auditSampled'>): boolean {
  return REVIEWABLE_OUTCOMES.has(record.outcome) || (record.outcome === 'AUTO_PASS' && record.auditSampled === true);
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
    auditSampled?: boolean;
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
    outcome: asset.outcome,
    reasons: asset.reasons,
    explanation: asset.explanation,
    image: asset.image,
    evidence: asset.evidence,
    auditSampled: asset.auditSampled === true ? true : undefined,
    lineage: context.lineage,
    decidedBy: asset.decidedBy,
    receivedAt: context.receivedAt,
    decidedAt: context.now,
  };
}
