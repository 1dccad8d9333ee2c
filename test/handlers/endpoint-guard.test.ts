/**
 * The endpoint concurrency guard across executions (lambdas/adapters/endpoint-guard.ts) against dynalite: never more
 * holders than slots, a crashed holder's expired lease is taken over, a full guard waits until the attempt's signal
 * ends it — and several Classify invocations at once (as several batches' map children would run them) never have
 * more calls in flight at an endpoint than its slots, measured at the SageMaker stand-in.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lambdas/adapters/aws-clients';
import { semaphorePk, withEndpointSlot } from '../../lambdas/adapters/endpoint-guard';
import { putObject } from '../../lambdas/adapters/object-store';
import { SETTING_NAMES, setting } from '../../lambdas/adapters/settings';
import { rowAssetKey } from '../../lambdas/core/batch-plan';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { stagingPrefix, type WorkItem } from '../../lambdas/core/work-items';
import { handler as classify } from '../../lambdas/functions/classify';
import { handler as preprocess } from '../../lambdas/functions/preprocess';
import { stdlibPhoto, type PhotoName } from '../../local/demo-batch';
import type { LocalSession } from '../../local/local-session';
import { session } from '../support/local-pipeline';

let local: LocalSession;
const inFlight = new Map<string, number>();
const peak = new Map<string, number>();

/** Answers after a short pause, counting the calls in flight per endpoint. */
async function slowAnswer(request: { endpointName: string }): Promise<{ labels: Array<{ label: string; score: number }> }> {
  const now = (inFlight.get(request.endpointName) ?? 0) + 1;
  inFlight.set(request.endpointName, now);
  peak.set(request.endpointName, Math.max(peak.get(request.endpointName) ?? 0, now));
  await new Promise((resolve) => setTimeout(resolve, 40));
  inFlight.set(request.endpointName, (inFlight.get(request.endpointName) ?? 1) - 1);
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: 1 / candidates.length })) };
}

beforeAll(async () => {
  local = await session({ intercept: slowAnswer });
});
afterAll(async () => {
  await local?.close();
});

const slots = async (endpointName: string) =>
  (
    await documentClient().send(
      new QueryCommand({
        TableName: setting('tableName'),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': semaphorePk(endpointName) },
        ConsistentRead: true,
      }),
    )
  ).Items ?? [];

describe('withEndpointSlot', () => {
  it('never lets more callers in than there are slots, and frees every slot afterwards', async () => {
    let running = 0;
    let most = 0;
    const work = async (): Promise<void> => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 30));
      running -= 1;
    };
    const signal = AbortSignal.timeout(60_000);
    await Promise.all(Array.from({ length: 8 }, () => withEndpointSlot({ tableName: setting('tableName'), endpointName: 'ep-two', limit: 2, signal }, work)));
    expect(most).toBe(2);
    expect(await slots('ep-two')).toEqual([]);
  });

  it('frees the slot when the work fails', async () => {
    const signal = AbortSignal.timeout(60_000);
    await expect(
      withEndpointSlot({ tableName: setting('tableName'), endpointName: 'ep-fail', limit: 1, signal }, () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    expect(await slots('ep-fail')).toEqual([]);
  });

  it("takes over a crashed holder's slot once its lease has expired, and waits while a live lease holds it", async () => {
    const put = (endpointName: string, expiresAt: number) =>
      documentClient().send(
        new PutCommand({ TableName: setting('tableName'), Item: { pk: semaphorePk(endpointName), sk: 'SLOT#0', holder: 'crashed', expiresAt } }),
      );
    await put('ep-stale', Date.now() - 1);
    const signal = AbortSignal.timeout(60_000);
    await expect(withEndpointSlot({ tableName: setting('tableName'), endpointName: 'ep-stale', limit: 1, signal }, () => Promise.resolve('ran'))).resolves.toBe(
      'ran',
    );

    await put('ep-held', Date.now() + 60_000);
    const error = await withEndpointSlot({ tableName: setting('tableName'), endpointName: 'ep-held', limit: 1, signal: AbortSignal.timeout(300) }, () =>
      Promise.resolve('ran'),
    ).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect((error as Error).message).toMatch(/no free slot/);
  });
});

describe('several executions at once', () => {
  it('keep each endpoint at its slots: 4 Classify invocations in parallel, one slot per endpoint', async () => {
    const saved = { category: process.env[SETTING_NAMES.categoryEndpointConcurrency], policy: process.env[SETTING_NAMES.policyEndpointConcurrency] };
    process.env[SETTING_NAMES.categoryEndpointConcurrency] = '1';
    process.env[SETTING_NAMES.policyEndpointConcurrency] = '1';
    try {
      const photos: PhotoName[] = ['boats', 'sheep', 'cat', 'allium'];
      const children = await Promise.all(
        photos.map(async (photo, index) => {
          const batchId = `b-guard-${index}`;
          const stagedKey = `${stagingPrefix(batchId)}files/${photo}.jpg`;
          await putObject(local.dataBucket, stagedKey, stdlibPhoto(photo), 'image/jpeg');
          const item: WorkItem = {
            batchId,
            assetKey: rowAssetKey(1),
            rowNumber: 1,
            file: `${photo}.jpg`,
            stagedKey,
            receivedAt: '2026-12-01T10:00:00.000Z',
            listing: {
              assetId: `${photo}-1`,
              file: `${photo}.jpg`,
              merchantId: 'm-guard',
              declaredCategory: 'Boats',
              declaredCategoryId: 'vehicles.boats',
              title: 'Boat',
              attributes: {},
            },
          };
          return preprocess({ Items: [item, { ...item, assetKey: rowAssetKey(2), rowNumber: 2 }] });
        }),
      );
      peak.clear();
      const results = await Promise.all(children.map((child) => classify(child)));
      expect(results.flatMap((result) => result.assets).every((asset) => asset.classification !== undefined)).toBe(true);
      expect([...peak.keys()].sort()).toEqual(local.stack.endpoints.map((endpoint) => endpoint.name).sort());
      for (const [endpoint, most] of peak) expect(most, endpoint).toBe(1);
    } finally {
      process.env[SETTING_NAMES.categoryEndpointConcurrency] = saved.category;
      process.env[SETTING_NAMES.policyEndpointConcurrency] = saved.policy;
    }
  });
});
