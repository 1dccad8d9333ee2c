/**
 * The human review loop end to end against the local stand-ins: assets routed to review by the pipeline are claimed
 * and decided by two blind reviewers who disagree, adjudicated, and the record, decisions, audit log and exported
 * dataset agree; an abandoned claim comes back; a duplicate message creates no second task; a gold item scores its
 * reviewer; stats carry agreement and gold accuracy.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqsClient } from '../../lambdas/adapters/aws-clients';
import { DATASET_SCHEMA_VERSION, exportDataset } from '../../lambdas/adapters/dataset-export';
import { getAssetRecord, listAssetRecords } from '../../lambdas/adapters/record-store';
import { ReviewStore } from '../../lambdas/adapters/review-store';
import { reviewStats } from '../../lambdas/adapters/review-stats';
import { ReviewError, ReviewWork, type ReviewTarget } from '../../lambdas/adapters/review-work';
import { assetSk, batchPk, type AssetRecord } from '../../lambdas/core/records';
import { loadReviewPolicy, type ReviewPolicy } from '../../lambdas/core/review/review-policy';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { buildZip, manifestCsv, stdlibPhoto } from '../../local/demo-batch';
import type { LocalSession } from '../../local/local-session';
import { runIn, session } from '../support/local-pipeline';

let local: LocalSession;
let target: ReviewTarget;
let batchId: string;
const taxonomy = loadTaxonomy();

/** Policy-sensitive scores for every image (no such samples ship): each asset needs two blind reviewers. */
const policySensitive = (request: { endpointName: string }) =>
  request.endpointName.startsWith('PolicyModel')
    ? {
        labels: [
          { label: 'porn', score: 0.91 },
          { label: 'neutral', score: 0.09 },
        ],
      }
    : undefined;

function queueMessages(): Array<{ body: string; messageId: string }> {
  const queue = local.stack.queues.find((q) => q.deadLetterTargetArn !== undefined)!;
  const inspected = local.standIns.fauxqs.inspectQueue(queue.name)!;
  return [...inspected.messages.ready, ...inspected.messages.delayed, ...inspected.messages.inflight.map((m) => m.message)].map((m) => ({
    body: m.body,
    messageId: m.messageId,
  }));
}

function work(policy: Partial<ReviewPolicy> = {}, clock?: () => Date): ReviewWork {
  return new ReviewWork(target, taxonomy, { ...loadReviewPolicy(), gold: { rate: 0 }, ...policy }, clock);
}

async function record(assetKey: string, batch = batchId): Promise<AssetRecord> {
  return (await getAssetRecord(batchPk(batch), assetSk(assetKey)))!;
}

beforeAll(async () => {
  local = await session({ intercept: policySensitive });
  const archive = buildZip({
    'manifest.csv': manifestCsv([
      { asset_id: 'R-1', file: 'boats.jpg', merchant_id: 'm1', declared_category: 'Boats', title: 'Fishing boat' },
      { asset_id: 'R-2', file: 'sheep.jpg', merchant_id: 'm1', declared_category: 'livestock', title: 'Sheep flock' },
      { asset_id: 'R-3', file: 'cats.jpg', merchant_id: 'm2', declared_category: 'Pets', title: 'Kittens' },
    ]),
    'boats.jpg': stdlibPhoto('boats'),
    'sheep.jpg': stdlibPhoto('sheep'),
    'cats.jpg': stdlibPhoto('cat'),
  });
  const run = await runIn(local, archive, 'review-loop.zip');
  expect(run.execution.status).toBe('SUCCEEDED');
  batchId = run.summary!.batchId;
  target = {
    tableName: local.stack.tables[0]!.name,
    reviewQueueUrl: local.stack.queues.find((q) => q.deadLetterTargetArn !== undefined)!.url,
    dataBucket: local.dataBucket,
    imageLocation: async (bucket, key) => `s3://${bucket}/${key}`,
  };
}, 180_000);

afterAll(async () => {
  await local?.close();
});

