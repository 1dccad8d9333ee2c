/**
 * The local mode fails where AWS would: each limit the runner enforces bites through the real local session (the
 * synthesized template, the real handlers in their sandboxes, the stand-ins), with the error names AWS uses.
 * Template copies are altered where a limit needs a smaller setting to be reached quickly; model answers come from
 * the SageMaker stand-in's intercept hook (no model runs), delayed where a test needs slow work.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { stagingPrefix } from '../../lambdas/core/work-items';
import { STATE_PAYLOAD_LIMIT_BYTES } from '../../local/aws-limits';
import { buildZip, manifestCsv, stdlibPhoto, type DemoRow } from '../../local/demo-batch';
import type { ExecutionEvent } from '../../local/state-machine-runner';
import { TemplateResolver, type CfnTemplate } from '../../local/template';
import { runIn, runOnce, session, template, type RunOutcome } from '../support/local-pipeline';
import { mulberry32 } from '../support/random';

type State = Record<string, unknown>;
type Definition = { StartAt: string; States: Record<string, State> };

/** Answers every model call as a confident boat with clean policy scores, without running a model. */
function boatAnswer(request: { endpointName: string }): { labels: Array<{ label: string; score: number }> } {
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: label === 'a photo of a boat' ? 0.9 : 0.1 / (candidates.length - 1) })) };
}

/** A model answer that never comes (the request hangs until the session closes): slow work without timing. */
const never = () => new Promise<never>(() => undefined);

function boats(count: number, overrides: Partial<DemoRow> = {}): Buffer {
  const rows = Array.from({ length: count }, (_, i) => ({
    asset_id: `B-${String(i).padStart(3, '0')}`,
    file: 'boats.jpg',
    merchant_id: 'm-harbour',
    declared_category: 'Boats',
    title: 'Fishing boat',
    ...overrides,
  }));
  return buildZip({ 'manifest.csv': manifestCsv(rows), 'boats.jpg': stdlibPhoto('boats') });
}

function stateMachine(t: CfnTemplate) {
  return Object.values(t.Resources).find((resource) => resource.Type === 'AWS::StepFunctions::StateMachine')!;
}

/** The template's definition as JSON (intrinsics resolved to the local names, as the session resolves them). */
function definitionOf(t: CfnTemplate): Definition {
  const resolver = new TemplateResolver(t, (name) => name);
  return JSON.parse(String(resolver.resolve(stateMachine(t).Properties!['DefinitionString']))) as Definition;
}

/** A template copy whose state machine definition is `change`d (written back as a plain string). */
function withDefinition(change: (definition: Definition) => void, base: CfnTemplate = template()): CfnTemplate {
  const definition = definitionOf(base);
  change(definition);
  stateMachine(base).Properties!['DefinitionString'] = JSON.stringify(definition);
  return base;
}

function distributedMap(definition: Definition): State & { ItemProcessor: Definition; ItemBatcher?: Record<string, unknown> } {
  return Object.values(definition.States).find((state) => state['Type'] === 'Map') as never;
}

/** The ItemBatcher as it was before MaxInputBytesPerBatch: items per batch only. */
function withoutByteCap(definition: Definition): void {
  delete distributedMap(definition).ItemBatcher?.['MaxInputBytesPerBatch'];
}

