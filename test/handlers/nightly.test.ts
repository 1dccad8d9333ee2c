/**
 * The stages' EMF metrics and the Nightly stage's sweep, against the local stand-ins and through the Lambda sandboxes
 * (the handlers run as the deployed bundles run, Powertools Metrics included, unmocked):
 * - a batch run emits EMF documents whose `Assets` counts per outcome match the records, and Classify's model-call
 *   metrics; none of those lines reaches the process's stdout;
 * - the sweep finds an archive uploaded to incoming/ that never started and starts it (with the upload rule's input),
 *   sends the one message a record with a pending review revision owes, restarts a batch left unfinished without
 *   duplicating a record, and a second sweep does nothing.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getBatchRecord, listAssetRecords, putAssetRecord, upsertBatchRecord } from '../../lambdas/adapters/record-store';
import { INCOMING_PREFIX } from '../../lambdas/core/batch-start';
import { OUTCOMES } from '../../lambdas/core/outcomes';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import type { ReviewMessage } from '../../lambdas/adapters/review-queue';
import type { WorkItem } from '../../lambdas/core/work-items';
import { toRecord } from '../../lambdas/functions/persist';
import { METRIC_DIMENSIONS, METRIC_NAMES } from '../../lambdas/functions/metrics';
import { previousUtcDay, type NightlySummary } from '../../lambdas/functions/nightly';
import { rollupKey } from '../../lambdas/adapters/daily-rollup';
import { DEFAULT_METRICS_NAMESPACE } from '../../lib/constructs/monitoring';
import { STACK_NAME } from '../../lib/app';
import { buildZip, manifestCsv, stdlibPhoto } from '../../local/demo-batch';
import { setMetricsListener } from '../../local/lambda-sandboxes';
import { matchesPattern, objectCreatedEvent, transformInput } from '../../local/event-routing';
import type { LocalSession } from '../../local/local-session';
import { runIn, session } from '../support/local-pipeline';

/** Every model call answered at once (these tests are about metrics and the sweep, not the models). */
function answerBoat(request: { endpointName: string }): { labels: Array<{ label: string; score: number }> } {
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: label === 'a photo of a boat' ? 0.9 : 0.1 / (candidates.length - 1) })) };
}

function batchArchive(prefix: string, rows: number): Buffer {
  return buildZip({
    'manifest.csv': manifestCsv([
      ...Array.from({ length: rows }, (_, i) => ({
        asset_id: `${prefix}-${i}`,
        file: 'boats.jpg',
        merchant_id: 'm-1',
        declared_category: 'Boats',
        title: 'Fishing boat',
      })),
      // A row naming a missing file: REJECTED_INPUT / MISSING_FILE, recorded by PrepareBatch.
      { asset_id: `${prefix}-missing`, file: 'absent.jpg', merchant_id: 'm-1', declared_category: 'Boats', title: 'Boat' },
    ]),
    'boats.jpg': stdlibPhoto('boats'),
  });
}

interface EmfDocument {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [field: string]: unknown;
}

let local: LocalSession;
const documents: Array<{ stage: string; document: EmfDocument }> = [];

beforeAll(async () => {
  setMetricsListener((stage, document) => documents.push({ stage, document: document as EmfDocument }));
  local = await session({ intercept: answerBoat });
});
afterAll(async () => {
  setMetricsListener(undefined);
  await local?.close();
});

function reviewMessages(): ReviewMessage[] {
  const queue = local.stack.queues.find((q) => q.deadLetterTargetArn !== undefined)!;
  const inspected = local.standIns.fauxqs.inspectQueue(queue.name)!;
  return [...inspected.messages.ready, ...inspected.messages.delayed, ...inspected.messages.inflight.map((m) => m.message)].map(
    (m) => JSON.parse(m.body) as ReviewMessage,
  );
}

