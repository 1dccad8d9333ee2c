/**
 * Erasure end to end on the real stand-ins (lambdas/adapters/purge.ts): two batches with the merchant to erase and a
 * merchant to keep (sharing one image), a review decided, a message still queued, a dataset exported; then a dry run
 * counts exactly what the purge removes, after the purge no item, object, CSV row or message mentions the merchant,
 * the other merchant's rows are untouched, one PURGED audit entry records the counts without the merchant, and a
 * second purge removes nothing.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, s3Client } from '../../lambdas/adapters/aws-clients';
import { exportDataset } from '../../lambdas/adapters/dataset-export';
import { getObjectBytes } from '../../lambdas/adapters/object-store';
import { ERASED_MERCHANT, merchantDigest, PURGE_KINDS, purgeMerchant, type PurgeResult, type PurgeStores } from '../../lambdas/adapters/purge';
import { ReviewWork } from '../../lambdas/adapters/review-work';
import { loadReviewPolicy } from '../../lambdas/core/review/review-policy';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { buildZip, manifestCsv, stdlibPhoto, type DemoRow } from '../../local/demo-batch';
import type { LocalSession } from '../../local/local-session';
import { runIn, session, type RunOutcome } from '../support/local-pipeline';

const ERASED = 'm-erase-me';
const KEPT = 'm-keep';
/** A listing text only the erased merchant uses: it must be gone too. */
const ERASED_TITLE = 'Heirloom quilt ZQXW';

function answerBoat(request: { endpointName: string }): { labels: Array<{ label: string; score: number }> } {
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: label === 'a photo of a boat' ? 0.9 : 0.1 / (candidates.length - 1) })) };
}

function batch(rows: DemoRow[]): Buffer {
  return buildZip({
    'manifest.csv': manifestCsv(rows),
    'boats.jpg': stdlibPhoto('boats'),
    'sheep.jpg': stdlibPhoto('sheep'),
    'cat.jpg': stdlibPhoto('cat'),
    'alps.jpg': stdlibPhoto('alps'),
  });
}

const FIRST: DemoRow[] = [
  { asset_id: 'E-1', file: 'sheep.jpg', merchant_id: ERASED, declared_category: 'Pets', title: ERASED_TITLE, description: 'hand stitched' },
  { asset_id: 'E-2', file: 'boats.jpg', merchant_id: ERASED, declared_category: 'Boats', title: 'Rowing boat' },
  { asset_id: 'E-3', file: 'cat.jpg', merchant_id: ERASED, declared_category: 'Toys', title: 'Plush cat' },
  // The same file as E-2: the staged file and the model input stay for this merchant.
  { asset_id: 'K-1', file: 'boats.jpg', merchant_id: KEPT, declared_category: 'Boats', title: 'Fishing boat' },
  { asset_id: 'K-2', file: 'alps.jpg', merchant_id: KEPT, declared_category: 'Wall Art', title: 'Alpine print' },
];
const SECOND: DemoRow[] = [
  { asset_id: 'E-9', file: 'cat.jpg', merchant_id: ERASED, declared_category: 'Pets', title: 'Another plush cat' },
  { asset_id: 'K-9', file: 'sheep.jpg', merchant_id: KEPT, declared_category: 'livestock', title: 'Sheep' },
];

let local: LocalSession;
let stores: PurgeStores;
let runs: RunOutcome[];
let dryRun: PurgeResult;
let purged: PurgeResult;
let again: PurgeResult;
let keptRowsBefore: Array<Record<string, string>>;