/** A template copy where one stage's function is `change`d (its Properties). */
function withFunction(stage: string, change: (properties: Record<string, unknown>) => void, base: CfnTemplate = template()): CfnTemplate {
  const fn = Object.values(base.Resources).find(
    (resource) =>
      resource.Type === 'AWS::Lambda::Function' &&
      (resource.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables?.['STAGE_NAME'] === stage,
  );
  if (fn === undefined) throw new Error(`no function for stage ${stage}`);
  change(fn.Properties!);
  return base;
}

/** The template's retries of a timed-out invocation (the retrier matching Sandbox.Timedout, States.TaskFailed or States.ALL; none: 0). */
function timeoutRetries(t: CfnTemplate, stateName: string): number {
  const state = distributedMap(definitionOf(t)).ItemProcessor.States[stateName]!;
  const retriers = (state['Retry'] as Array<{ ErrorEquals: string[]; MaxAttempts?: number }> | undefined) ?? [];
  const retrier = retriers.find((r) => r.ErrorEquals.some((name) => ['Sandbox.Timedout', 'States.TaskFailed', 'States.ALL'].includes(name)));
  return retrier === undefined ? 0 : (retrier.MaxAttempts ?? 3);
}

/** These tests open whole sessions (several sandboxes' cold starts): a generous cap for a loaded machine. */
const SESSION_TEST_MS = 240_000;

const failedIn = (events: ExecutionEvent[], state: string) => events.filter((e) => e.type === 'StateFailed' && e.state === state);

function expectEveryAssetUnprocessed(run: RunOutcome, assets: number): void {
  expect(run.execution.status).toBe('SUCCEEDED');
  expect(run.records).toHaveLength(assets);
  for (const record of run.records) {
    expect(record.outcome).toBe('FAILED');
    expect(record.reasons).toContain('NOT_PROCESSED');
  }
}

describe('the 256 KiB state payload limit', () => {
  it(
    'fails a child whose batch of listings passes 256 KiB (40 assets of long listings in one child), whatever its Retry, and Report reconciles it',
    async () => {
      // The manifest cuts each description to its 8 KiB limit (recorded truncation), so one item is ~9 KB: the old
      // batching — 10 items, no byte cap — stays under the limit now, and 40 items per child without the cap do not.
      // ~40 KB as given, 8 KiB after the manifest limit; seeded words, so the 1.6 MB manifest does not compress like
      // a zip bomb (the archive guard would refuse it).
      const random = mulberry32(7);
      const word = () => Array.from({ length: 3 + Math.floor(random() * 6) }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('');
      const description = Array.from({ length: 6_000 }, word).join(' ').slice(0, 40_000);
      const run = await runOnce(boats(40, { description }), {
        template: withDefinition((definition) => {
          withoutByteCap(definition);
          distributedMap(definition).ItemBatcher!['MaxItemsPerBatch'] = 40;
        }),
        intercept: boatAnswer,
      });

      const mapFailures = run.execution.events.filter((e) => e.type === 'MapIterationFailed');
      expect(mapFailures.map((e) => e.error)).toEqual(['States.DataLimitExceeded']);
      expect(mapFailures[0]!.cause).toContain(`${STATE_PAYLOAD_LIMIT_BYTES}-byte`);
      // Nothing in the child ran, retried or was caught.
      expect(run.execution.events.filter((e) => ['StateRetried', 'StateCaught'].includes(e.type) && e.error === 'States.DataLimitExceeded')).toEqual([]);
      expectEveryAssetUnprocessed(run, 40);
    },
    SESSION_TEST_MS,
  );

  it(
    'fails the child when a state grows past the limit mid-way, even with Catch on States.ALL and Retry on States.TaskFailed',
    async () => {
      // A policy model answering 2,000 classes (~80 KB per image) makes Classify's output about 400 KB for the five
      // assets of one child, while the batch itself is small.
      const manyLabels = Array.from({ length: 2_000 }, (_, i) => ({ label: `imagenet-class-${String(i).padStart(4, '0')}`, score: 0.001 }));
      const caughtTo = 'CaughtLocally';
      const altered = withDefinition((definition) => {
        const child = distributedMap(definition).ItemProcessor;
        for (const state of Object.values(child.States)) {
          if (state['Type'] === 'Task') state['Catch'] = [{ ErrorEquals: ['States.ALL'], Next: caughtTo }];
        }
        child.States[caughtTo] = { Type: 'Succeed' };
      });
      const run = await runOnce(boats(5), {
        template: altered,
        intercept: (request) => (request.endpointName.startsWith('PolicyModel') ? { labels: manyLabels } : boatAnswer(request)),
      });

      const mapFailures = run.execution.events.filter((e) => e.type === 'MapIterationFailed');
      expect(mapFailures.map((e) => e.error)).toEqual(['States.DataLimitExceeded']);
      expect(mapFailures[0]!.cause).toContain('Classify');
      // The Catch on States.ALL did not route it, the Retry did not repeat it, and Triage/Persist never ran.
      expect(run.execution.events.filter((e) => e.type === 'StateCaught' || e.type === 'StateRetried')).toEqual([]);
      expect(run.execution.events.filter((e) => e.type === 'StateEntered' && (e.state === caughtTo || e.state === 'Persist'))).toEqual([]);
      expectEveryAssetUnprocessed(run, 5);
    },
    SESSION_TEST_MS,
  );
});

/**
 * A valid PNG of one colour that is cheap to make and to ship (≈75 KB for 25 MP) but takes the decoder seconds:
 * real slow work for a function timeout, no mock.
 */
function largeSolidPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const scanlines = Buffer.alloc(height * (1 + width * 3), 0x40); // filter byte 0x40 is invalid: fill, then fix
  for (let row = 0; row < height; row += 1) scanlines[row * (1 + width * 3)] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(scanlines)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('function timeouts', () => {
  it(
    'fails an invocation past its function’s Timeout with Sandbox.Timedout, retried as the template says',
    async () => {
      // Preprocess decodes three 35 MP images (about a second of jimp work each, measured here) under a 1-second
      // Timeout: Lambda would kill it.
      const altered = withFunction('Preprocess', (properties) => (properties['Timeout'] = 1));
      const attempts = 1 + timeoutRetries(altered, 'Preprocess');
      const big = largeSolidPng(5_900, 5_900);
      const names = ['big-1.png', 'big-2.png', 'big-3.png'];
      const archive = buildZip({
        'manifest.csv': manifestCsv(
          names.map((file, i) => ({ asset_id: `BIG-${i}`, file, merchant_id: 'm-big', declared_category: 'Boats', title: 'A very large image' })),
        ),
        ...Object.fromEntries(names.map((name) => [name, big])),
      });
      const run = await runOnce(archive, { template: altered, intercept: boatAnswer });

      const failures = failedIn(run.execution.events, 'Preprocess');
      expect(failures).toHaveLength(attempts);
      expect(new Set(failures.map((e) => e.error))).toEqual(new Set(['Sandbox.Timedout']));
      expect(run.execution.events.filter((e) => e.type === 'StateRetried' && e.state === 'Preprocess')).toHaveLength(attempts - 1);
      expect(run.execution.events.find((e) => e.type === 'MapIterationFailed')?.error).toBe('Sandbox.Timedout');
      expectEveryAssetUnprocessed(run, names.length);
      // With the template's own Timeout the same image is decoded: the limit, not the image, failed it.
      const normal = await runOnce(archive, { intercept: boatAnswer });
      expect(normal.records.map((record) => record.outcome)).not.toContain('FAILED');
    },
    SESSION_TEST_MS,
  );

  it(
    'fails a Task past its own TimeoutSeconds with States.Timeout, which Retry on States.TaskFailed does not match',
    async () => {
      const altered = withDefinition((definition) => {
        distributedMap(definition).ItemProcessor.States['Classify']!['TimeoutSeconds'] = 1;
      });
      const run = await runOnce(boats(1), { template: altered, intercept: never });
      expect(failedIn(run.execution.events, 'Classify').map((e) => e.error)).toEqual(['States.Timeout']);
      expect(run.execution.events.filter((e) => e.type === 'StateRetried')).toEqual([]);
      expectEveryAssetUnprocessed(run, 1);
    },
    SESSION_TEST_MS,
  );
});

describe('the Express child time limit', () => {
  it(
    'stops a child execution at the limit with States.Timeout; the map tolerates it as the template says',
    async () => {
      // The model never answers, and Classify's own timeout (the template's) is longer than the lowered limit: only
      // the child's time limit can end it.
      const expressTimeoutMs = 8_000;
      const classify = template();
      const classifyTimeout = Number(
        Object.values(classify.Resources).find(
          (r) => (r.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables?.['STAGE_NAME'] === 'Classify',
        )!.Properties!['Timeout'],
      );
      expect(classifyTimeout * 1000).toBeGreaterThan(expressTimeoutMs);
      const run = await runOnce(boats(2), { expressTimeoutMs, intercept: never });
      const mapFailures = run.execution.events.filter((e) => e.type === 'MapIterationFailed');
      expect(mapFailures.map((e) => e.error)).toEqual(['States.Timeout']);
      expect(failedIn(run.execution.events, 'Classify')).toEqual([]);
      // Nothing after the stopped state ran.
      expect(run.execution.events.filter((e) => e.type === 'StateEntered' && (e.state === 'Triage' || e.state === 'Persist'))).toEqual([]);
      expectEveryAssetUnprocessed(run, 2);
    },
    SESSION_TEST_MS,
  );
});

describe('each stage’s own environment', () => {
  it(
    'fails a stage whose function lacks a setting, although other functions have it',
    async () => {
      const altered = withFunction('Preprocess', (properties) => {
        delete (properties['Environment'] as { Variables: Record<string, unknown> }).Variables['DATA_BUCKET_NAME'];
      });
      const run = await runOnce(boats(1), { template: altered, intercept: boatAnswer });
      const failures = failedIn(run.execution.events, 'Preprocess');
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) expect(failure.cause).toContain('missing environment variable DATA_BUCKET_NAME');
      // The session's own process still has the variable (Classify and others set it): the handler did not see it.
      expect(process.env['DATA_BUCKET_NAME']).toBeTruthy();
      expectEveryAssetUnprocessed(run, 1);
    },
    SESSION_TEST_MS,
  );
});

describe('MaxInputBytesPerBatch', () => {
  it(
    'puts items in a batch while the batch’s JSON stays within the cap',
    async () => {
      const archive = boats(3);
      // The items PrepareBatch stages for this archive, to size the cap from (every run stages items of the same size).
      const local = await session({ intercept: boatAnswer });
      let items: unknown[];
      try {
        const first = await runIn(local, archive);
        const staged = await new S3Client({}).send(
          new GetObjectCommand({ Bucket: local.dataBucket, Key: `${stagingPrefix(first.summary!.batchId)}items.jsonl` }),
        );
        items = (await staged.Body!.transformToString()).split('\n').map((line) => JSON.parse(line) as unknown);
      } finally {
        await local.close();
      }
      expect(items).toHaveLength(3);
      const twoItems = Buffer.byteLength(JSON.stringify({ Items: items.slice(0, 2) }));
      const batchSizes = async (cap: number) => {
        const sizes: number[] = [];
        const altered = withDefinition((definition) => {
          distributedMap(definition).ItemBatcher!['MaxInputBytesPerBatch'] = cap;
        });
        const run = await runOnce(archive, { template: altered, intercept: boatAnswer, onMapBatch: (_done, _total, assets) => sizes.push(assets) });
        expect(run.records.every((record) => record.outcome === 'AUTO_PASS')).toBe(true);
        return sizes.sort();
      };
      expect(await batchSizes(twoItems)).toEqual([1, 2]);
      expect(await batchSizes(twoItems - 1)).toEqual([1, 1, 1]);
    },
    SESSION_TEST_MS,
  );
});

describe('the map’s ResultWriter', () => {
  it(
    'writes every child’s result to S3 in the service’s layout, so the map’s own result stays small',
    async () => {
      const local = await session({ intercept: boatAnswer });
      try {
        const run = await runIn(local, boats(7)); // 5 per child: two children
        expect(run.records).toHaveLength(7);
        const writer = distributedMap(definitionOf(template())).ResultWriter as unknown as { Parameters: { Prefix: string } };
        const s3 = new S3Client({});
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: local.dataBucket, Prefix: `${writer.Parameters.Prefix}/` }));
        const manifests = (listed.Contents ?? []).map((object) => object.Key!).filter((key) => key.endsWith('/manifest.json'));
        expect(manifests).toHaveLength(1);
        const manifest = JSON.parse(
          await (await s3.send(new GetObjectCommand({ Bucket: local.dataBucket, Key: manifests[0]! }))).Body!.transformToString(),
        ) as {
          DestinationBucket: string;
          ResultFiles: { SUCCEEDED: Array<{ Key: string }>; FAILED: unknown[] };
        };
        expect(manifest.DestinationBucket).toBe(local.dataBucket);
        expect(manifest.ResultFiles.FAILED).toEqual([]);
        const succeeded = JSON.parse(
          await (await s3.send(new GetObjectCommand({ Bucket: local.dataBucket, Key: manifest.ResultFiles.SUCCEEDED[0]!.Key }))).Body!.transformToString(),
        ) as Array<{
          Status: string;
          Input: string;
        }>;
        expect(succeeded.map((entry) => entry.Status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
        expect(succeeded.map((entry) => (JSON.parse(entry.Input) as { Items: unknown[] }).Items.length).sort()).toEqual([2, 5]);
      } finally {
        await local.close();
      }
    },
    SESSION_TEST_MS,
  );
});