/** The sum of a metric's values over the captured documents that carry these dimension values. */
function metricTotal(name: string, dimensions: Record<string, string>, stage?: string): { sum: number; values: number } {
  let sum = 0;
  let values = 0;
  for (const { stage: from, document } of documents) {
    if (stage !== undefined && from !== stage) continue;
    const declared = document._aws.CloudWatchMetrics.some((set) => set.Metrics.some((metric) => metric.Name === name));
    if (!declared || !Object.entries(dimensions).every(([key, value]) => document[key] === value)) continue;
    const value = document[name];
    const list = Array.isArray(value) ? (value as number[]) : [value as number];
    sum += list.reduce((a, b) => a + b, 0);
    values += list.length;
  }
  return { sum, values };
}

/**
 * A sandbox's stdout reaches this process asynchronously, possibly after the invocation's answer: wait for the lines
 * an assertion needs (bounded), rather than assume they are there.
 */
const eventually = (assertion: () => void): Promise<void> => vi.waitFor(assertion, { timeout: 30_000, interval: 50 });

async function sweep(input: Record<string, unknown> = {}): Promise<NightlySummary> {
  return (await local.invokeStage('Nightly', { graceSeconds: 0, ...input })) as NightlySummary;
}

describe('EMF metrics of a batch run', () => {
  it('counts each recorded asset once per outcome and reason, times every model call, and keeps the lines off stdout', { timeout: 240_000 }, async () => {
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(String(chunk));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    const service = { service: STACK_NAME };
    let run;
    try {
      run = await runIn(local, batchArchive('m', 3), 'metrics.zip');
      const records = run.records;
      // Every recorded asset counted (the lines may still be on their way), and none of them on stdout meanwhile.
      await eventually(() => expect(metricTotal(METRIC_NAMES.assets, service).sum).toBe(records.length));
      await eventually(() => expect(metricTotal(METRIC_NAMES.modelLatency, {}, 'Classify').values).toBe(6));
    } finally {
      process.stdout.write = write;
    }
    expect(run.execution.status).toBe('SUCCEEDED');
    expect(written.filter((line) => line.includes('"_aws"'))).toEqual([]);

    for (const { document } of documents) {
      expect(document._aws.CloudWatchMetrics[0]!.Namespace).toBe(DEFAULT_METRICS_NAMESPACE);
      expect(document['service']).toBe(STACK_NAME);
      // Never an id as a dimension.
      for (const set of document._aws.CloudWatchMetrics) for (const dimensions of set.Dimensions) expect(dimensions).not.toContain('batchId');
    }
    for (const outcome of OUTCOMES) {
      const recorded = run.records.filter((record) => record.outcome === outcome).length;
      expect(metricTotal(METRIC_NAMES.assets, { ...service, [METRIC_DIMENSIONS.outcome]: outcome }).sum, outcome).toBe(recorded);
    }
    expect(metricTotal(METRIC_NAMES.assetReasons, { ...service, [METRIC_DIMENSIONS.reason]: 'MISSING_FILE' }, 'PrepareBatch').sum).toBe(1);
    // One latency value per endpoint call: three classified assets, both models, no retries.
    for (const model of ['category', 'policy']) {
      const latency = metricTotal(METRIC_NAMES.modelLatency, { [METRIC_DIMENSIONS.model]: model }, 'Classify');
      expect(latency.values, model).toBe(3);
      expect(metricTotal(METRIC_NAMES.modelRetries, { [METRIC_DIMENSIONS.model]: model }).values).toBe(0);
    }
    expect(metricTotal(METRIC_NAMES.stageErrors, {}).values).toBe(0);

    // A rerun records nothing new, so it counts nothing (it runs no stage that counts, so there is nothing to wait for).
    const before = metricTotal(METRIC_NAMES.assets, service).sum;
    await runIn(local, batchArchive('m', 3), 'metrics.zip');
    expect(metricTotal(METRIC_NAMES.assets, service).sum).toBe(before);
  });
});

