/**
 * Persist: one record per asset (conditional put: a standing decision is never overwritten) and, for reviewable
 * outcomes, exactly one review message — also when an earlier attempt stored the record but died before sending.
 * A triaged asset that an earlier batch already listed (same merchant + asset_id) carries that batch's decision and
 * review when its content is unchanged, and supersedes the earlier record's review when it changed
 * (core/asset-identity.ts).
 *
 * One asset whose DynamoDB or SQS call still fails after the SDK's retries (an AWS error, not a bug: anything else
 * fails the task at once) does not stop the others: every asset is
 * tried, then the task fails naming the ones left (PersistIncompleteError), so Step Functions retries it — a retry
 * rewrites nothing already stored (conditional put, deduplicated send). If that fails too, the child fails and Report
 * records what is still missing as FAILED / NOT_PROCESSED and sends any review message still owed.
 */
import { baseLineage } from '../core/lineage';
import { assetRecord, type AssetRecord } from '../core/records';
import type { AssetBatch, AssetWork } from '../core/work-items';
import { finishSupersede, settleIdentity } from '../adapters/asset-identity-store';
import { getAssetRecord, putAssetRecord } from '../adapters/record-store';
import { enqueueForReview } from '../adapters/review-queue';
import { isAwsCallError, summarizeError } from '../adapters/aws-errors';
import { setting } from '../adapters/settings';
import { countRecordedAssets, instrumented } from './metrics';

/** Some assets of the child could not be stored or enqueued; the ones before and after them were. */
export class PersistIncompleteError extends Error {
  constructor(
    readonly failed: Array<{ assetKey: string; code: string }>,
    total: number,
  ) {
    super(`${failed.length} of ${total} assets not persisted: ${failed.map((f) => `${f.assetKey} (${f.code})`).join(', ')}`);
    this.name = 'PersistIncompleteError';
  }
}

export interface PersistOutput {
  recorded: number;
  alreadyRecorded: number;
  enqueued: number;
  /** Unchanged assets of earlier batches whose decision and review were carried over (no new review message). */
  carriedOver: number;
  /** Earlier records of changed assets whose review was closed as superseded. */
  superseded: number;
}

export const handler = instrumented('Persist', persist);

async function persist(input: AssetBatch): Promise<PersistOutput> {
  const pipelineVersion = setting('pipelineVersion');
  const output: PersistOutput = { recorded: 0, alreadyRecorded: 0, enqueued: 0, carriedOver: 0, superseded: 0 };
  const failed: Array<{ assetKey: string; code: string }> = [];
  for (const asset of input.assets) {
    try {
      const now = new Date().toISOString();
      const fresh = toRecord(asset, pipelineVersion, now);
      const standing = await getAssetRecord(fresh.pk, fresh.sk);
      // A standing decision (rerun, retry) is not judged again: its identity was settled when it was first stored.
      const record = standing !== undefined && standing.outcome !== 'FAILED' ? standing : asset.early === undefined ? await settleIdentity(fresh, now) : fresh;
      if (await putAssetRecord(record)) {
        output.recorded += 1;
        if (record.carriedFrom !== undefined) output.carriedOver += 1;
        countRecordedAssets([record]);
      } else output.alreadyRecorded += 1;
      const stored = (await getAssetRecord(record.pk, record.sk)) ?? record;
      if (await finishSupersede(stored, now)) output.superseded += 1;
      if ((await enqueueForReview(stored)) !== undefined) output.enqueued += 1;
    } catch (error) {
      if (!isAwsCallError(error)) throw error;
      failed.push({ assetKey: asset.item.assetKey, code: summarizeError(error, 'persisting').code });
    }
  }
  if (failed.length > 0) throw new PersistIncompleteError(failed, input.assets.length);
  return output;
}

export function toRecord(asset: AssetWork, pipelineVersion: string, now: string): AssetRecord {
  const { item } = asset;
  const lineage = baseLineage(pipelineVersion);
  if (asset.classification !== undefined) {
    lineage.categoryModel = asset.classification.categoryModel;
    lineage.policyModel = asset.classification.policyModel;
  }
  const context = { batchId: item.batchId, receivedAt: item.receivedAt, lineage, now };
  const common = { assetKey: item.assetKey, rowNumber: item.rowNumber, file: item.file, listing: item.listing, image: asset.image, stageMs: asset.stageMs };
  if (asset.early !== undefined) {
    return assetRecord(context, {
      ...common,
      outcome: asset.early.outcome,
      reasons: asset.early.reasons,
      explanation: asset.early.detail,
      decidedBy: asset.early.stage,
      failure: asset.early.error === undefined ? undefined : { stage: asset.early.stage, ...asset.early.error },
    });
  }
  if (asset.decision === undefined) throw new Error(`asset ${item.assetKey} reached Persist without a decision`);
  return assetRecord(context, {
    ...common,
    outcome: asset.decision.outcome,
    reasons: asset.decision.reasons,
    explanation: asset.decision.explanation,
    evidence: asset.decision.evidence,
    modelOutputs:
      asset.classification === undefined ? undefined : { categoryLabels: asset.classification.categoryLabels, policyLabels: asset.classification.policyLabels },
    auditSampled: asset.decision.auditSampled,
    decidedBy: 'Triage',
  });
}
