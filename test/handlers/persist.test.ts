/**
 * The Persist stage and the review enqueue against the local stand-ins: idempotent records, at most one review message
 * per record, and recovery when a send fails or a process dies between claim and send.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimReviewEnqueue, getAssetRecord, putAssetRecord } from '../../lambdas/adapters/record-store';
import { enqueueForReview } from '../../lambdas/adapters/review-queue';
import { SETTING_NAMES } from '../../lambdas/adapters/settings';
import { assetSk, batchPk } from '../../lambdas/core/records';
import type { AssetWork } from '../../lambdas/core/work-items';
import { handler as persist, toRecord } from '../../lambdas/functions/persist';
import type { LocalSession } from '../../lib/local/local-session';
import { session } from '../support/local-pipeline';

let local: LocalSession;

beforeAll(async () => {
  local = await session();
});
afterAll(async () => {
  await local?.close();
});

function reviewMessages(): Array<Record<string, unknown>> {
  const queue = local.stack.queues.find((q) => q.deadLetterTargetArn !== undefined)!;
  const inspected = local.standIns.fauxqs.inspectQueue(queue.name)!;
  return [...inspected.messages.ready, ...inspected.messages.inflight.map((m) => m.message)].map((m) => JSON.parse(m.body) as Record<string, unknown>);
}

function work(batchId: string, assetKey: string, outcome: 'NEEDS_REVIEW' | 'AUTO_PASS' | 'FAILED'): AssetWork {
  const item = {
    batchId,
    assetKey,
    rowNumber: 1,
    file: 'a.jpg',
    stagedKey: `staging/${batchId}/files/a.jpg`,
    receivedAt: '2026-11-20T10:00:00.000Z',
    listing: { assetId: 'a-1', file: 'a.jpg', merchantId: 'm-1', declaredCategory: 'Boats', declaredCategoryId: 'vehicles.boats', title: 'Boat', attributes: {} },
  };
  if (outcome === 'FAILED') return { item, early: { outcome: 'FAILED', reasons: ['MODEL_ERROR'], detail: 'model failed', stage: 'Classify' } };
  return {
    item,
    decision: {
      outcome,
      reasons: outcome === 'AUTO_PASS' ? [] : ['LOW_CONFIDENCE'],
      explanation: 'test decision',
      auditSampled: false,
      evidence: {
        category: { declaredCategoryId: 'vehicles.boats', declaredSupport: 0.1, topCategoryId: 'vehicles.boats', topScore: 0.1, scores: [], thresholds: { lowConfidence: 0.2, mismatch: 0.3, pass: 0.25 } },
        text: { mentions: [], conflict: false, imageConflict: false },
        policy: [],
      },
    },
  };
}

describe('Persist', () => {
  it('writes one record and one review message however often it runs', async () => {
    const asset = work('b-idem', 'row-000001', 'NEEDS_REVIEW');
    const first = await persist({ assets: [asset] });
    const again = await persist({ assets: [asset] });
    expect(first).toEqual({ recorded: 1, alreadyRecorded: 0, enqueued: 1 });
    expect(again).toEqual({ recorded: 0, alreadyRecorded: 1, enqueued: 0 });
    expect(reviewMessages().filter((m) => m['batchId'] === 'b-idem')).toHaveLength(1);
    const record = await getAssetRecord(batchPk('b-idem'), assetSk('row-000001'));
    expect(record?.reviewMessageId).toBeDefined();
    expect(record?.lineage.taxonomyVersion).toBeTruthy();
  });

  it('never overwrites a standing decision, but replaces a FAILED one', async () => {
    await persist({ assets: [work('b-replace', 'row-000001', 'FAILED')] });
    expect((await getAssetRecord(batchPk('b-replace'), assetSk('row-000001')))?.outcome).toBe('FAILED');
    await persist({ assets: [work('b-replace', 'row-000001', 'AUTO_PASS')] });
    expect((await getAssetRecord(batchPk('b-replace'), assetSk('row-000001')))?.outcome).toBe('AUTO_PASS');
    await persist({ assets: [work('b-replace', 'row-000001', 'NEEDS_REVIEW')] });
    expect((await getAssetRecord(batchPk('b-replace'), assetSk('row-000001')))?.outcome).toBe('AUTO_PASS');
  });

  it('releases the claim when the send fails, so a retry sends exactly once', async () => {
    const queueUrlVariable = SETTING_NAMES.reviewQueueUrl;
    const realQueueUrl = process.env[queueUrlVariable]!;
    process.env[queueUrlVariable] = realQueueUrl.replace(/[^/]+$/, 'no-such-queue');
    const asset = work('b-sendfail', 'row-000001', 'NEEDS_REVIEW');
    await expect(persist({ assets: [asset] })).rejects.toThrow();
    process.env[queueUrlVariable] = realQueueUrl;
    const record = await getAssetRecord(batchPk('b-sendfail'), assetSk('row-000001'));
    expect(record?.reviewMessageId).toBeUndefined();
    expect((record as unknown as Record<string, unknown>)['reviewClaimedAt']).toBeUndefined();
    expect(await persist({ assets: [asset] })).toMatchObject({ enqueued: 1 });
    expect(reviewMessages().filter((m) => m['batchId'] === 'b-sendfail')).toHaveLength(1);
  });

  it('a claim left by a crashed sender blocks others until it is stale, then is re-sent once', async () => {
    const asset = work('b-crash', 'row-000001', 'NEEDS_REVIEW');
    // The record is stored, then the process "dies" right after claiming and before sending.
    const pk = batchPk('b-crash');
    const sk = assetSk('row-000001');
    await putAssetRecord(toRecord(asset, '0.0.0-test', new Date().toISOString()));
    expect(await claimReviewEnqueue(pk, sk, new Date())).toBe(true);

    const stored = (await getAssetRecord(pk, sk))!;
    expect(await enqueueForReview(stored, new Date())).toBeUndefined();
    expect(reviewMessages().filter((m) => m['batchId'] === 'b-crash')).toHaveLength(0);
    const later = new Date(Date.now() + 10 * 60_000);
    expect(await enqueueForReview(stored, later)).toBeDefined();
    expect(await enqueueForReview((await getAssetRecord(pk, sk))!, new Date(later.getTime() + 20 * 60_000))).toBeUndefined();
    expect(reviewMessages().filter((m) => m['batchId'] === 'b-crash')).toHaveLength(1);
  });
});
