/**
 * What travels between the map's child stages: small JSON per asset (never image bytes — those go through S3).
 * A stage that decides an asset early (rejection, failure) leaves it in the list so Persist records it.
 */
import type { LabelScores } from './hf-contract';
import type { StageMs } from './kpis/stage-timings';
import type { NormalizedListing } from './manifest';
import type { ReasonCode } from './outcomes';
import type { ImageFacts, ModelLineage } from './records';
import type { MerchantProfile, TriageDecision } from './triage';

/** One line of the batch's items.jsonl, written by PrepareBatch and read by the Distributed Map's ItemReader. */
export interface WorkItem {
  batchId: string;
  assetKey: string;
  rowNumber: number;
  file: string;
  /** Key of the staged image in the data bucket. */
  stagedKey: string;
  receivedAt: string;
  listing: NormalizedListing;
  /** The merchant's category mix from earlier batches, read once by PrepareBatch (this batch excluded). */
  merchantProfile?: MerchantProfile;
}

/** The ItemBatcher's child input. */
export interface ItemBatch {
  Items: WorkItem[];
  BatchInput?: Record<string, unknown>;
}

export interface EarlyDecision {
  outcome: 'REJECTED_INPUT' | 'FAILED';
  reasons: ReasonCode[];
  detail: string;
  stage: string;
  /** On FAILED: the error's code and message (recorded as the record's `failure`). */
  error?: { code: string; message: string };
}

export interface AssetWork {
  item: WorkItem;
  image?: ImageFacts;
  classification?: { categoryLabels: LabelScores; policyLabels: LabelScores; categoryModel: ModelLineage; policyModel: ModelLineage };
  decision?: TriageDecision;
  /** Set when a stage decided the asset before triage. */
  early?: EarlyDecision;
  /** Milliseconds each map stage spent on the asset so far (stored on the record for the report's latencies). */
  stageMs?: StageMs;
}

export interface AssetBatch {
  assets: AssetWork[];
}

export function isOpen(asset: AssetWork): boolean {
  return asset.early === undefined;
}

export function stagingPrefix(batchId: string): string {
  return `staging/${batchId}/`;
}

/** The batch's work list (one JSON line per asset handed to the map): written by PrepareBatch, read by the map and Report. */
export function itemsKey(batchId: string): string {
  return `${stagingPrefix(batchId)}items.jsonl`;
}

/** Where Preprocess writes model inputs (content-addressed: `<prefix><sha256>.jpg`); reviewers are shown these. */
export const MODEL_INPUT_PREFIX = 'preprocessed/';
