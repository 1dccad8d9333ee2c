/**
 * The Persist stage and the review enqueue against the local stand-ins (FIFO review queue, dynalite): idempotent
 * records, and exactly one deliverable review message per review revision of a record whatever crashes — a crash is
 * injected before the send, after the send (before the record is marked) and after the mark, and the next sender
 * (the stage's retry, or Report's sweep) must neither lose nor double the message.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, sqsClient } from '../../lambdas/adapters/aws-clients';
import { getAssetRecord, putAssetRecord, replaceRecord } from '../../lambdas/adapters/record-store';
import { enqueueForReview, sweepReviewMessages, type ReviewMessage } from '../../lambdas/adapters/review-queue';
import { SETTING_NAMES } from '../../lambdas/adapters/settings';
import { assetSk, batchPk, withDuplicateFinding, type AssetRecord } from '../../lambdas/core/records';
import { isCurrentTask, pendingReviewRevision } from '../../lambdas/core/review-task';
import type { AssetWork } from '../../lambdas/core/work-items';
import { handler as persist, toRecord } from '../../lambdas/functions/persist';
import type { LocalSession } from '../../local/local-session';
import { session } from '../support/local-pipeline';

let local: LocalSession;

beforeAll(async () => {
  local = await session();
});
afterAll(async () => {
  await local?.close();
});

/** Every message the review queue holds (ready, delayed or received and not yet deleted). */
function reviewMessages(batchId: string): ReviewMessage[] {
  const queue = local.stack.queues.find((q) => q.deadLetterTargetArn !== undefined)!;
  const inspected = local.standIns.fauxqs.inspectQueue(queue.name)!;
  return [...inspected.messages.ready, ...inspected.messages.delayed, ...inspected.messages.inflight.map((m) => m.message)]
    .map((m) => JSON.parse(m.body) as ReviewMessage)
    .filter((message) => message.batchId === batchId);
}

function work(batchId: string, assetKey: string, outcome: 'NEEDS_REVIEW' | 'AUTO_PASS' | 'FAILED'): AssetWork {
  const item = {
    batchId,
    assetKey,
    rowNumber: 1,
    file: 'a.jpg',
    stagedKey: `staging/${batchId}/files/a.jpg`,
    receivedAt: '2026-11-20T10:00:00.000Z',
    listing: {
      assetId: 'a-1',
      file: 'a.jpg',
      merchantId: 'm-1',
      declaredCategory: 'Boats',
      declaredCategoryId: 'vehicles.boats',
      title: 'Boat',
      attributes: {},
    },
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
        category: {
          declaredCategoryId: 'vehicles.boats',
          declaredSupport: 0.1,
          topCategoryId: 'vehicles.boats',
          topScore: 0.1,
          scores: [],
          thresholds: { lowConfidence: 0.2, mismatch: 0.3, pass: 0.25 },
        },
        text: { mentions: [], conflict: false, imageConflict: false },
        policy: [],
      },
    },
  };
}

class InjectedCrash extends Error {
  override name = 'InjectedCrash';
}

type CrashPoint = 'before-send' | 'after-send' | 'after-mark';
const CRASH_MIDDLEWARE = 'injectedCrash';

/**
 * Makes the next matching call of the stage's real SDK client "crash" — before the request leaves, or after the
 * stand-in has done the work but before the caller sees the answer (what a process dying at that point looks like to
 * everyone else). A fault the stand-ins cannot produce, so it is injected at the client, once.
 */
function crashOnce(point: CrashPoint): void {
  let armed = true;
  const sqs = sqsClient() as SQSClient;
  const dynamo = documentClient() as DynamoDBDocumentClient;
  const isSend = (commandName: string) => commandName === 'SendMessageCommand';
  const isMark = (commandName: string, input: { UpdateExpression?: string }) =>
    (commandName === 'UpdateCommand' || commandName === 'UpdateItemCommand') && (input.UpdateExpression ?? '').includes('reviewSentRevision');
  const middleware =
    (matches: (name: string, input: never) => boolean, after: boolean) =>
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
    async (args: { input: never }) => {
      if (!armed || !matches(context.commandName ?? '', args.input)) return next(args);
      armed = false;
      if (!after) throw new InjectedCrash(`crash before ${context.commandName}`);
      await next(args);
      throw new InjectedCrash(`crash after ${context.commandName}`);
    };
  if (point === 'after-mark') dynamo.middlewareStack.add(middleware(isMark, true) as never, { step: 'initialize', name: CRASH_MIDDLEWARE });
  else sqs.middlewareStack.add(middleware(isSend, point === 'after-send') as never, { step: 'initialize', name: CRASH_MIDDLEWARE });
}

