/**
 * Outside faults, injected at the stages' real SDK clients (the one place a mock is allowed: the stand-ins cannot
 * throttle or fail on demand). The fault middleware sits between the SDK's deserializer and the HTTP handler and
 * answers with the service's own error response (S3 `SlowDown` / `InternalError` XML, DynamoDB
 * `ProvisionedThroughputExceededException` JSON, SageMaker `ThrottlingException`), so the SDK's real parsing and
 * retry strategy see exactly what AWS would send; every other call reaches the local stand-ins.
 *
 * Transient faults must be retried with backoff and leave no trace; a fault that outlasts the retries must fail only
 * its asset — recorded FAILED with the error's code — while the other assets of the same child finish; and Report's
 * batch record must count the failures per code.
 */
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, s3Client, sageMakerClient } from '../../lambdas/adapters/aws-clients';
import { ModelCallGaveUpError, withModelRetries } from '../../lambdas/adapters/model-retry';
import { putJson, putObject } from '../../lambdas/adapters/object-store';
import { getAssetRecord, getBatchRecord, listAssetRecords, upsertBatchRecord } from '../../lambdas/adapters/record-store';
import { SETTING_NAMES } from '../../lambdas/adapters/settings';
import { rowAssetKey } from '../../lambdas/core/batch-plan';
import { baseLineage } from '../../lambdas/core/lineage';
import { assetRecord, assetSk, batchPk, type BatchRecord } from '../../lambdas/core/records';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { itemsKey, stagingPrefix, type AssetBatch, type WorkItem } from '../../lambdas/core/work-items';
import { handler as classify } from '../../lambdas/functions/classify';
import { handler as persist, PersistIncompleteError } from '../../lambdas/functions/persist';
import { handler as preprocess } from '../../lambdas/functions/preprocess';
import { handler as report } from '../../lambdas/functions/report';
import { handler as triage } from '../../lambdas/functions/triage';
import { stdlibPhoto, type PhotoName } from '../../local/demo-batch';
import type { LocalSession } from '../../local/local-session';
import { session } from '../support/local-pipeline';

let local: LocalSession;

/** Both endpoints answer at once (the faults are the subject here, not the models). */
function instantAnswer(request: { endpointName: string }): { labels: Array<{ label: string; score: number }> } {
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: label === 'a photo of a boat' ? 0.9 : 0.1 / (candidates.length - 1) })) };
}