async function allItems(): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(new ScanCommand({ TableName: stores.tableName, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

async function allObjects(bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3Client().send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

/** Text objects (CSV, JSON, JSON lines) of both buckets with their contents. */
async function textObjects(): Promise<Array<{ key: string; text: string }>> {
  const found: Array<{ key: string; text: string }> = [];
  for (const bucket of [stores.dataBucket, stores.reportsBucket]) {
    for (const key of await allObjects(bucket)) {
      if (/\.(csv|json|jsonl)$/.test(key)) found.push({ key: `${bucket}/${key}`, text: (await getObjectBytes(bucket, key)).toString('utf8') });
    }
  }
  return found;
}

function queueBodies(): string[] {
  return local.stack.queues.flatMap((queue) => {
    const inspected = local.standIns.fauxqs.inspectQueue(queue.name);
    if (inspected === undefined) return [];
    return [...inspected.messages.ready, ...inspected.messages.delayed, ...inspected.messages.inflight.map((m) => m.message)].map((m) => m.body);
  });
}

async function assetRows(): Promise<Array<Record<string, string>>> {
  const rows: Array<Record<string, string>> = [];
  for (const key of (await allObjects(stores.reportsBucket)).filter((k) => k.startsWith('reports/assets/'))) {
    rows.push(...(parse((await getObjectBytes(stores.reportsBucket, key)).toString('utf8'), { columns: true }) as Array<Record<string, string>>));
  }
  return rows;
}

beforeAll(async () => {
  local = await session({ intercept: answerBoat });
  runs = [await runIn(local, batch(FIRST), 'mixed.zip'), await runIn(local, batch(SECOND), 'second.zip')];
  stores = {
    tableName: local.stack.tables[0]!.name,
    dataBucket: local.dataBucket,
    reportsBucket: local.reportsBucket,
    reviewQueueUrl: local.stack.queues.find((q) => q.deadLetterTargetArn !== undefined)!.url,
  };
  // A reviewer decides one of the erased merchant's assets (decision, audit entries, a final review) and the dataset
  // export picks it up; another reviewer holds a claim (its message in flight); the other messages stay queued.
  const work = new ReviewWork({ ...stores, imageLocation: async (bucket, key) => `s3://${bucket}/${key}` }, loadTaxonomy(), {
    ...loadReviewPolicy(),
    gold: { rate: 0 },
  });
  let decided = false;
  for (;;) {
    // rev-1 decides the first of the erased merchant's assets; rev-2 then holds a claim on the next one.
    const reviewer = decided ? 'rev-2' : 'rev-1';
    const claimed = await work.next(reviewer);
    if (claimed === undefined) throw new Error('not enough review messages of the erased merchant');
    if (claimed.view.merchantId !== ERASED) {
      await work.release(reviewer, claimed.claim.assetKey, claimed.claim.batchId, { hideForSeconds: 1 });
      continue;
    }
    if (decided) break;
    await work.decide(reviewer, claimed.claim.assetKey, 'reject', { batchId: claimed.claim.batchId, note: `about ${ERASED_TITLE}` });
    decided = true;
  }
  await exportDataset(stores, { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) });
  keptRowsBefore = (await assetRows()).filter((row) => row.merchant_id === KEPT);
  // The skipped messages are back in the queue (a purge cannot reach a message someone holds).
  await new Promise((resolve) => setTimeout(resolve, 1_500));

  dryRun = await purgeMerchant(stores, ERASED, { apply: false, actor: 'test-operator' });
  purged = await purgeMerchant(stores, ERASED, { apply: true, actor: 'test-operator' });
  again = await purgeMerchant(stores, ERASED, { apply: true, actor: 'test-operator' });
}, 300_000);

afterAll(async () => {
  await local?.close();
});

describe('media-triage purge --merchant', () => {
  it('ran on two completed batches that hold both merchants', () => {
    for (const run of runs) expect(run.summary?.batchId).toBeDefined();
    expect(runs.flatMap((run) => run.records).filter((record) => record.merchantId === ERASED)).toHaveLength(4);
  });

  it('counts in a dry run exactly what the purge then removes, and every kind the data holds', () => {
    expect(dryRun.dryRun).toBe(true);
    expect(dryRun.auditEntry).toBeUndefined();
    // A FIFO queue shows a message group's next message only once the one before it is gone, so a dry run (which
    // deletes nothing) may see fewer queued messages than the purge removes; everything else it counts exactly.
    const { reviewMessages, references, ...exact } = purged.removed;
    expect(Object.fromEntries(Object.keys(exact).map((kind) => [kind, dryRun.removed[kind as keyof typeof exact]]))).toEqual(exact);
    expect(dryRun.removed.reviewMessages).toBeLessThanOrEqual(reviewMessages);
    expect(dryRun.removed.references).toBeLessThanOrEqual(references);
    expect(purged.removed).toMatchObject({ records: 4, identities: 4, merchantProfiles: 2 });
    for (const kind of [
      'stagedObjects',
      'modelInputs',
      'reviewMessages',
      'decisions',
      'claims',
      'auditEntries',
      'reportRows',
      'datasetLines',
      'references',
    ] as const) {
      expect(purged.removed[kind], kind).toBeGreaterThan(0);
    }
  });

  it('leaves no item, object, report row or queued message that mentions the merchant or its listing text', async () => {
    const items = (await allItems()).filter((item) => item['action'] !== 'PURGED');
    expect(items.filter((item) => JSON.stringify(item).includes(ERASED) || JSON.stringify(item).includes(ERASED_TITLE))).toEqual([]);
    const objects = await textObjects();
    expect(objects.length).toBeGreaterThan(5);
    expect(objects.filter((object) => object.text.includes(ERASED) || object.text.includes(ERASED_TITLE)).map((object) => object.key)).toEqual([]);
    expect(queueBodies().filter((body) => body.includes(ERASED))).toEqual([]);
  });

  it("removes the merchant's own staged files and model inputs, but keeps what the other merchant shares", async () => {
    const data = await allObjects(stores.dataBucket);
    const records = runs.flatMap((run) => run.records);
    const keptInputs = new Set(records.filter((r) => r.merchantId === KEPT).map((r) => r.image?.modelInputKey));
    for (const record of records.filter((r) => r.merchantId === ERASED && r.image !== undefined)) {
      expect(data.includes(record.image!.modelInputKey), record.image!.modelInputKey).toBe(keptInputs.has(record.image!.modelInputKey));
    }
    const firstBatch = runs[0]!.summary!.batchId;
    expect(data).toContain(`staging/${firstBatch}/files/boats.jpg`);
    expect(data).not.toContain(`staging/${firstBatch}/files/cat.jpg`);
  });

  it("leaves the other merchant's report rows as they were, but for the mention of the erased merchant", async () => {
    expect(keptRowsBefore.length).toBe(3);
    // K-1 shares E-2's image: its duplicate explanation named the erased merchant.
    expect(keptRowsBefore.some((row) => row.explanation!.includes(ERASED))).toBe(true);
    const expected = keptRowsBefore.map((row) =>
      Object.fromEntries(Object.entries(row).map(([column, cell]) => [column, cell.replaceAll(ERASED, ERASED_MERCHANT)])),
    );
    expect((await assetRows()).filter((row) => row.merchant_id === KEPT)).toEqual(expected);
  });

  it('writes one PURGED audit entry with who, when and the counts, never the merchant id', async () => {
    const entries = (await allItems()).filter((item) => item['action'] === 'PURGED');
    expect(entries).toHaveLength(2);
    const first = entries.find((entry) => entry['sk'] === purged.auditEntry!.sk)!;
    expect(first).toMatchObject({ actor: 'test-operator', details: { merchantSha256: merchantDigest(ERASED), removed: purged.removed } });
    expect(JSON.stringify(entries)).not.toContain(ERASED);
  });

  it('a second purge removes nothing', () => {
    expect(again.removed).toEqual(Object.fromEntries(PURGE_KINDS.map((kind) => [kind, 0])));
  });
});