describe('blind double review and adjudication', () => {
  it('two reviewers who disagree, an adjudicator, and a record, decisions, audit log and dataset that agree', async () => {
    const records = await listAssetRecords(batchId);
    expect(records).toHaveLength(3);
    expect(records.every((r) => r.reasons.includes('POLICY_SENSITIVE'))).toBe(true);
    const reviews = work();

    // alice rejects everything she is given; each asset needs two reviewers, so none is final yet
    const aliceSaw: string[] = [];
    for (let claimed = await reviews.next('alice'); claimed !== undefined; claimed = await reviews.next('alice')) {
      expect(claimed.view.image.location).toMatch(/^s3:\/\//);
      expect(claimed.view.declared.name).toBeTruthy();
      expect(claimed.view.policy.some((p) => p.sensitive)).toBe(true);
      aliceSaw.push(claimed.claim.assetKey);
      const { state } = await reviews.decide('alice', claimed.claim.assetKey, 'reject');
      expect(state?.status).toBe('OPEN');
    }
    expect(aliceSaw.sort()).toEqual(records.map((r) => r.assetKey).sort());

    // bob approves the first he is given and rejects the rest: one disagreement
    const bobSaw: string[] = [];
    for (let claimed = await reviews.next('bob'); claimed !== undefined; claimed = await reviews.next('bob')) {
      bobSaw.push(claimed.claim.assetKey);
      await reviews.decide('bob', claimed.claim.assetKey, bobSaw.length === 1 ? 'approve' : 'reject', { note: 'looks fine to me' });
    }
    expect(bobSaw).toHaveLength(3);
    const disputed = bobSaw[0]!;
    expect((await record(disputed)).reviewStatus).toBe('ADJUDICATION');
    for (const key of bobSaw.slice(1))
      expect(await record(key)).toMatchObject({ reviewStatus: 'FINAL', reviewOutcome: 'reject', reviewOutcomeBy: 'consensus' });

    // neither reviewer may adjudicate their own disagreement, nor may a non-adjudicator
    expect(await reviews.next('alice', { adjudicator: true })).toBeUndefined();
    expect(await reviews.next('dave')).toBeUndefined();
    const adjudication = await reviews.next('carol', { adjudicator: true });
    expect(adjudication?.claim).toMatchObject({ assetKey: disputed, role: 'adjudication' });
    const { decision, state } = await reviews.decide('carol', disputed, 'approve');
    expect(state).toMatchObject({ status: 'FINAL', label: 'approve', by: 'adjudication' });
    expect(decision).toMatchObject({ reviewerId: 'carol', role: 'adjudication', label: 'approve', seen: { outcome: (await record(disputed)).outcome } });
    expect(decision.timeToLabelMs).toBeGreaterThanOrEqual(0);
    expect(await record(disputed)).toMatchObject({ reviewStatus: 'FINAL', reviewOutcome: 'approve', reviewOutcomeBy: 'adjudication' });
    expect((await record(disputed)).reviewedBy?.sort()).toEqual(['alice', 'bob', 'carol']);

    // every message is settled: none left for anyone
    expect(queueMessages()).toHaveLength(0);
    expect(await reviews.next('erin', { adjudicator: true })).toBeUndefined();

    // the audit log holds every state change; decisions are stored once per reviewer and task
    const store = new ReviewStore(target.tableName);
    const log = await store.auditLog(new Date(Date.now() - 3_600_000), new Date(Date.now() + 60_000));
    expect(log.filter((e) => e.action === 'DECIDED')).toHaveLength(7);
    expect(log.filter((e) => e.action === 'FINALIZED')).toHaveLength(3);
    expect(log.filter((e) => e.action === 'CLAIMED').length).toBeGreaterThanOrEqual(7);

    const stats = await reviewStats(target, { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) });
    expect(stats.decisions).toBe(7);
    expect(stats.reviewers.map((r) => [r.reviewerId, r.decisions])).toEqual([
      ['alice', 3],
      ['bob', 3],
      ['carol', 1],
    ]);
    // alice/bob agree on 2 of 3 → raw 2/3; both used reject mostly
    expect(stats.agreement.raw).toBeCloseTo(2 / 3, 12);
    expect(stats.agreement.pairs).toHaveLength(1);
    expect(stats.agreement.ac1).not.toBeNull();
    expect(stats.pending).toEqual({ visible: 0, claimed: 0 });

    const dataset = await exportDataset(
      { tableName: target.tableName, dataBucket: local.dataBucket, reportsBucket: local.reportsBucket },
      { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) },
    );
    expect(dataset.items).toBe(3);
    expect(dataset.key).toMatch(new RegExp(`^datasets/v${DATASET_SCHEMA_VERSION}-[0-9a-f]{12}/labelled\\.jsonl$`));
    // the raw endpoint answers travel with the line, so eval --dataset re-runs triage on exactly what it saw
    expect(dataset.lines.every((line) => (line.modelOutputs.categoryLabels?.length ?? 0) > 0 && (line.modelOutputs.policyLabels?.length ?? 0) > 0)).toBe(true);
    const disputedLine = dataset.lines.find((line) => line.assetKey === disputed)!;
    expect(disputedLine).toMatchObject({ label: 'approve', labelBy: 'adjudication', triage: { reasons: expect.arrayContaining(['POLICY_SENSITIVE']) } });
    expect(disputedLine.modelOutputs.policy.length).toBeGreaterThan(0);
    expect(disputedLine.image.key).toBeTruthy();
  });
});