const savedEnv: Record<string, string | undefined> = {};
beforeAll(async () => {
  local = await session({ intercept: instantAnswer });
  // Short model-retry waits, so a throttled endpoint's five attempts take milliseconds, not seconds.
  for (const name of [SETTING_NAMES.modelRetryBaseDelayMs]) savedEnv[name] = process.env[name];
  process.env[SETTING_NAMES.modelRetryBaseDelayMs] = '5';
});
afterAll(async () => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await local?.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Fault injection

interface Fault {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const S3_SLOW_DOWN: Fault = {
  statusCode: 503,
  headers: { 'content-type': 'application/xml' },
  body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
};
const S3_INTERNAL_ERROR: Fault = {
  statusCode: 500,
  headers: { 'content-type': 'application/xml' },
  body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>',
};
const DYNAMODB_THROTTLED: Fault = {
  statusCode: 400,
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: JSON.stringify({
    __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded.',
  }),
};
const SAGEMAKER_THROTTLED: Fault = {
  statusCode: 429,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ThrottlingException' },
  body: JSON.stringify({ message: 'Rate exceeded' }),
};

interface Call {
  commandName: string;
  input: Record<string, unknown>;
}

interface Injection {
  /** Calls answered with the fault so far. */
  injected: number;
  /** Calls that matched (answered with the fault or let through). */
  matched: number;
}

const FAULT_MIDDLEWARE = 'injectedFault';
interface StackOwner {
  middlewareStack: { add: (middleware: never, options: Record<string, unknown>) => void; remove: (name: string) => boolean };
}
const clients = (): StackOwner[] => [s3Client(), documentClient(), sageMakerClient()] as unknown as StackOwner[];

/**
 * Answers the first `times` calls that match with the fault's HTTP response (Infinity: every one). Added at the
 * deserialize step, below the deserializer and inside the SDK's retry loop: each SDK attempt meets it.
 */
function inject(client: StackOwner, matches: (call: Call) => boolean, fault: Fault, times = Infinity): Injection {
  const injection: Injection = { injected: 0, matched: 0 };
  const middleware = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
    if (!matches({ commandName: context.commandName ?? '', input: args.input })) return next(args);
    injection.matched += 1;
    if (injection.injected >= times) return next(args);
    injection.injected += 1;
    return { response: { statusCode: fault.statusCode, headers: { ...fault.headers }, body: Readable.from([Buffer.from(fault.body)]) }, output: undefined };
  };
  client.middlewareStack.add(middleware as never, { step: 'deserialize', priority: 'low', name: FAULT_MIDDLEWARE });
  return injection;
}

afterEach(() => {
  for (const client of clients()) client.middlewareStack.remove(FAULT_MIDDLEWARE);
});

// ---------------------------------------------------------------------------------------------------------------
// A child batch of real images

const PHOTOS: PhotoName[] = ['boats', 'sheep', 'cat', 'allium'];

async function stagedChild(batchId: string): Promise<{ Items: WorkItem[] }> {
  const bucket = local.dataBucket;
  const items: WorkItem[] = [];
  for (const [index, photo] of PHOTOS.entries()) {
    const stagedKey = `${stagingPrefix(batchId)}files/${photo}.jpg`;
    await putObject(bucket, stagedKey, stdlibPhoto(photo), 'image/jpeg');
    items.push({
      batchId,
      assetKey: rowAssetKey(index + 1),
      rowNumber: index + 1,
      file: `${photo}.jpg`,
      stagedKey,
      receivedAt: '2026-12-01T10:00:00.000Z',
      listing: {
        assetId: `${photo}-1`,
        file: `${photo}.jpg`,
        merchantId: 'm-faults',
        declaredCategory: 'Boats',
        declaredCategoryId: 'vehicles.boats',
        title: 'Boat',
        attributes: {},
      },
    });
  }
  return { Items: items };
}

/** The child's four stages, in the order the state machine runs them. */
async function runChild(child: { Items: WorkItem[] }): Promise<AssetBatch> {
  const triaged = await triage(await classify(await preprocess(child)));
  await persist(triaged);
  return triaged;
}

const isGetOf = (key: string) => (call: Call) => call.commandName === 'GetObjectCommand' && call.input['Key'] === key;
const mentions = (text: string) => (call: Call) => JSON.stringify(call.input).includes(text);

describe('S3 faults', () => {
  it('retries SlowDown with backoff: the asset is processed as if nothing happened', async () => {
    const child = await stagedChild('b-s3-slowdown');
    const slow = inject(s3Client() as never, isGetOf(child.Items[1]!.stagedKey), S3_SLOW_DOWN, 2);
    const result = await runChild(child);
    expect(slow.injected).toBe(2);
    expect(slow.matched).toBe(3);
    expect(result.assets.map((asset) => asset.early?.outcome)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('a 5xx that outlasts the retries fails that asset only, recorded FAILED with the error code', async () => {
    const child = await stagedChild('b-s3-5xx');
    const poison = child.Items[2]!;
    const failing = inject(s3Client() as never, isGetOf(poison.stagedKey), S3_INTERNAL_ERROR);
    const result = await runChild(child);
    expect(failing.injected).toBeGreaterThanOrEqual(3);
    const records = await listAssetRecords('b-s3-5xx');
    expect(records).toHaveLength(4);
    const failed = records.find((record) => record.assetKey === poison.assetKey)!;
    expect(failed.outcome).toBe('FAILED');
    expect(failed.reasons).toEqual(['PROCESSING_ERROR']);
    expect(failed.failure).toMatchObject({ stage: 'Preprocess', code: 'InternalError' });
    expect(failed.explanation).toContain(poison.stagedKey);
    expect(records.filter((record) => record.assetKey !== poison.assetKey).every((record) => record.outcome !== 'FAILED')).toBe(true);
    expect(result.assets.filter((asset) => asset.decision !== undefined)).toHaveLength(3);
  });
});

describe('SageMaker faults', () => {
  it('retries throttling (the SDK’s adaptive retries, then Classify’s own) until the endpoint answers', async () => {
    const child = await stagedChild('b-sm-throttle');
    const throttled = inject(sageMakerClient() as never, (call) => call.commandName === 'InvokeEndpointCommand', SAGEMAKER_THROTTLED, 4);
    const result = await runChild(child);
    expect(throttled.injected).toBe(4);
    expect(result.assets.every((asset) => asset.decision !== undefined)).toBe(true);
  });

  it('throttling past every retry fails that asset only, as MODEL_ERROR with code ThrottlingException', async () => {
    const child = await stagedChild('b-sm-poison');
    const preprocessed = await preprocess(child);
    const poison = preprocessed.assets[0]!;
    // The policy endpoint gets the model input's raw bytes: recognise the poison asset's calls by them.
    const { getObjectBytes } = await import('../../lambdas/adapters/object-store');
    const poisonBytes = await getObjectBytes(local.dataBucket, poison.image!.modelInputKey);
    const isPoison = (call: Call) => call.commandName === 'InvokeEndpointCommand' && Buffer.from(call.input['Body'] as Uint8Array).equals(poisonBytes);
    inject(sageMakerClient() as never, isPoison, SAGEMAKER_THROTTLED);
    const triaged = await triage(await classify(preprocessed));
    await persist(triaged);
    const failed = (await getAssetRecord(batchPk('b-sm-poison'), assetSk(poison.item.assetKey)))!;
    expect(failed.outcome).toBe('FAILED');
    expect(failed.reasons).toEqual(['MODEL_ERROR']);
    expect(failed.failure).toMatchObject({ stage: 'Classify', code: 'ThrottlingException' });
    expect(failed.explanation).toMatch(/failed 5 attempts/);
    expect(triaged.assets.slice(1).every((asset) => asset.decision !== undefined)).toBe(true);
  });

  it('aborts an attempt that gets no answer and retries it; out of budget, the asset fails with ModelCallTimeout', async () => {
    let calls = 0;
    // Each of the first two attempts hangs until its own time limit; the third answers.
    const hangThenAnswer = (signal: AbortSignal): Promise<string> => {
      calls += 1;
      if (calls > 2) return Promise.resolve('labels');
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))));
    };
    await expect(withModelRetries('ep', { deadline: Date.now() + 10_000, baseDelayMs: 1, attemptTimeoutMs: 30 }, hangThenAnswer)).resolves.toBe('labels');
    expect(calls).toBe(3);
    const hangForever = (signal: AbortSignal): Promise<string> =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))));
    const error = await withModelRetries('ep', { deadline: Date.now() + 200, baseDelayMs: 1, attemptTimeoutMs: 60 }, hangForever).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelCallGaveUpError);
    expect((error as ModelCallGaveUpError).code).toBe('ModelCallTimeout');
  });
});

