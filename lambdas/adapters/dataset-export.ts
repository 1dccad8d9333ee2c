/**
 * `dataset export`: the consolidated human decisions as a versioned labelled dataset — one JSON line per asset whose
 * review is final, with the image's location, the model outputs the asset had (what triage saw), the triage result,
 * the human label and the lineage — written under `datasets/<version>/` in the reports bucket. The version is derived
 * from the content, so exporting the same decisions twice gives the same version.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { AssetRecord } from '../core/records';
import { s3Client } from './aws-clients';
import { ReviewStore } from './review-store';

/**
 * 2 adds what re-running triage needs (eval --dataset): the listing text, the declared category's support, the
 * merchant-history evidence and the endpoints' raw labels (null on records written before Persist kept them).
 * Version-1 lines are still read by eval/reviewed-dataset.ts, with what they lack named.
 */
export const DATASET_SCHEMA_VERSION = 2;

export interface DatasetLine {
  schemaVersion: typeof DATASET_SCHEMA_VERSION;
  batchId: string;
  assetKey: string;
  assetId?: string;
  merchantId?: string;
  declaredCategoryId?: string;
  /** The listing text triage read (title and description). */
  listing: { title: string | null; description: string | null };
  image: { bucket: string; key: string | null; sha256?: string };
  /** The human label (approve, reject, recategorize:<id>), how it was reached, and by whom. */
  label: string;
  labelBy: 'consensus' | 'adjudication';
  reviewers: string[];
  reviewedAt?: string;
  triage: { outcome: string; reasons: string[] };
  modelOutputs: {
    /** The five best categories (as triage recorded them) and the declared category's summed support. */
    categoryScores: Array<{ categoryId: string; score: number }>;
    topCategoryId: string | null;
    topScore: number | null;
    declaredSupport: number | null;
    policy: Array<{ classId: string; score: number }>;
    /** The endpoints' raw answers; null when the record predates them (then eval rebuilds equivalent labels). */
    categoryLabels: Array<{ label: string; score: number }> | null;
    policyLabels: Array<{ label: string; score: number }> | null;
  };
  /** The merchant-history evidence triage used (earlier assets, the declared category's share); null when unknown. */
  merchant: { historyAssets: number; declaredShare: number } | null;
  lineage: AssetRecord['lineage'];
}

export interface DatasetExport {
  version: string;
  key: string;
  items: number;
  lines: DatasetLine[];
}

export function datasetLine(record: AssetRecord, dataBucket: string): DatasetLine | undefined {
  if (record.reviewStatus !== 'FINAL' || record.reviewOutcome === undefined || record.reviewOutcomeBy === undefined) return undefined;
  return {
    schemaVersion: DATASET_SCHEMA_VERSION,
    batchId: record.batchId,
    assetKey: record.assetKey,
    assetId: record.listing.assetId,
    merchantId: record.listing.merchantId,
    declaredCategoryId: record.listing.declaredCategoryId,
    listing: { title: record.listing.title ?? null, description: record.listing.description ?? null },
    image: { bucket: dataBucket, key: record.image?.modelInputKey ?? null, sha256: record.image?.sha256 },
    label: record.reviewOutcome,
    labelBy: record.reviewOutcomeBy,
    reviewers: record.reviewedBy ?? [],
    reviewedAt: record.reviewedAt,
    triage: { outcome: record.outcome, reasons: record.reasons },
    modelOutputs: {
      categoryScores: record.evidence?.category.scores ?? [],
      topCategoryId: record.evidence?.category.topCategoryId ?? null,
      topScore: record.evidence?.category.topScore ?? null,
      declaredSupport: record.evidence?.category.declaredSupport ?? null,
      policy: (record.evidence?.policy ?? []).map(({ classId, score }) => ({ classId, score })),
      categoryLabels: record.modelOutputs?.categoryLabels ?? null,
      policyLabels: record.modelOutputs?.policyLabels ?? null,
    },
    merchant:
      record.evidence?.merchant === undefined
        ? null
        : { historyAssets: record.evidence.merchant.historyAssets, declaredShare: record.evidence.merchant.declaredShare },
    lineage: record.lineage,
  };
}

/** Exports every final review found in the audit log of [from, to] (latest state of each record). */
export async function exportDataset(
  target: { tableName: string; dataBucket: string; reportsBucket: string },
  window: { from: Date; to: Date },
): Promise<DatasetExport> {
  const store = new ReviewStore(target.tableName);
  const finalized = (await store.auditLog(window.from, window.to)).filter((entry) => entry.action === 'FINALIZED');
  const keys = new Map<string, { pk: string; sk: string }>();
  for (const entry of finalized) {
    const key = entry.details['recordKey'] as { pk: string; sk: string } | undefined;
    if (key !== undefined) keys.set(`${key.pk}\n${key.sk}`, key);
  }
  const lines: DatasetLine[] = [];
  for (const key of [...keys.values()].sort((a, b) => `${a.pk}${a.sk}`.localeCompare(`${b.pk}${b.sk}`))) {
    const record = await store.getItem<AssetRecord>(key);
    const line = record === undefined ? undefined : datasetLine(record, target.dataBucket);
    if (line !== undefined) lines.push(line);
  }
  const body = lines.map((line) => JSON.stringify(line)).join('\n') + (lines.length > 0 ? '\n' : '');
  const version = `v${DATASET_SCHEMA_VERSION}-${createHash('sha256').update(body).digest('hex').slice(0, 12)}`;
  const key = `datasets/${version}/labelled.jsonl`;
  await s3Client().send(new PutObjectCommand({ Bucket: target.reportsBucket, Key: key, Body: body, ContentType: 'application/x-ndjson' }));
  return { version, key, items: lines.length, lines };
}