describe('claims, duplicates and gold', () => {
  it('a duplicate message for a live task is dropped silently and creates no second task', async () => {
    // A fresh batch so the queue has live tasks again.
    const archive = buildZip({
      'manifest.csv': manifestCsv([{ asset_id: 'D-1', file: 'boats.jpg', merchant_id: 'm9', declared_category: 'Boats', title: 'Boat' }]),
      'boats.jpg': stdlibPhoto('boats'),
    });
    const run = await runIn(local, archive, 'duplicates.zip');
    // (its image is also listed by another merchant, so CrossCheck sent a follow-up revision: take the latest)
    const live = queueMessages()
      .filter((m) => (JSON.parse(m.body) as { batchId: string }).batchId === run.summary!.batchId)
      .sort((a, b) => (JSON.parse(b.body) as { revision: number }).revision - (JSON.parse(a.body) as { revision: number }).revision);
    expect(live.length).toBeGreaterThanOrEqual(1);
    // what SQS could deliver past its deduplication window: the same task again under another deduplication id
    await sqsClient().send(
      new SendMessageCommand({
        QueueUrl: target.reviewQueueUrl,
        MessageBody: live[0]!.body,
        MessageGroupId: 'duplicate',
        MessageDeduplicationId: 'duplicate-1',
      }),
    );
    const reviews = work();
    const first = await reviews.next('frank');
    expect(first?.claim.batchId).toBe(run.summary!.batchId);
    await reviews.decide('frank', first!.claim.assetKey, 'reject');
    // the duplicate is neither offered to frank again nor kept
    expect(await reviews.next('frank')).toBeUndefined();
    const store = new ReviewStore(target.tableName);
    expect(await store.decisions(first!.claim.reviewTaskId)).toHaveLength(1);
    const dropped = (await store.auditLog(new Date(Date.now() - 60_000), new Date(Date.now() + 60_000))).filter((e) => e.action === 'DROPPED_MESSAGE');
    expect(dropped.some((e) => String(e.details['why']).includes('duplicate'))).toBe(true);
    // the task's message stays for its second reviewer
    const second = await reviews.next('grace');
    expect(second?.claim.reviewTaskId).toBe(first!.claim.reviewTaskId);
    await reviews.decide('grace', second!.claim.assetKey, 'reject');
    expect(await record(first!.claim.assetKey, run.summary!.batchId)).toMatchObject({ reviewStatus: 'FINAL', reviewOutcome: 'reject' });
  });

  it('an abandoned claim comes back to someone else, and the late decision is refused', async () => {
    const archive = buildZip({
      'manifest.csv': manifestCsv([{ asset_id: 'A-1', file: 'sheep.jpg', merchant_id: 'm8', declared_category: 'livestock', title: 'Sheep' }]),
      'sheep.jpg': stdlibPhoto('sheep'),
    });
    await runIn(local, archive, 'abandoned.zip');
    // a 3-second claim, so the test need not wait 15 minutes
    const reviews = work({ claimMinutes: 3 / 60 });
    const abandoned = await reviews.next('heidi');
    expect(abandoned).toBeDefined();
    expect(await reviews.next('ivan')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const back = await reviews.next('ivan');
    expect(back?.claim.reviewTaskId).toBe(abandoned!.claim.reviewTaskId);
    await expect(reviews.decide('heidi', abandoned!.claim.assetKey, 'approve')).rejects.toMatchObject({ code: 'CLAIM_EXPIRED' });
    await expect(reviews.decide('judy', abandoned!.claim.assetKey, 'approve')).rejects.toBeInstanceOf(ReviewError);
    expect(await reviews.release('ivan')).toBe(1);
  });

  it('a gold item is indistinguishable in the queue and scores its reviewer', async () => {
    const reviews = work({ gold: { rate: 1 } });
    const goldAsset = (await listAssetRecords(batchId))[0]!;
    await reviews.addGold({ batchId, assetKey: goldAsset.assetKey, label: 'reject', source: 'seed' }, 'lead');
    const claimed = await reviews.next('kim');
    expect(claimed?.claim.assetKey).toBe(goldAsset.assetKey);
    // the view carries nothing that says "gold"
    expect(JSON.stringify(claimed!.view)).not.toMatch(/gold/i);
    const before = (await record(goldAsset.assetKey)).reviewOutcome;
    await reviews.decide('kim', goldAsset.assetKey, 'approve');
    expect((await record(goldAsset.assetKey)).reviewOutcome).toBe(before);
    const stats = await reviewStats(target, { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) });
    expect(stats.goldAccuracy.perReviewer.find((r) => r.reviewerId === 'kim')).toEqual({ reviewerId: 'kim', items: 1, correct: 0, accuracy: 0 });
  });
});