describe('DynamoDB faults', () => {
  it('retries throttling: every record stored once, nothing else changes', async () => {
    const child = await stagedChild('b-ddb-throttle');
    const throttled = inject(documentClient() as never, mentions('b-ddb-throttle'), DYNAMODB_THROTTLED, 2);
    await runChild(child);
    expect(throttled.injected).toBe(2);
    expect(await listAssetRecords('b-ddb-throttle')).toHaveLength(4);
  });

  it('throttling past the retries on one asset: the others are stored, then the task fails naming it', async () => {
    const child = await stagedChild('b-ddb-poison');
    const poisonKey = assetSk(child.Items[1]!.assetKey);
    const triaged = await triage(await classify(await preprocess(child)));
    inject(documentClient() as never, (call) => call.commandName === 'PutItemCommand' && mentions(poisonKey)(call), DYNAMODB_THROTTLED);
    const error = await persist(triaged).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PersistIncompleteError);
    expect((error as PersistIncompleteError).failed).toEqual([{ assetKey: child.Items[1]!.assetKey, code: 'ProvisionedThroughputExceededException' }]);
    const stored = (await listAssetRecords('b-ddb-poison')).map((record) => record.assetKey).sort();
    expect(stored).toEqual([child.Items[0]!, child.Items[2]!, child.Items[3]!].map((item) => item.assetKey).sort());
  });

  it('a conditional-check race lost to another writer keeps the winner’s record and sends one review message', async () => {
    const child = await stagedChild('b-ddb-race');
    const triaged = await triage(await classify(await preprocess(child)));
    const raced = triaged.assets[0]!;
    // The winner: the same asset recorded NEEDS_REVIEW by another writer just before this Persist's put.
    const winner = assetRecord(
      { batchId: 'b-ddb-race', receivedAt: raced.item.receivedAt, lineage: baseLineage('test'), now: new Date().toISOString() },
      {
        assetKey: raced.item.assetKey,
        listing: raced.item.listing,
        outcome: 'NEEDS_REVIEW',
        reasons: ['LOW_CONFIDENCE'],
        explanation: 'the other writer',
        decidedBy: 'Triage',
      },
    );
    let raceRun = false;
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    const racer = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
      // Persist's conditional put of that asset (the document client's PutCommand, marshalled or not by then).
      const isTheConditionalPut =
        /^Put(Item)?Command$/.test(context.commandName ?? '') &&
        args.input['ConditionExpression'] !== undefined &&
        JSON.stringify(args.input['Item']).includes(winner.sk);
      if (!raceRun && isTheConditionalPut) {
        raceRun = true;
        await documentClient().send(new PutCommand({ TableName: String(args.input['TableName']), Item: winner }));
      }
      return next(args);
    };
    (documentClient() as unknown as StackOwner).middlewareStack.add(racer as never, { step: 'initialize', name: FAULT_MIDDLEWARE });
    const output = await persist(triaged);
    expect(raceRun).toBe(true);
    expect(output).toMatchObject({ recorded: 3, alreadyRecorded: 1 });
    const stored = (await getAssetRecord(winner.pk, winner.sk))!;
    expect(stored.explanation).toBe('the other writer');
    const queue = local.stack.queues.find((q) => q.deadLetterTargetArn !== undefined)!;
    const inspected = local.standIns.fauxqs.inspectQueue(queue.name)!;
    const messages = [...inspected.messages.ready, ...inspected.messages.delayed, ...inspected.messages.inflight.map((m) => m.message)]
      .map((m) => JSON.parse(m.body) as { batchId: string; assetKey: string })
      .filter((message) => message.batchId === 'b-ddb-race');
    expect(messages.map((message) => message.assetKey)).toEqual([raced.item.assetKey]);
    expect(stored.reviewMessageId).toBeDefined();
  });
});

