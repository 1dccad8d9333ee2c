/**
 * The KPIs of one batch, from its records (and, once people reviewed, its review decisions and gold items):
 * throughput, per-stage latency percentiles, class balance, reject and review rates, review turnaround, reviewer
 * agreement and gold accuracy. Review figures are null until reviews exist — shown as "no reviews yet", never 0.
 */
import { agreementSummary, type AgreementSummary, type RatedItem } from '../review/agreement';
import type { ReviewDecision } from '../review/decisions';
import { goldAccuracy, type GoldItem } from '../review/gold';
import { needsReview, type AssetRecord } from '../records';
import { latencySummary, type LatencySummary } from './percentiles';
import { TIMED_STAGES, type TimedStage } from './stage-timings';

/** The run the throughput is measured over: from PrepareBatch starting it to Report completing it. */
export interface RunWindow {
  startedAt: string;
  completedAt: string;
}

export interface BatchKpis {
  assets: number;
  /** Assets decided during the run window per minute of it (null when the run decided none, e.g. a rerun). */
  throughput: { assetsPerMinute: number | null; decidedInRun: number; minutes: number };
  /**
   * Per-asset milliseconds in each map stage (from the records' stageMs), and `decision`: from the run's start to
   * the asset's decision (queueing included), for the assets decided in the run.
   */
  latencyMs: Record<TimedStage | 'decision', LatencySummary | null>;
  classBalance: { declared: Record<string, number>; predicted: Record<string, number> };
  /** REJECTED_INPUT share of all assets (null for an empty batch). */
  rejectRate: number | null;
  /** Share of assets sent to a person (reviewable outcomes and audit samples). */
  reviewRate: number | null;
  review: ReviewKpis;
}

export interface ReviewKpis {
  /** Decisions on this batch's tasks (reviews, adjudications, gold answers). */
  decisions: number;
  /** Exceptions whose review is FINAL. */
  finalReviews: number;
  /** Exceptions still waiting for a final review. */
  openReviews: number;
  /** From the review message to the final review (ms), over the finally reviewed exceptions. */
  turnaroundMs: LatencySummary | null;
  /** Reviewer time to label (ms), over all decisions. */
  timeToLabelMs: LatencySummary | null;
  /** Among the blind reviews of this batch's tasks; null when no task has two. */
  agreement: AgreementSummary | null;
  /** On this batch's gold items; null when no gold item was answered. */
  goldAccuracy: { accuracy: number; items: number; correct: number } | null;
}

export interface KpiSource {
  records: readonly AssetRecord[];
  run: RunWindow;
  decisions?: readonly ReviewDecision[];
  gold?: ReadonlyMap<string, GoldItem>;
}

const ms = (iso: string): number => Date.parse(iso);

function tally(values: ReadonlyArray<string | undefined>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) if (value !== undefined && value !== '') counts[value] = (counts[value] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

export function batchKpis(source: KpiSource): BatchKpis {
  const { records, run } = source;
  const assets = records.length;
  const started = ms(run.startedAt);
  const decidedInRun = records.filter((record) => ms(record.decidedAt) >= started);
  const minutes = Math.max(0, ms(run.completedAt) - started) / 60_000;
  const latencyMs = Object.fromEntries([
    ...TIMED_STAGES.map((stage) => [
      stage,
      latencySummary(records.flatMap((record) => (record.stageMs?.[stage] === undefined ? [] : [record.stageMs[stage]]))),
    ]),
    ['decision', latencySummary(decidedInRun.map((record) => ms(record.decidedAt) - started))],
  ]) as BatchKpis['latencyMs'];
  return {
    assets,
    throughput: {
      assetsPerMinute: decidedInRun.length === 0 || minutes === 0 ? null : decidedInRun.length / minutes,
      decidedInRun: decidedInRun.length,
      minutes,
    },
    latencyMs,
    classBalance: {
      declared: tally(records.map((record) => record.listing.declaredCategoryId)),
      predicted: tally(records.map((record) => record.evidence?.category.topCategoryId ?? undefined)),
    },
    rejectRate: assets === 0 ? null : records.filter((record) => record.outcome === 'REJECTED_INPUT').length / assets,
    reviewRate: assets === 0 ? null : records.filter((record) => needsReview(record)).length / assets,
    review: reviewKpis(records, source.decisions ?? [], source.gold ?? new Map()),
  };
}

function reviewKpis(records: readonly AssetRecord[], decisions: readonly ReviewDecision[], gold: ReadonlyMap<string, GoldItem>): ReviewKpis {
  const reviewable = records.filter((record) => needsReview(record) || record.reviewStatus !== undefined);
  const final = reviewable.filter((record) => record.reviewStatus === 'FINAL' && record.reviewedAt !== undefined);
  const turnaround = final.flatMap((record) => (record.reviewEnqueuedAt === undefined ? [] : [ms(record.reviewedAt!) - ms(record.reviewEnqueuedAt)]));
  // Agreement among the independent (blind) reviews of each task, as review stats computes it.
  const tasks = new Map<string, RatedItem & { labels: Map<string, string> }>();
  for (const decision of decisions.filter((d) => d.role === 'review')) {
    const item = tasks.get(decision.reviewTaskId) ?? { itemId: decision.reviewTaskId, labels: new Map<string, string>(), at: decision.decidedAt };
    if (!item.labels.has(decision.reviewerId)) item.labels.set(decision.reviewerId, decision.label);
    tasks.set(decision.reviewTaskId, item);
  }
  const agreement = agreementSummary([...tasks.values()]);
  const perReviewer = goldAccuracy(decisions, gold);
  const goldItems = perReviewer.reduce((sum, reviewer) => sum + reviewer.items, 0);
  const goldCorrect = perReviewer.reduce((sum, reviewer) => sum + reviewer.correct, 0);
  return {
    decisions: decisions.length,
    finalReviews: final.length,
    openReviews: reviewable.length - final.length,
    turnaroundMs: latencySummary(turnaround),
    timeToLabelMs: latencySummary(decisions.map((decision) => decision.timeToLabelMs)),
    agreement: agreement.items === 0 ? null : agreement,
    goldAccuracy: goldItems === 0 ? null : { accuracy: goldCorrect / goldItems, items: goldItems, correct: goldCorrect },
  };
}
