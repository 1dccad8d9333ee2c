/**
 * Asset identity across batches (lambdas/core/asset-identity.ts) through the local pipeline and the real stand-ins: a
 * corrected archive re-uploaded under the same name is a new batch, yet its unchanged assets keep their decision and
 * review (no new review message); an asset whose image changed is triaged again, gets exactly one new message, and the
 * older record's review is closed as superseded — linked both ways — so the review tools drop its message.
 */
import { Jimp } from 'jimp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getIdentity } from '../../lambdas/adapters/asset-identity-store';
import { getAssetRecord } from '../../lambdas/adapters/record-store';
import { ReviewWork, type ReviewTarget } from '../../lambdas/adapters/review-work';
import { ReviewStore } from '../../lambdas/adapters/review-store';
import { identityKey } from '../../lambdas/core/asset-identity';
import { needsReview, type AssetRecord } from '../../lambdas/core/records';
import { loadReviewPolicy } from '../../lambdas/core/review/review-policy';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { buildZip, manifestCsv, stdlibPhoto, type DemoRow } from '../../local/demo-batch';
import type { LocalSession } from '../../local/local-session';
import { mulberry32 } from '../support/random';
import { runIn, session, type RunOutcome } from '../support/local-pipeline';

/** Every image is "a boat" (no models run): declared boats pass, everything else is a reviewable mismatch. */
function answerBoat(request: { endpointName: string }): { labels: Array<{ label: string; score: number }> } {
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: label === 'a photo of a boat' ? 0.9 : 0.1 / (candidates.length - 1) })) };
}

/** A JPEG of seeded noise: an image no other asset shares (so no duplicate finding adds a review revision). */
async function noiseJpeg(seed: number): Promise<Buffer> {
  const random = mulberry32(seed);
  const image = new Jimp({ width: 320, height: 240, color: 0xffffffff });
  const data = image.bitmap.data;
  for (let i = 0; i < data.length; i += 1) data[i] = i % 4 === 3 ? 255 : Math.floor(random() * 256);
  return image.getBuffer('image/jpeg');
}

const ROWS: DemoRow[] = [
  { asset_id: 'C-1', file: 'boats.jpg', merchant_id: 'm-catalog', declared_category: 'Boats', title: 'Wooden fishing boat', price: '4200', currency: 'EUR' },
  { asset_id: 'C-2', file: 'sheep.jpg', merchant_id: 'm-catalog', declared_category: 'Pets', title: 'Playful puppy', price: '500', currency: 'EUR' },
  { asset_id: 'C-3', file: 'allium.jpg', merchant_id: 'm-catalog', declared_category: 'livestock', title: 'Suffolk sheep', price: '950', currency: 'EUR' },
  { asset_id: 'C-4', file: 'cat.jpg', merchant_id: 'm-other', declared_category: 'Farm animals', title: 'Luxury wristwatch', description: 'Swiss chronograph' },
];

/** The "fix": prices and currencies corrected, nothing triage reads. */
function correctedRows(): DemoRow[] {
  return ROWS.map((row) => ({ ...row, price: row.price === undefined ? '99' : String(Number(row.price) + 1), currency: 'EUR' }));
}

function catalog(rows: DemoRow[], images: Record<string, Buffer>): Buffer {
  return buildZip({ 'manifest.csv': manifestCsv(rows), ...images });
}

let local: LocalSession;
let target: ReviewTarget;
let images: Record<string, Buffer>;
let first: RunOutcome;
let corrected: RunOutcome;
let changed: RunOutcome;
const messagesAfter: number[] = [];

function queueMessages(): Array<{ body: Record<string, unknown>; messageId: string }> {
  const queue = local.stack.queues.find((q) => q.deadLetterTargetArn !== undefined)!;
  const inspected = local.standIns.fauxqs.inspectQueue(queue.name)!;
  return [...inspected.messages.ready, ...inspected.messages.delayed, ...inspected.messages.inflight.map((m) => m.message)].map((m) => ({
    body: JSON.parse(m.body) as Record<string, unknown>,
    messageId: m.messageId,
  }));
}

const byAssetId = (run: RunOutcome, assetId: string): AssetRecord => run.records.find((record) => record.listing.assetId === assetId)!;

beforeAll(async () => {
  local = await session({ intercept: answerBoat });
  images = { 'boats.jpg': stdlibPhoto('boats'), 'sheep.jpg': stdlibPhoto('sheep'), 'allium.jpg': stdlibPhoto('allium'), 'cat.jpg': stdlibPhoto('cat') };
  first = await runIn(local, catalog(ROWS, images), 'catalog.zip');
  messagesAfter.push(queueMessages().length);
  // Same name, new archive, so a new batch.
  const fixedRows = correctedRows();
  corrected = await runIn(local, catalog(fixedRows, images), 'catalog.zip');
  messagesAfter.push(queueMessages().length);
  // One image replaced.
  changed = await runIn(local, catalog(fixedRows, { ...images, 'sheep.jpg': await noiseJpeg(13) }), 'catalog.zip');
  messagesAfter.push(queueMessages().length);
  target = {
    tableName: local.stack.tables[0]!.name,
    reviewQueueUrl: local.stack.queues.find((q) => q.deadLetterTargetArn !== undefined)!.url,
    dataBucket: local.dataBucket,
    imageLocation: async (bucket, key) => `s3://${bucket}/${key}`,
  };
}, 240_000);