describe('the batch record counts failures per code', () => {
  it('Report: a poison asset, a failed child and the rest: how many failed and why', async () => {
    const batchId = 'b-report-failures';
    const child = await stagedChild(batchId);
    // Child 1 has a poison asset (S3 5xx on its staged image); child 2 (two more assets) never persisted anything.
    inject(s3Client() as never, isGetOf(child.Items[0]!.stagedKey), S3_INTERNAL_ERROR);
    await runChild(child);
    const lost: WorkItem[] = [5, 6].map((row) => ({ ...child.Items[1]!, assetKey: rowAssetKey(row), rowNumber: row }));
    const now = new Date().toISOString();
    const batch: BatchRecord = {
      pk: batchPk(batchId),
      sk: 'BATCH',
      recordType: 'BATCH',
      batchId,
      archiveBucket: local.dataBucket,
      archiveKey: `incoming/${batchId}.zip`,
      archiveSha256: '0'.repeat(64),
      receivedAt: now,
      dt: now.slice(0, 10),
      status: 'PREPARED',
      expectedAssets: 6,
      lastRunAt: now,
      pipelineVersion: 'test',
      taxonomyVersion: 'test',
      policyVersion: 'test',
    };
    await upsertBatchRecord(batch);
    const all = [...child.Items, ...lost];
    await putJson(local.dataBucket, `${stagingPrefix(batchId)}expected-assets.json`, { assetKeys: all.map((item) => item.assetKey) });
    await putObject(local.dataBucket, itemsKey(batchId), all.map((item) => JSON.stringify(item)).join('\n'), 'application/x-ndjson');
    await report({ batchId });
    const stored = (await getBatchRecord(batchId))!;
    expect(stored.status).toBe('COMPLETED');
    expect(stored.failures).toEqual({ InternalError: 1, NOT_PROCESSED: 2 });
    expect(stored.counts?.['FAILED']).toBe(3);
  });
});
