/**
 * Calibration: fit the gated model's category thresholds and the policy review floors on a CALIBRATION set only,
 * and describe the trade-off (the frontier) when no point meets every floor. The floors are then checked on
 * held-out sets made with other seeds (eval/splits.ts); nothing here ever looks at a held-out set.
 *
 * Exactness: triage's outcome for an asset reaches a person when its category/text signals do OR its policy signal
 * does (policy reasons depend on the policy scores alone, the category and text reasons never on them; the set has
 * no merchant profiles). So the category part is run through the real `triage()` once per category point with the
 * policy switched off, the policy part is `taxonomy.policyScores` against each floor, and every (category, policy)
 * combination is combined exactly by OR. The chosen point is then re-checked with the real triage end to end.
 */
import type { Taxonomy } from '../lambdas/core/taxonomy';
import type { CategoryThresholds, TriagePolicy } from '../lambdas/core/triage-policy';
import { MODEL_FAMILIES, type LabelledAsset } from './labelled-set';
import {
  FLOORS,
  FLOOR_NAMES,
  checkFloors,
  evaluate,
  isFine,
  isMismatchReason,
  metricsFromCounts,
  pointMetrics,
  reachesHuman,
  withCategoryThresholds,
  withPolicyFloors,
  type FloorName,
  type MetricCounts,
  type Metrics,
  type PointMetrics,
} from './metrics';

/**
 * What calibration aims for on the calibration set: the floors, tightened on the safety side so that a point chosen
 * here still meets the floors on a fresh held-out set of ~10,000 assets for most seeds (at ~300 policy-sensitive
 * held-out assets, 99.8% on calibration leaves room for about one more miss than expected).
 */
export const CALIBRATION_TARGETS: Record<FloorName, number> = {
  policyRecall: 0.998,
  autoPassPrecision: 0.992,
  mismatchRecall: 0.978,
  reviewRate: 0.145,
  autoPassRate: 0.61,
};

const SAFETY: FloorName[] = ['policyRecall', 'autoPassPrecision', 'mismatchRecall'];

export interface CalibrationGrid {
  lowConfidence: number[];
  mismatch: number[];
  pass: number[];
  policy: number[];
}

const steps = (from: number, to: number, step: number): number[] => {
  const values: number[] = [];
  for (let v = from; v <= to + 1e-9; v += step) values.push(Math.round(v * 1000) / 1000);
  return values;
};

export const CALIBRATION_GRID: CalibrationGrid = {
  lowConfidence: [0.05, 0.1, 0.15, 0.2, 0.3],
  mismatch: [0.4, 0.5, 0.6, 0.7, 0.8],
  pass: [0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3],
  policy: steps(0.02, 0.6, 0.02),
};

export interface CalibrationPoint {
  thresholds: CategoryThresholds;
  /** Review floor (borderline threshold) per policy class. */
  policyFloors: Record<string, number>;
  metrics: PointMetrics;
  /** Every calibration target met. */
  meetsTargets: boolean;
  /** The safety targets (policy recall, auto-pass precision, mismatch recall) met. */
  meetsSafety: boolean;
  /** How far the workload floors are missed (review-rate excess + auto-pass-rate deficit), 0 when met. */
  workloadShortfall: number;
}

export interface CalibrationResult {
  assets: number;
  evaluatedPoints: number;
  /** A point meeting every calibration target (largest smallest margin), or null. */
  recommended: CalibrationPoint | null;
  /**
   * When nothing meets every target: the best honest point = every safety target met, the smallest workload
   * shortfall; failing that, the point with the most safety targets met. Null only for an empty set.
   */
  bestHonest: CalibrationPoint | null;
  /** The trade-off: for each policy recall reached, the lowest review rate with the other safety targets met. */
  frontier: CalibrationPoint[];
}

function emptyCounts(): MetricCounts {
  return {
    fine: 0,
    misrepresented: 0,
    policySensitive: 0,
    autoPass: 0,
    autoPassFine: 0,
    reachHuman: 0,
    misrepresentedReached: 0,
    policyReached: 0,
    policyReasoned: 0,
    mismatchReasoned: 0,
    mismatchReasonedMisrepresented: 0,
    auditSampled: 0,
  };
}

function margin(name: FloorName, value: number | null): number {
  if (value === null) return 1;
  const target = CALIBRATION_TARGETS[name];
  return FLOORS[name].op === '>=' ? (value - target) / Math.max(1e-9, 1 - target) : (target - value) / target;
}

