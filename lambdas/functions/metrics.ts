/**
 * The stages' CloudWatch metrics, written as embedded metric format (EMF) log lines by Powertools Metrics: Lambda's log
 * stream carries them to CloudWatch Logs, which turns each line into metric data points — no PutMetricData call, no
 * extra permission, nothing to wait for. Namespace and `service` come from the function's environment
 * (POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME, set by the stack: lib/constructs/stage-function.ts).
 *
 * Dimensions stay low-cardinality: `outcome` (5 values), `reason` (the closed list of lambdas/core/outcomes.ts), `model`
 * (category, policy), `stage` (the registry's entries). Never a batch id, asset id or merchant id: CloudWatch bills and
 * stores every distinct dimension combination as its own metric, so an id per batch would mint thousands of metrics a
 * month that no dashboard or alarm can address. Ids belong in the logs (and the report tables), not in dimensions.
 *
 * A handler adds data points while it runs; `instrumented` publishes them once per invocation (one EMF line per
 * dimension combination) and counts a thrown error as a stage error.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as MetricUnitValue } from '@aws-lambda-powertools/metrics/types';
import type { Outcome } from '../core/outcomes';

/** Metric names, as the dashboard and the alarms (lib/constructs/monitoring.ts) address them. */
export const METRIC_NAMES = {
  /** Assets recorded, per `outcome`: counted once, when the asset's record is first written (reruns add nothing). */
  assets: 'Assets',
  /** Reason codes on newly recorded assets, per `reason`. */
  assetReasons: 'AssetReasons',
  /** Duration of one endpoint call attempt (ms), per `model`. */
  modelLatency: 'ModelLatency',
  /** Endpoint call attempts that failed (a retried one included), per `model`. */
  modelErrors: 'ModelErrors',
  /** Endpoint call attempts after the first (backoff retries), per `model`. */
  modelRetries: 'ModelRetries',
  /** Invocations that threw (the task fails and Step Functions retries or catches it), per `stage`. */
  stageErrors: 'StageErrors',
  /** Batches re-driven by the nightly sweep. */
  batchesRedriven: 'BatchesRedriven',
  /** Review messages the nightly sweep sent for records that had none. */
  reviewMessagesSwept: 'ReviewMessagesSwept',
  /** Errors the nightly jobs reported (a job or one of its items failed; the others went on). */
  nightlyJobErrors: 'NightlyJobErrors',
} as const;

export const METRIC_DIMENSIONS = { outcome: 'outcome', reason: 'reason', model: 'model', stage: 'stage' } as const;

export type ModelKind = 'category' | 'policy';

interface DataPoint {
  name: string;
  unit: MetricUnitValue;
  value: number;
}

/** Data points of the running invocation, grouped by their dimensions (one EMF document per group). */
const pending = new Map<string, { dimensions: Record<string, string>; points: DataPoint[] }>();
let emitter: Metrics | undefined;

function add(name: string, unit: MetricUnitValue, value: number, dimensions: Record<string, string> = {}): void {
  const key = JSON.stringify(Object.entries(dimensions).sort());
  const group = pending.get(key) ?? { dimensions, points: [] };
  group.points.push({ name, unit, value });
  pending.set(key, group);
}

/** Newly written records: one `Assets` count per outcome and one `AssetReasons` count per reason code. */
export function countRecordedAssets(records: ReadonlyArray<{ outcome: Outcome; reasons: readonly string[] }>): void {
  const outcomes = new Map<string, number>();
  const reasons = new Map<string, number>();
  for (const record of records) {
    outcomes.set(record.outcome, (outcomes.get(record.outcome) ?? 0) + 1);
    for (const reason of record.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  for (const [outcome, count] of outcomes) add(METRIC_NAMES.assets, MetricUnit.Count, count, { [METRIC_DIMENSIONS.outcome]: outcome });
  for (const [reason, count] of reasons) add(METRIC_NAMES.assetReasons, MetricUnit.Count, count, { [METRIC_DIMENSIONS.reason]: reason });
}

/** One endpoint call attempt as Classify's retry loop saw it (lambdas/adapters/model-retry.ts). */
export function recordModelAttempt(model: ModelKind, attempt: { attempt: number; durationMs: number; ok: boolean }): void {
  const dimensions = { [METRIC_DIMENSIONS.model]: model };
  add(METRIC_NAMES.modelLatency, MetricUnit.Milliseconds, attempt.durationMs, dimensions);
  if (!attempt.ok) add(METRIC_NAMES.modelErrors, MetricUnit.Count, 1, dimensions);
  if (attempt.attempt > 1) add(METRIC_NAMES.modelRetries, MetricUnit.Count, 1, dimensions);
}

/** A plain count without dimensions beyond `service` (the nightly sweep's figures). */
export function countEvent(name: (typeof METRIC_NAMES)['batchesRedriven' | 'reviewMessagesSwept' | 'nightlyJobErrors'], count: number): void {
  if (count > 0) add(name, MetricUnit.Count, count);
}

/** Writes the invocation's data points as EMF lines on stdout (the function's log stream) and forgets them. */
export function publishMetrics(): void {
  if (pending.size === 0) return;
  // Created on first use, not at import: the CDK app imports METRIC_NAMES from here and needs no Powertools instance.
  emitter ??= new Metrics();
  const groups = [...pending.values()];
  pending.clear();
  for (const group of groups) {
    for (const [name, value] of Object.entries(group.dimensions)) emitter.addDimension(name, value);
    for (const point of group.points) emitter.addMetric(point.name, point.unit, point.value);
    // Clears the dimensions and data points it published, so the next group starts from `service` alone.
    emitter.publishStoredMetrics();
  }
}

/**
 * Wraps a stage handler: a thrown error adds a `StageErrors` count for the stage (then propagates, so Step Functions
 * still retries or catches it), and every invocation publishes its metrics before it returns.
 */
export function instrumented<I, C, O>(stage: string, handler: (input: I, context?: C) => Promise<O>): (input: I, context?: C) => Promise<O> {
  return async (input: I, context?: C): Promise<O> => {
    try {
      return await handler(input, context);
    } catch (error) {
      add(METRIC_NAMES.stageErrors, MetricUnit.Count, 1, { [METRIC_DIMENSIONS.stage]: stage });
      throw error;
    } finally {
      publishMetrics();
    }
  };
}
