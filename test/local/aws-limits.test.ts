/**
 * The local mode fails where AWS would: each limit the runner enforces bites through the real local session (the
 * synthesized template, the real handlers in their sandboxes, the stand-ins), with the error names AWS uses.
 * Template copies are altered where a limit needs a smaller setting to be reached quickly; model answers come from
 * the SageMaker stand-in's intercept hook (no model runs), delayed where a test needs slow work.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { stagingPrefix } from '../../lambdas/core/work-items';
import { STATE_PAYLOAD_LIMIT_BYTES } from '../../lib/local/aws-limits';
import { buildZip, manifestCsv, stdlibPhoto, type DemoRow } from '../../lib/local/demo-batch';
import type { ExecutionEvent } from '../../lib/local/state-machine-runner';
import { TemplateResolver, type CfnTemplate } from '../../lib/local/template';
import { runIn, runOnce, session, template, type RunOutcome } from '../support/local-pipeline';

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

/** The template's retries for a task's own failures (the retrier that matches States.TaskFailed). */
function taskFailedAttempts(t: CfnTemplate, stateName: string): number {
  const state = distributedMap(definitionOf(t)).ItemProcessor.States[stateName]!;
  const retrier = (state['Retry'] as Array<{ ErrorEquals: string[]; MaxAttempts?: number }>).find((r) => r.ErrorEquals.includes('States.TaskFailed'))!;
  return retrier.MaxAttempts ?? 3;
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
  it('fails a child whose batch of listings passes 256 KiB (10 × 40 KB descriptions), whatever its Retry, and Report reconciles it', async () => {
    const description = 'Long listing text. '.repeat(2_100); // ~40 KB per asset, ~400 KB for a batch of ten
    const run = await runOnce(boats(10, { description }), { template: withDefinition(withoutByteCap), intercept: boatAnswer });

    const mapFailures = run.execution.events.filter((e) => e.type === 'MapIterationFailed');
    expect(mapFailures.map((e) => e.error)).toEqual(['States.DataLimitExceeded']);
    expect(mapFailures[0]!.cause).toContain(`${STATE_PAYLOAD_LIMIT_BYTES}-byte`);
    // Nothing in the child ran, retried or was caught.
    expect(run.execution.events.filter((e) => ['StateRetried', 'StateCaught'].includes(e.type) && e.error === 'States.DataLimitExceeded')).toEqual([]);
    expectEveryAssetUnprocessed(run, 10);
  }, SESSION_TEST_MS);

  it('fails the child when a state grows past the limit mid-way, even with Catch on States.ALL and Retry on States.TaskFailed', async () => {
    // A policy model answering every one of its 1,000 classes (~40 KB per image) makes Classify's output about
    // 400 KB for ten assets, while the batch itself is small.
    const manyLabels = Array.from({ length: 1_000 }, (_, i) => ({ label: `imagenet-class-${String(i).padStart(4, '0')}`, score: 0.001 }));
    const caughtTo = 'CaughtLocally';
    const altered = withDefinition((definition) => {
      const child = distributedMap(definition).ItemProcessor;
      for (const state of Object.values(child.States)) {
        if (state['Type'] === 'Task') state['Catch'] = [{ ErrorEquals: ['States.ALL'], Next: caughtTo }];
      }
      child.States[caughtTo] = { Type: 'Succeed' };
    });
    const run = await runOnce(boats(10), {
      template: altered,
      intercept: (request) => (request.endpointName.startsWith('PolicyModel') ? { labels: manyLabels } : boatAnswer(request)),
    });

    const mapFailures = run.execution.events.filter((e) => e.type === 'MapIterationFailed');
    expect(mapFailures.map((e) => e.error)).toEqual(['States.DataLimitExceeded']);
    expect(mapFailures[0]!.cause).toContain('Classify');
    // The Catch on States.ALL did not route it, the Retry did not repeat it, and Triage/Persist never ran.
    expect(run.execution.events.filter((e) => e.type === 'StateCaught' || e.type === 'StateRetried')).toEqual([]);
    expect(run.execution.events.filter((e) => e.type === 'StateEntered' && (e.state === caughtTo || e.state === 'Persist'))).toEqual([]);
    expectEveryAssetUnprocessed(run, 10);
  }, SESSION_TEST_MS);
});