describe('the Nightly sweep', () => {
  it('starts an unstarted upload, sends an owed review message, restarts an unfinished batch, and then has nothing to do', { timeout: 240_000 }, async () => {
    // A finished batch, and then a reviewable record of it stored without its message (a sender that died).
    const done = await runIn(local, batchArchive('d', 2), 'done.zip');
    expect(done.summary?.batchId).toBeDefined();
    const batchId = done.summary!.batchId;
    const template = done.records.find((record) => record.outcome !== 'REJECTED_INPUT')!;
    const owed = toRecord(
      {
        item: {
          batchId,
          assetKey: 'row-owed',
          rowNumber: 99,
          file: 'boats.jpg',
          stagedKey: `staging/${batchId}/files/boats.jpg`,
          receivedAt: template.receivedAt,
          listing: template.listing as WorkItem['listing'],
        },
        decision: {
          outcome: 'NEEDS_REVIEW',
          reasons: ['LOW_CONFIDENCE'],
          explanation: 'left without a message',
          auditSampled: false,
          evidence: template.evidence!,
        },
      },
      '0.0.0',
      new Date().toISOString(),
    );
    expect(await putAssetRecord(owed)).toBe(true);
    const messagesBefore = reviewMessages().length;

    // An archive that lands in incoming/ without its event: no execution, no batch record.
    const s3 = new S3Client({});
    const leftKey = `${INCOMING_PREFIX}left-behind.zip`;
    await s3.send(new PutObjectCommand({ Bucket: local.dataBucket, Key: leftKey, Body: batchArchive('l', 2), ContentType: 'application/zip' }));

    const first = await sweep();
    expect(first.ok).toBe(true);
    expect(first.jobs['redriveBatches']!.counts).toMatchObject({ unstarted: 1, unfinished: 0, started: 1, completed: 2 });
    expect(first.jobs['reviewMessages']!.counts['messagesSent']).toBe(1);
    const owedMessages = reviewMessages().filter((message) => message.assetKey === 'row-owed');
    expect(owedMessages).toHaveLength(1);
    expect(reviewMessages()).toHaveLength(messagesBefore + 1);

    const executions = await local.runStartedExecutions();
    expect(executions).toHaveLength(1);
    const [execution] = executions;
    expect(execution!.result.status).toBe('SUCCEEDED');
    // The input the upload rule would have given, field for field (receivedAt: the upload's time, as the event's).
    const rule = local.stack.rules.find((candidate) => candidate.targetArn === local.stack.stateMachine.arn)!;
    const event = objectCreatedEvent(local.dataBucket, leftKey, 1);
    expect(matchesPattern(rule.eventPattern, event)).toBe(true);
    const ruleInput = transformInput(rule, event) as Record<string, unknown>;
    expect(Object.keys(execution!.input as object).sort()).toEqual(Object.keys(ruleInput).sort());
    expect(execution!.input).toMatchObject({ bucket: ruleInput['bucket'], key: ruleInput['key'] });
    const leftBatch = (execution!.result.output as { batchId: string; status: string }).batchId;
    expect((await getBatchRecord(leftBatch))?.status).toBe('COMPLETED');
    const leftRecords = await listAssetRecords(leftBatch);
    expect(leftRecords).toHaveLength(3);

    // A batch whose execution died after PrepareBatch: PREPARED, last run long ago.
    const stale = (await getBatchRecord(batchId))!;
    await upsertBatchRecord({ ...stale, status: 'PREPARED', lastRunAt: new Date(Date.now() - 13 * 3_600_000).toISOString() });
    const recordsBefore = (await listAssetRecords(batchId)).length;
    const second = await sweep();
    expect(second.jobs['redriveBatches']!.counts).toMatchObject({ unstarted: 0, unfinished: 1, started: 1 });
    expect(second.jobs['reviewMessages']!.counts['messagesSent']).toBe(0);
    const rerun = await local.runStartedExecutions();
    expect(rerun.map((run) => run.result.status)).toEqual(['SUCCEEDED']);
    expect((await getBatchRecord(batchId))?.status).toBe('COMPLETED');
    expect(await listAssetRecords(batchId)).toHaveLength(recordsBefore);

    // Nothing left: a third sweep starts nothing and sends nothing.
    const messagesNow = reviewMessages().length;
    const third = await sweep();
    expect(third.ok).toBe(true);
    expect(third.jobs['redriveBatches']!.counts).toMatchObject({ unstarted: 0, unfinished: 0, started: 0 });
    expect(third.jobs['reviewMessages']!.counts['messagesSent']).toBe(0);
    expect(await local.runStartedExecutions()).toEqual([]);
    expect(reviewMessages()).toHaveLength(messagesNow);
    await eventually(() => expect(metricTotal(METRIC_NAMES.batchesRedriven, {}, 'Nightly').sum).toBe(2));

    // The roll-up job: by default yesterday (UTC) — nothing ran then — and for the day these batches ran, all of them.
    expect(third.jobs['dailyRollup']!.errors).toEqual([]);
    expect(third.jobs['dailyRollup']!.counts['batches']).toBe(0);
    const day = done.summary!.dt;
    const rolled = await sweep({ jobs: ['dailyRollup'], rollupDate: day });
    expect(Object.keys(rolled.jobs)).toEqual(['dailyRollup']);
    // This file's earlier test reported a batch that day too; these two are among the day's batches, each refreshed.
    const reportedThatDay = new Set([batchId, leftBatch]);
    const counts = rolled.jobs['dailyRollup']!.counts;
    expect(counts['batches']).toBeGreaterThanOrEqual(reportedThatDay.size);
    expect(counts['refreshed']).toBe(counts['batches']);
    const page = await s3.send(new GetObjectCommand({ Bucket: local.reportsBucket, Key: rollupKey(day) }));
    const html = await page.Body!.transformToString();
    for (const id of reportedThatDay) expect(html).toContain(id);
  });

  it('rolls up the UTC day before the sweep runs', () => {
    expect(previousUtcDay(new Date('2026-12-02T03:00:00Z'))).toBe('2026-12-01');
    expect(previousUtcDay(new Date('2027-01-01T00:30:00Z'))).toBe('2026-12-31');
  });

  it('reports a failing job and still runs the others; an unknown job is a stage error', { timeout: 120_000 }, async () => {
    await expect(local.invokeStage('Nightly', { jobs: ['nope'] })).rejects.toThrow(/unknown job/);
    await eventually(() => expect(metricTotal(METRIC_NAMES.stageErrors, { [METRIC_DIMENSIONS.stage]: 'Nightly' }).sum).toBe(1));

    // A record owing a message while the review queue is gone (the last thing this file does), and an unstarted upload.
    const done = await runIn(local, batchArchive('f', 1), 'fault.zip');
    const batchId = done.summary!.batchId;
    const template = done.records.find((record) => record.outcome !== 'REJECTED_INPUT')!;
    await putAssetRecord(
      toRecord(
        {
          item: {
            batchId,
            assetKey: 'row-owed',
            rowNumber: 99,
            file: 'boats.jpg',
            stagedKey: `staging/${batchId}/files/boats.jpg`,
            receivedAt: template.receivedAt,
            listing: template.listing as WorkItem['listing'],
          },
          decision: {
            outcome: 'NEEDS_REVIEW',
            reasons: ['LOW_CONFIDENCE'],
            explanation: 'left without a message',
            auditSampled: false,
            evidence: template.evidence!,
          },
        },
        '0.0.0',
        new Date().toISOString(),
      ),
    );
    await new S3Client({}).send(
      new PutObjectCommand({ Bucket: local.dataBucket, Key: `${INCOMING_PREFIX}fault-left.zip`, Body: batchArchive('fl', 1), ContentType: 'application/zip' }),
    );
    const queue = local.stack.queues.find((q) => q.deadLetterTargetArn !== undefined)!;
    await new SQSClient({}).send(new DeleteQueueCommand({ QueueUrl: queue.url }));

    const errorsBefore = metricTotal(METRIC_NAMES.nightlyJobErrors, {}, 'Nightly').sum;
    const summary = await sweep();
    expect(summary.ok).toBe(false);
    expect(summary.jobs['reviewMessages']!.errors.join('\n')).toContain(batchId);
    expect(summary.jobs['redriveBatches']!.errors).toEqual([]);
    expect(summary.jobs['redriveBatches']!.counts['started']).toBe(1);
    await eventually(() => expect(metricTotal(METRIC_NAMES.nightlyJobErrors, {}, 'Nightly').sum).toBeGreaterThan(errorsBefore));
  });
});
