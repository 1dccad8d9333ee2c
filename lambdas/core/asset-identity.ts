/**
 * Asset identity across batches. A merchant's asset is the same asset in every batch that lists it: its identity is
 * merchant + `asset_id`. Its content is what triage reads: the image bytes (sha256) and the listing fields triage
 * looks at (declared category, title, description). A corrected archive re-uploaded under the same name is a new batch
 * (the batch id hashes the archive), so without identity its unchanged assets would be triaged and reviewed again.
 *
 * - Same identity, same content as the record that owns the identity → the new record carries that record's decision
 *   and review state (`carriedFrom`), and owes no review message: the review continues on the owner's task.
 * - Same identity, changed content → the new record is triaged again and becomes the owner; the former owner is marked
 *   `supersededBy` the new one (and the new one `supersedes` it), which closes its pending review task.
 *
 * The identity item (one per merchant + asset_id, in the records table) is written only with conditional puts on its
 * `version`, so two batches racing for one asset cannot both become its owner (see adapters/asset-identity-store.ts).
 */
import { createHash } from 'node:crypto';
import type { NormalizedListing } from './manifest';
import { currentReviewRevision, type AssetRecord } from './records';

/** Partition key prefix of identity items. */
export const IDENTITY_PK_PREFIX = 'IDENTITY#';
export const IDENTITY_SK = 'IDENTITY';

export interface RecordKey {
  pk: string;
  sk: string;
}

/** Where a record points to another record of the same asset (another batch). */
export interface AssetLink {
  batchId: string;
  assetKey: string;
  at: string;
}

export interface AssetIdentityItem {
  pk: string;
  sk: typeof IDENTITY_SK;
  recordType: 'ASSET_IDENTITY';
  /** Kept as attributes for erasure (purge reads them); not `merchantId`, so the byMerchant index does not list it. */
  identityMerchantId: string;
  identityAssetId: string;
  contentDigest: string;
  /** The record that owns the identity: the latest content, the one whose review task counts. */
  owner: RecordKey & { batchId: string; assetKey: string };
  /** The owner before the last content change, until its supersede mark is written (crash safety). */
  previousOwner?: RecordKey & { batchId: string; assetKey: string };
  /** Bumped on every owner change; writes are conditional on the version read. */
  version: number;
  updatedAt: string;
}

/**
 * Identity key: merchant and asset id, each URI-encoded so neither can contain the separator. Kept readable (not
 * hashed) so an operator can find an asset's identity item by hand.
 */
export function identityKey(merchantId: string, assetId: string): RecordKey {
  return { pk: `${IDENTITY_PK_PREFIX}${encodeURIComponent(merchantId)}/${encodeURIComponent(assetId)}`, sk: IDENTITY_SK };
}

/** The content triage decides on: image sha256 and the listing fields triage reads. Any change means triage again. */
export function contentDigest(imageSha256: string, listing: Pick<NormalizedListing, 'declaredCategoryId' | 'title'> & { description?: string }): string {
  const fields = [imageSha256, listing.declaredCategoryId, listing.title, listing.description ?? ''];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}

/** The identity of a triaged record, or undefined for records that have none (early decisions, no merchant/asset id). */
export function recordIdentity(
  record: Pick<AssetRecord, 'listing' | 'image'>,
): { key: RecordKey; merchantId: string; assetId: string; digest: string } | undefined {
  const { merchantId, assetId, declaredCategoryId, title } = record.listing;
  if (!merchantId || !assetId || declaredCategoryId === undefined || title === undefined || record.image === undefined) return undefined;
  return {
    key: identityKey(merchantId, assetId),
    merchantId,
    assetId,
    digest: contentDigest(record.image.sha256, { declaredCategoryId, title, description: record.listing.description }),
  };
}

export type IdentityVerdict =
  /** No earlier record of this asset, or the identity already names this record (a rerun): keep the fresh decision. */
  | { kind: 'new' }
  | { kind: 'own' }
  /** Unchanged content: carry the owner's decision and review state. */
  | { kind: 'unchanged'; owner: AssetIdentityItem['owner'] }
  /** Changed content: this record becomes the owner and the former owner is superseded. */
  | { kind: 'changed'; previous: AssetIdentityItem['owner'] };

export function judgeIdentity(identity: AssetIdentityItem | undefined, record: RecordKey, digest: string): IdentityVerdict {
  if (identity === undefined) return { kind: 'new' };
  if (identity.owner.pk === record.pk && identity.owner.sk === record.sk) return { kind: 'own' };
  return identity.contentDigest === digest ? { kind: 'unchanged', owner: identity.owner } : { kind: 'changed', previous: identity.owner };
}

/** Review-related fields a carried record takes from the record it carries. */
const CARRIED_FIELDS = [
  'outcome',
  'reasons',
  'explanation',
  'evidence',
  'auditSampled',
  'duplicates',
  'reviewRevision',
  'reviewStatus',
  'reviewOutcome',
  'reviewOutcomeBy',
  'reviewOutcomeRevision',
  'reviewedBy',
  'reviewedAt',
] as const satisfies readonly (keyof AssetRecord)[];

/**
 * The new batch's record of an unchanged asset: its own keys, listing, image and lineage, with the earlier record's
 * decision and review state, and a link to it. It owes no review message (`reviewSentRevision` = its revision): the
 * earlier task stays the one reviewers work, and its result is read from the record `carriedFrom` names.
 */
export function carryOver(fresh: AssetRecord, earlier: AssetRecord, at: string): AssetRecord {
  const carried: AssetRecord = { ...fresh };
  for (const field of CARRIED_FIELDS) (carried as unknown as Record<string, unknown>)[field] = earlier[field];
  carried.reasons = [...earlier.reasons];
  carried.reviewSentRevision = currentReviewRevision(earlier);
  carried.reviewMessageId = undefined;
  carried.reviewEnqueuedAt = undefined;
  carried.carriedFrom = { batchId: earlier.batchId, assetKey: earlier.assetKey, at };
  carried.decidedBy = `${fresh.decidedBy}+CarriedOver`;
  carried.explanation = `${earlier.explanation} Unchanged since batch ${earlier.batchId} (${earlier.assetKey}): decision and review carried over.`.trim();
  return carried;
}