afterAll(async () => {
  await local?.close();
});

describe('a corrected batch re-uploaded under the same name', () => {
  it('is a new batch whose unchanged assets carry the earlier decision and review state, with no new review message', () => {
    expect(first.execution.status).toBe('SUCCEEDED');
    expect(corrected.summary!.batchId).not.toBe(first.summary!.batchId);
    const reviewable = first.records.filter(needsReview);
    expect(reviewable.length).toBeGreaterThanOrEqual(3);
    expect(messagesAfter[0]).toBe(reviewable.length);
    expect(messagesAfter[1]).toBe(messagesAfter[0]);
    expect(corrected.summary!.sentToReview).toBe(0);
    for (const earlier of first.records) {
      const carried = byAssetId(corrected, earlier.listing.assetId!);
      expect(carried.carriedFrom).toMatchObject({ batchId: first.summary!.batchId, assetKey: earlier.assetKey });
      expect(carried).toMatchObject({ outcome: earlier.outcome, reasons: earlier.reasons });
      expect(carried.reviewRevision).toBe(earlier.reviewRevision);
      expect(carried.listing.price).not.toBe(earlier.listing.price);
      expect(carried.reviewMessageId).toBeUndefined();
    }
  });

  it('a changed image is triaged again: exactly one new review message, the older record superseded, linked both ways', async () => {
    expect(messagesAfter[2]! - messagesAfter[1]!).toBe(1);
    const renewed = byAssetId(changed, 'C-2');
    const original = byAssetId(first, 'C-2');
    expect(renewed.carriedFrom).toBeUndefined();
    expect(renewed.image!.sha256).not.toBe(original.image!.sha256);
    expect(renewed.supersedes).toMatchObject({ batchId: first.summary!.batchId, assetKey: original.assetKey });
    expect(renewed.reviewMessageId).toBeDefined();
    const newMessage = queueMessages().find((message) => message.messageId === renewed.reviewMessageId)!;
    expect(newMessage.body).toMatchObject({ batchId: changed.summary!.batchId, assetId: 'C-2' });

    const superseded = (await getAssetRecord(original.pk, original.sk))!;
    expect(superseded.supersededBy).toMatchObject({ batchId: changed.summary!.batchId, assetKey: renewed.assetKey });
    const identity = await getIdentity(identityKey('m-catalog', 'C-2'));
    expect(identity).toMatchObject({ owner: { batchId: changed.summary!.batchId, assetKey: renewed.assetKey }, version: 2 });
    expect(identity!.previousOwner).toBeUndefined();
    // Every other asset is carried again, from the first batch (still their identity's owner).
    for (const record of changed.records.filter((r) => r.listing.assetId !== 'C-2')) {
      expect(record.carriedFrom?.batchId).toBe(first.summary!.batchId);
    }
    const audit = await new ReviewStore(target.tableName).auditLog(new Date(Date.now() - 3_600_000), new Date(Date.now() + 60_000));
    expect(audit.filter((entry) => entry.action === 'SUPERSEDED')).toEqual([
      expect.objectContaining({ batchId: first.summary!.batchId, assetKey: original.assetKey }),
    ]);
  });

  it('the review tools skip the superseded task: its message is dropped, the new one is claimed', async () => {
    const work = new ReviewWork(target, loadTaxonomy(), { ...loadReviewPolicy(), gold: { rate: 0 } });
    const claimedTasks: string[] = [];
    for (;;) {
      const claimed = await work.next('reviewer-1');
      if (claimed === undefined) break;
      claimedTasks.push(`${claimed.claim.batchId}/${claimed.view.assetId}`);
      await work.decide('reviewer-1', claimed.claim.assetKey, 'approve', { batchId: claimed.claim.batchId });
    }
    expect(claimedTasks).toContain(`${changed.summary!.batchId}/C-2`);
    expect(claimedTasks).not.toContain(`${first.summary!.batchId}/C-2`);
    // Nothing of the carried batch is ever a task of its own: its assets were reviewed on the first batch's tasks.
    expect(claimedTasks.filter((task) => task.startsWith(corrected.summary!.batchId))).toEqual([]);
  });

  it('a rerun of the changed batch duplicates nothing', async () => {
    const before = queueMessages().length;
    const rerun = await runIn(local, catalog(correctedRows(), { ...images, 'sheep.jpg': await noiseJpeg(13) }), 'catalog.zip');
    expect(rerun.summary!.batchId).toBe(changed.summary!.batchId);
    expect(queueMessages().length).toBe(before);
    expect((await getIdentity(identityKey('m-catalog', 'C-2')))!.version).toBe(2);
  });
});
