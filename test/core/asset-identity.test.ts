/** Asset identity across batches: the key, what counts as content, the verdicts and what a carried record takes. */
import { describe, expect, it } from 'vitest';
import { carryOver, contentDigest, identityKey, judgeIdentity, recordIdentity, type AssetIdentityItem } from '../../lambdas/core/asset-identity';
import { assetRecord, type AssetRecord } from '../../lambdas/core/records';
import { pendingReviewRevision } from '../../lambdas/core/review-task';

const listing = {
  assetId: 'A-1',
  file: 'a.jpg',
  merchantId: 'm/1',
  declaredCategory: 'Boats',
  declaredCategoryId: 'vehicles.boats',
  title: 'Boat',
  description: 'Blue',
  price: 10,
  attributes: {},
};
const image = {
  format: 'jpeg',
  width: 10,
  height: 10,
  bytes: 100,
  sha256: 'a'.repeat(64),
  perceptualHash: '0'.repeat(16),
  modelInputKey: 'preprocessed/a.jpg',
};
const lineage = { pipelineVersion: '1', taxonomyVersion: 't', policyVersion: 'p' };

function record(batchId: string, overrides: Partial<AssetRecord> = {}): AssetRecord {
  const base = assetRecord(
    { batchId, receivedAt: '2026-12-01T00:00:00Z', lineage, now: '2026-12-01T00:00:01Z' },
    { assetKey: 'row-000001', listing, image, outcome: 'FLAGGED', reasons: ['CATEGORY_MISMATCH'], explanation: 'Mismatch.', decidedBy: 'Triage' },
  );
  return { ...base, ...overrides };
}

describe('asset identity', () => {
  it('keys merchant + asset_id, each encoded so neither can fake the other', () => {
    expect(identityKey('m/1', 'A-1')).toEqual({ pk: 'IDENTITY#m%2F1/A-1', sk: 'IDENTITY' });
    expect(identityKey('m', '1/A-1').pk).not.toBe(identityKey('m/1', 'A-1').pk);
  });

  it('content is the image hash and the listing fields triage reads, nothing else', () => {
    const digest = contentDigest(image.sha256, listing);
    expect(contentDigest(image.sha256, { ...listing, title: 'Boat!' })).not.toBe(digest);
    expect(contentDigest(image.sha256, { ...listing, description: undefined })).not.toBe(digest);
    expect(contentDigest('b'.repeat(64), listing)).not.toBe(digest);
    expect(recordIdentity(record('b1', { listing: { ...listing, price: 99, sku: 'X' } }))!.digest).toBe(recordIdentity(record('b1'))!.digest);
    expect(recordIdentity(record('b1', { image: undefined }))).toBeUndefined();
    expect(recordIdentity(record('b1', { listing: { ...listing, assetId: '' } }))).toBeUndefined();
  });

  it('judges new, own, unchanged and changed', () => {
    const mine = record('b2');
    const digest = recordIdentity(mine)!.digest;
    const owner = { pk: 'BATCH#b1', sk: 'ASSET#row-000001', batchId: 'b1', assetKey: 'row-000001' };
    const identity: AssetIdentityItem = {
      ...identityKey('m/1', 'A-1'),
      sk: 'IDENTITY',
      recordType: 'ASSET_IDENTITY',
      identityMerchantId: 'm/1',
      identityAssetId: 'A-1',
      contentDigest: digest,
      owner,
      version: 1,
      updatedAt: '',
    };
    expect(judgeIdentity(undefined, mine, digest)).toEqual({ kind: 'new' });
    expect(judgeIdentity({ ...identity, owner: { ...owner, pk: mine.pk, sk: mine.sk } }, mine, digest)).toEqual({ kind: 'own' });
    expect(judgeIdentity(identity, mine, digest)).toEqual({ kind: 'unchanged', owner });
    expect(judgeIdentity(identity, mine, 'other')).toEqual({ kind: 'changed', previous: owner });
  });

  it('a carried record keeps its own keys, listing and lineage, takes the decision and review state, and owes no message', () => {
    const earlier = record('b1', {
      reviewRevision: 2,
      reviewSentRevision: 2,
      reviewMessageId: 'msg-1',
      reviewStatus: 'FINAL',
      reviewOutcome: 'reject',
      reasons: ['CATEGORY_MISMATCH', 'DUPLICATE_IMAGE_OTHER_MERCHANT'],
    });
    const fresh = record('b2', { outcome: 'AUTO_PASS', reasons: [], reviewRevision: undefined, listing: { ...listing, price: 12 } });
    const carried = carryOver(fresh, earlier, '2026-12-02T00:00:00Z');
    expect(carried).toMatchObject({
      pk: 'BATCH#b2',
      batchId: 'b2',
      outcome: 'FLAGGED',
      reasons: earlier.reasons,
      reviewRevision: 2,
      reviewStatus: 'FINAL',
      reviewOutcome: 'reject',
    });
    expect(carried.listing.price).toBe(12);
    expect(carried.carriedFrom).toEqual({ batchId: 'b1', assetKey: 'row-000001', at: '2026-12-02T00:00:00Z' });
    expect(carried.reviewMessageId).toBeUndefined();
    expect(pendingReviewRevision(carried)).toBeUndefined();
    expect(pendingReviewRevision(fresh)).toBeUndefined();
    // A superseded record owes nothing either.
    expect(pendingReviewRevision(record('b1', { supersededBy: { batchId: 'b3', assetKey: 'row-000001', at: '' } }))).toBeUndefined();
    expect(pendingReviewRevision(record('b1'))).toBe(1);
  });
});