afterEach(() => {
  (sqsClient() as SQSClient).middlewareStack.remove(CRASH_MIDDLEWARE);
  (documentClient() as DynamoDBDocumentClient).middlewareStack.remove(CRASH_MIDDLEWARE);
});

async function stored(batchId: string, assetKey = 'row-000001'): Promise<AssetRecord> {
  return (await getAssetRecord(batchPk(batchId), assetSk(assetKey)))!;
}

describe('Persist', () => {
  it('writes one record and one review message however often it runs', async () => {
    const asset = work('b-idem', 'row-000001', 'NEEDS_REVIEW');
    const first = await persist({ assets: [asset] });
    const again = await persist({ assets: [asset] });
    expect(first).toEqual({ recorded: 1, alreadyRecorded: 0, enqueued: 1, carriedOver: 0, superseded: 0 });
    expect(again).toEqual({ recorded: 0, alreadyRecorded: 1, enqueued: 0, carriedOver: 0, superseded: 0 });
    expect(reviewMessages('b-idem')).toHaveLength(1);
    const record = await stored('b-idem');
    expect(record.reviewMessageId).toBeDefined();
    expect(record.reviewRevision).toBe(1);
    expect(record.reviewSentRevision).toBe(1);
    expect(record.lineage.taxonomyVersion).toBeTruthy();
  });

  it('never overwrites a standing decision, but replaces a FAILED one', async () => {
    await persist({ assets: [work('b-replace', 'row-000001', 'FAILED')] });
    expect((await stored('b-replace')).outcome).toBe('FAILED');
    await persist({ assets: [work('b-replace', 'row-000001', 'AUTO_PASS')] });
    expect((await stored('b-replace')).outcome).toBe('AUTO_PASS');
    await persist({ assets: [work('b-replace', 'row-000001', 'NEEDS_REVIEW')] });
    expect((await stored('b-replace')).outcome).toBe('AUTO_PASS');
    expect(reviewMessages('b-replace')).toHaveLength(0);
  });

  it('keeps the revision pending when the send fails, so a retry sends exactly once', async () => {
    const queueUrlVariable = SETTING_NAMES.reviewQueueUrl;
    const realQueueUrl = process.env[queueUrlVariable]!;
    process.env[queueUrlVariable] = realQueueUrl.replace(/[^/]+$/, 'no-such-queue.fifo');
    const asset = work('b-sendfail', 'row-000001', 'NEEDS_REVIEW');
    try {
      await expect(persist({ assets: [asset] })).rejects.toThrow();
    } finally {
      process.env[queueUrlVariable] = realQueueUrl;
    }
    const record = await stored('b-sendfail');
    expect(record.reviewMessageId).toBeUndefined();
    expect(pendingReviewRevision(record)).toBe(1);
    expect(await persist({ assets: [asset] })).toMatchObject({ enqueued: 1 });
    expect(reviewMessages('b-sendfail')).toHaveLength(1);
  });
});