/** Fits the gated family's thresholds and the policy floors on a calibration set (the gated family's assets). */
export function calibrate(
  assets: readonly LabelledAsset[],
  taxonomy: Taxonomy,
  policy: TriagePolicy,
  grid: CalibrationGrid = CALIBRATION_GRID,
): CalibrationResult {
  const gated = assets.filter((asset) => asset.family === 'clip');
  const noPolicy = withPolicyFloors(taxonomy, Object.fromEntries(taxonomy.policyClasses.map((policyClass) => [policyClass.id, 1])));
  // Policy scores per asset and class (the same function triage uses).
  const policyScores = gated.map((asset) => new Map(taxonomy.policyScores(asset.model.policyLabels).map(({ policyClass, score }) => [policyClass.id, score])));
  // Only classes the gated model can score matter for it (a binary normal/nsfw model never scores "suggestive").
  const classes = taxonomy.policyClasses.map((c) => c.id).filter((id) => policyScores.some((scores) => (scores.get(id) ?? 0) > 0));
  const policyCombos = classes.reduce<Array<Record<string, number>>>(
    (partials, id) => partials.flatMap((partial) => grid.policy.map((value) => ({ ...partial, [id]: value }))),
    [{}],
  );
  const policyReached = policyCombos.map((floors) => policyScores.map((scores) => classes.some((id) => (scores.get(id) ?? 0) >= floors[id]!)));

  const points: CalibrationPoint[] = [];
  for (const lowConfidence of grid.lowConfidence) {
    for (const mismatch of grid.mismatch) {
      if (lowConfidence > mismatch) continue;
      for (const pass of grid.pass) {
        const thresholds = { lowConfidence, mismatch, pass };
        const categoryPart = evaluate(gated, noPolicy, withCategoryThresholds(policy, 'clip', thresholds), { auditSampling: false });
        for (const [comboIndex, floors] of policyCombos.entries()) {
          const reachedByPolicy = policyReached[comboIndex]!;
          const counts = emptyCounts();
          for (const [index, entry] of categoryPart.entries()) {
            const { truth } = entry.asset;
            const byPolicy = reachedByPolicy[index]!;
            const reached = reachesHuman(entry.outcome) || byPolicy;
            const sensitive = truth.policyClass !== null;
            if (isFine(truth)) counts.fine += 1;
            if (truth.misrepresented) counts.misrepresented += 1;
            if (sensitive) counts.policySensitive += 1;
            if (!reached) {
              counts.autoPass += 1;
              if (isFine(truth)) counts.autoPassFine += 1;
              continue;
            }
            counts.reachHuman += 1;
            if (truth.misrepresented) counts.misrepresentedReached += 1;
            if (sensitive) counts.policyReached += 1;
            if (sensitive && byPolicy) counts.policyReasoned += 1;
            if (entry.reasons.some(isMismatchReason)) {
              counts.mismatchReasoned += 1;
              if (truth.misrepresented) counts.mismatchReasonedMisrepresented += 1;
            }
          }
          points.push(toPoint(thresholds, floors, metricsFromCounts(gated.length, counts)));
        }
      }
    }
  }
  const byMargin = (a: CalibrationPoint, b: CalibrationPoint): number => smallestMargin(b) - smallestMargin(a);
  const feasible = points.filter((point) => point.meetsTargets).sort(byMargin);
  const safe = points.filter((point) => point.meetsSafety).sort((a, b) => a.workloadShortfall - b.workloadShortfall || byMargin(a, b));
  const safetyCount = (point: CalibrationPoint): number => SAFETY.filter((name) => margin(name, point.metrics[name]) >= 0).length;
  const fallback = [...points].sort((a, b) => safetyCount(b) - safetyCount(a) || a.workloadShortfall - b.workloadShortfall);
  return {
    assets: gated.length,
    evaluatedPoints: points.length,
    recommended: feasible[0] ?? null,
    bestHonest: feasible[0] ?? safe[0] ?? fallback[0] ?? null,
    frontier: frontierOf(points),
  };
}

function smallestMargin(point: CalibrationPoint): number {
  return Math.min(...FLOOR_NAMES.map((name) => margin(name, point.metrics[name])));
}

function toPoint(thresholds: CategoryThresholds, policyFloors: Record<string, number>, metrics: Metrics): CalibrationPoint {
  const meets = (name: FloorName): boolean => margin(name, metrics[name]) >= -1e-9;
  const review = metrics.reviewRate ?? 1;
  const autoPass = metrics.autoPassRate ?? 0;
  return {
    thresholds,
    policyFloors,
    metrics: pointMetrics(metrics),
    meetsTargets: FLOOR_NAMES.every(meets),
    meetsSafety: SAFETY.every(meets),
    workloadShortfall: Math.max(0, review - CALIBRATION_TARGETS.reviewRate) + Math.max(0, CALIBRATION_TARGETS.autoPassRate - autoPass),
  };
}

/** For each policy recall reached (to 0.1%), the lowest review rate among points meeting the other safety targets. */
function frontierOf(points: readonly CalibrationPoint[]): CalibrationPoint[] {
  const best = new Map<number, CalibrationPoint>();
  for (const point of points) {
    if (margin('autoPassPrecision', point.metrics.autoPassPrecision) < 0 || margin('mismatchRecall', point.metrics.mismatchRecall) < 0) continue;
    const recall = Math.floor((point.metrics.policyRecall ?? 0) * 1000) / 1000;
    const current = best.get(recall);
    if (current === undefined || (point.metrics.reviewRate ?? 1) < (current.metrics.reviewRate ?? 1)) best.set(recall, point);
  }
  // Keep only points no other point beats on both axes (higher recall AND lower review rate).
  const sorted = [...best.entries()].sort((a, b) => b[0] - a[0]).map(([, point]) => point);
  const frontier: CalibrationPoint[] = [];
  let lowestReview = Number.POSITIVE_INFINITY;
  for (const point of sorted) {
    const review = point.metrics.reviewRate ?? 1;
    if (review < lowestReview - 1e-12) {
      frontier.push(point);
      lowestReview = review;
    }
  }
  return frontier;
}

/** The thresholds the calibration proposes, written into copies of the policy and taxonomy (never the files). */
export function applyCalibration(point: CalibrationPoint, taxonomy: Taxonomy, policy: TriagePolicy): { taxonomy: Taxonomy; policy: TriagePolicy } {
  return { taxonomy: withPolicyFloors(taxonomy, point.policyFloors), policy: withCategoryThresholds(policy, 'clip', point.thresholds) };
}

/** Floors of `checkFloors`, re-exported for callers that only need the check. */
export { checkFloors };
export const GATED_MODEL_KEY = MODEL_FAMILIES.clip.modelKey;
