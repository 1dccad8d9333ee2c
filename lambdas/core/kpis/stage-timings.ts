/**
 * Per-asset stage timings: how long each map-child stage spent on one asset (ms), carried on the asset's work item
 * through the child and stored on its record by Persist (`stageMs`), so the report can give per-stage latency
 * percentiles from the records alone. A few bytes per asset; assets decided before the map (PrepareBatch) have none.
 */

export const TIMED_STAGES = ['Preprocess', 'Classify', 'Triage'] as const;
export type TimedStage = (typeof TIMED_STAGES)[number];
export type StageMs = Partial<Record<TimedStage, number>>;

/** The asset with `stage`'s time (since `startedAt`, from Date.now()) added to what earlier stages recorded. */
export function withStageMs<T extends { stageMs?: StageMs }>(asset: T, stage: TimedStage, startedAt: number, now = Date.now()): T {
  return { ...asset, stageMs: { ...asset.stageMs, [stage]: Math.max(0, now - startedAt) } };
}
