/**
 * What a reviewer sees for one asset: everything needed to decide without another lookup — the image, the declared
 * category by name, the listing text and price, the top predicted categories with scores, the policy scores, the
 * reason codes and the explanation. Built from the record (the source of truth), never from the queue message.
 * Deliberately absent: other reviewers' labels (reviews are blind) and whether the item is a gold item.
 */
import { REASON_CODES, type ReasonCode } from '../outcomes';
import type { AssetRecord } from '../records';
import type { Taxonomy } from '../taxonomy';

export interface CaseView {
  batchId: string;
  assetKey: string;
  assetId?: string;
  merchantId?: string;
  /** Where the image is: a local file path or a presigned URL (filled in by the target), plus its bucket and key. */
  image: { bucket: string; key: string | null; location: string | null; width?: number; height?: number; format?: string };
  declared: { id?: string; name?: string; asGiven?: string };
  listing: { title?: string; description?: string; sku?: string; price?: number; currency?: string };
  predicted: Array<{ categoryId: string; name: string; score: number }>;
  policy: Array<{ classId: string; score: number; threshold: number; sensitive: boolean; borderline: boolean }>;
  outcome: string;
  reasons: Array<{ code: ReasonCode; meaning: string }>;
  explanation: string;
  /** The record revision this view shows; decisions are recorded against it. */
  revision: number;
}

export function caseView(record: AssetRecord, taxonomy: Taxonomy, image: { bucket: string; location: string | null }, revision: number): CaseView {
  const declaredId = record.listing.declaredCategoryId;
  return {
    batchId: record.batchId,
    assetKey: record.assetKey,
    assetId: record.listing.assetId,
    merchantId: record.listing.merchantId,
    image: {
      bucket: image.bucket,
      key: record.image?.modelInputKey ?? null,
      location: image.location,
      width: record.image?.width,
      height: record.image?.height,
      format: record.image?.format,
    },
    declared: {
      id: declaredId,
      name: declaredId === undefined ? undefined : (taxonomy.category(declaredId)?.name ?? declaredId),
      asGiven: record.listing.declaredCategory,
    },
    listing: {
      title: record.listing.title,
      description: record.listing.description,
      sku: record.listing.sku,
      price: record.listing.price,
      currency: record.listing.currency,
    },
    predicted: (record.evidence?.category.scores ?? [])
      .slice(0, 5)
      .map(({ categoryId, score }) => ({ categoryId, name: taxonomy.category(categoryId)?.name ?? categoryId, score })),
    policy: (record.evidence?.policy ?? []).map(({ classId, score, threshold, sensitive, borderline }) => ({
      classId,
      score,
      threshold,
      sensitive,
      borderline,
    })),
    outcome: record.outcome,
    reasons: record.reasons.map((code) => ({ code, meaning: REASON_CODES[code] })),
    explanation: record.explanation,
    revision,
  };
}