describe('exactly one review message per record revision, whatever crashes', () => {
  const points: CrashPoint[] = ['before-send', 'after-send', 'after-mark'];

  for (const point of points) {
    it(`crash ${point}, then the stage's retry: one message, marked`, async () => {
      const batchId = `b-retry-${point}`;
      const asset = work(batchId, 'row-000001', 'NEEDS_REVIEW');
      crashOnce(point);
      await expect(persist({ assets: [asset] })).rejects.toThrow(InjectedCrash);
      // The record was stored before any send: the source of truth is never behind the queue.
      expect((await stored(batchId)).outcome).toBe('NEEDS_REVIEW');
      await persist({ assets: [asset] });
      const messages = reviewMessages(batchId);
      expect(messages).toHaveLength(1);
      const record = await stored(batchId);
      expect(record.reviewMessageId).toBeDefined();
      expect(pendingReviewRevision(record)).toBeUndefined();
      expect(messages[0]!.reviewTaskId).toMatch(/-r1$/);
    });

    it(`crash ${point}, the stage never retried, then Report's sweep: one message, marked`, async () => {
      const batchId = `b-sweep-${point}`;
      crashOnce(point);
      await expect(persist({ assets: [work(batchId, 'row-000001', 'NEEDS_REVIEW'), work(batchId, 'row-000002', 'NEEDS_REVIEW')] })).rejects.toThrow(
        InjectedCrash,
      );
      // Persist died on the first asset: the second has no record yet (Report reconciles that; not the point here).
      const owed = point === 'after-mark' ? 0 : 1;
      expect(await sweepReviewMessages(batchId)).toBe(owed);
      expect(await sweepReviewMessages(batchId)).toBe(0);
      expect(reviewMessages(batchId)).toHaveLength(1);
      const record = await stored(batchId);
      expect(record.reviewSentRevision).toBe(1);
    });
  }

  it('concurrent senders of the same revision produce one message and agree on its id', async () => {
    const batchId = 'b-concurrent';
    const record = toRecord(work(batchId, 'row-000001', 'NEEDS_REVIEW'), '0.0.0-test', new Date().toISOString());
    await putAssetRecord(record);
    const ids = await Promise.all([enqueueForReview(record), enqueueForReview(record), enqueueForReview(record)]);
    expect(new Set(ids).size).toBe(1);
    expect(reviewMessages(batchId)).toHaveLength(1);
  });

  it('a record that gains reasons after its message gets a follow-up that supersedes it (also across a crash)', async () => {
    const batchId = 'b-followup';
    await persist({ assets: [work(batchId, 'row-000001', 'NEEDS_REVIEW')] });
    const first = await stored(batchId);
    const finding = {
      assetKey: first.assetKey,
      reasons: ['DUPLICATE_IMAGE_OTHER_MERCHANT' as const],
      matches: [{ batchId: 'b-other', assetKey: 'row-000009', merchantId: 'm-2', declaredCategoryId: 'vehicles.boats', distance: 0 }],
    };
    const amended = withDuplicateFinding(first, finding, new Date().toISOString())!;
    expect(amended.reviewRevision).toBe(2);
    expect(await replaceRecord(amended, first.decidedAt)).toBe(true);
    crashOnce('after-send');
    await expect(enqueueForReview(amended)).rejects.toThrow(InjectedCrash);
    expect(await sweepReviewMessages(batchId)).toBe(1);

    const messages = reviewMessages(batchId).sort((a, b) => a.revision - b.revision);
    expect(messages.map((m) => m.revision)).toEqual([1, 2]);
    expect(messages[1]!.supersedes).toBe(messages[0]!.reviewTaskId);
    expect(messages[1]!.reasons).toContain('DUPLICATE_IMAGE_OTHER_MERCHANT');
    const record = await stored(batchId);
    expect(isCurrentTask(messages[0]!, record)).toBe(false);
    expect(isCurrentTask(messages[1]!, record)).toBe(true);
  });

  it('an auto-pass that CrossCheck makes reviewable gets its first message then', async () => {
    const batchId = 'b-late-review';
    await persist({ assets: [work(batchId, 'row-000001', 'AUTO_PASS')] });
    const first = await stored(batchId);
    expect(reviewMessages(batchId)).toHaveLength(0);
    const amended = withDuplicateFinding(
      first,
      {
        assetKey: first.assetKey,
        reasons: ['DUPLICATE_IMAGE_OTHER_CATEGORY'],
        matches: [{ batchId, assetKey: 'row-000002', merchantId: 'm-1', declaredCategoryId: 'art', distance: 2 }],
      },
      new Date().toISOString(),
    )!;
    expect(amended.outcome).toBe('NEEDS_REVIEW');
    await replaceRecord(amended, first.decidedAt);
    expect(await sweepReviewMessages(batchId)).toBe(1);
    expect(reviewMessages(batchId).map((m) => m.revision)).toEqual([1]);
  });
});