describe('function timeouts', () => {
  it('fails an invocation past its function’s Timeout with Sandbox.Timedout, retried as the template says', async () => {
    const altered = withFunction('Classify', (properties) => (properties['Timeout'] = 5));
    const attempts = 1 + taskFailedAttempts(altered, 'Classify');
    let policyCalls = 0;
    const run = await runOnce(boats(1), {
      template: altered,
      intercept: async (request) => {
        if (!request.endpointName.startsWith('PolicyModel')) return boatAnswer(request);
        policyCalls += 1;
        return never();
      },
    });

    const classifyFailures = failedIn(run.execution.events, 'Classify');
    expect(classifyFailures).toHaveLength(attempts);
    expect(new Set(classifyFailures.map((e) => e.error))).toEqual(new Set(['Sandbox.Timedout']));
    expect(run.execution.events.filter((e) => e.type === 'StateRetried' && e.state === 'Classify')).toHaveLength(attempts - 1);
    expect(policyCalls).toBe(attempts);
    expect(run.execution.events.find((e) => e.type === 'MapIterationFailed')?.error).toBe('Sandbox.Timedout');
    expectEveryAssetUnprocessed(run, 1);
  }, SESSION_TEST_MS);

  it('lets a retry succeed after one timed-out attempt', async () => {
    // 5 s is far more than the stage needs when the model answers at once.
    const altered = withFunction('Classify', (properties) => (properties['Timeout'] = 5));
    let policyCalls = 0;
    const run = await runOnce(boats(1), {
      template: altered,
      intercept: async (request) => (request.endpointName.startsWith('PolicyModel') && ++policyCalls === 1 ? never() : boatAnswer(request)),
    });
    expect(failedIn(run.execution.events, 'Classify').map((e) => e.error)).toEqual(['Sandbox.Timedout']);
    expect(run.records.map((record) => record.outcome)).toEqual(['AUTO_PASS']);
  }, SESSION_TEST_MS);

  it('fails a Task past its own TimeoutSeconds with States.Timeout, which Retry on States.TaskFailed does not match', async () => {
    const altered = withDefinition((definition) => {
      distributedMap(definition).ItemProcessor.States['Classify']!['TimeoutSeconds'] = 1;
    });
    const run = await runOnce(boats(1), { template: altered, intercept: never });
    expect(failedIn(run.execution.events, 'Classify').map((e) => e.error)).toEqual(['States.Timeout']);
    expect(run.execution.events.filter((e) => e.type === 'StateRetried')).toEqual([]);
    expectEveryAssetUnprocessed(run, 1);
  }, SESSION_TEST_MS);
});

describe('the Express child time limit', () => {
  it('stops a child execution at the limit with States.Timeout; the map tolerates it as the template says', async () => {
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
  }, SESSION_TEST_MS);
});

describe('each stage’s own environment', () => {
  it('fails a stage whose function lacks a setting, although other functions have it', async () => {
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
  }, SESSION_TEST_MS);
});

describe('MaxInputBytesPerBatch', () => {
  it('puts items in a batch while the batch’s JSON stays within the cap', async () => {
    const archive = boats(3);
    // The items PrepareBatch stages for this archive, to size the cap from (every run stages items of the same size).
    const local = await session({ intercept: boatAnswer });
    let items: unknown[];
    try {
      const first = await runIn(local, archive);
      const staged = await new S3Client({}).send(new GetObjectCommand({ Bucket: local.dataBucket, Key: `${stagingPrefix(first.summary!.batchId)}items.jsonl` }));
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
  }, SESSION_TEST_MS);
});
