/**
 * Evaluation metrics over a labelled set: replay each asset's recorded model outputs through the real `triage()`
 * (lambdas/core/triage.ts) with a taxonomy and a triage policy, then count. Pure functions; nothing is written.
 *
 * Definitions (an asset "reaches a human" when its outcome is FLAGGED or NEEDS_REVIEW; it is "fine" when it is
 * neither misrepresented nor in a policy class):
 *
 * - autoPassPrecision = fine AUTO_PASS / AUTO_PASS                    (how trustworthy an automatic pass is)
 * - autoPassRate      = AUTO_PASS / assets
 * - mismatchRecall    = misrepresented reaching a human / misrepresented           (for ANY reason)
 * - mismatchPrecision = truly misrepresented / assets reaching a human with a mismatch-type reason
 *                       (CATEGORY_MISMATCH or any TEXT_* reason: TEXT_CATEGORY_CONFLICT, TEXT_IMAGE_CONFLICT)
 * - policyRecall      = policy-sensitive reaching a human / policy-sensitive      (for ANY reason)
 * - reviewRate        = assets reaching a human / assets
 *
 * A ratio whose denominator is 0 is `null` (no evidence either way); a floor on a null value fails.
 * Audit samples (AUTO_PASS assets a person also checks, `auditSampleRate`) keep their AUTO_PASS outcome, so they do
 * not count as reaching a human; `auditRate` reports them separately, as extra review workload.
 */
import { OUTCOMES, REVIEWABLE_OUTCOMES, type Outcome, type ReasonCode } from '../lambdas/core/outcomes';
import { Taxonomy } from '../lambdas/core/taxonomy';
import { triage } from '../lambdas/core/triage';
import { thresholdsFor, type CategoryThresholds, type TriagePolicy } from '../lambdas/core/triage-policy';
import { wilson, type Interval } from './score-models';
import { MODEL_FAMILIES, MODEL_FAMILY_NAMES, triageInputOf, type GroundTruth, type LabelledAsset, type ModelFamily } from './labelled-set';

export interface EvaluatedAsset {
  asset: LabelledAsset;
  outcome: Outcome;
  reasons: ReasonCode[];
  auditSampled: boolean;
}

/** Runs the real triage over every asset. The sample key is the asset id, so audit sampling is reproducible. */
export function evaluate(
  assets: readonly LabelledAsset[],
  taxonomy: Taxonomy,
  policy: TriagePolicy,
  options: { auditSampling?: boolean } = {},
): EvaluatedAsset[] {
  const audit = options.auditSampling ?? true;
  return assets.map((asset) => {
    const input = triageInputOf(asset);
    const decision = triage(audit ? { ...input, sampleKey: `eval/${asset.id}` } : input, taxonomy, policy);
    return { asset, outcome: decision.outcome, reasons: decision.reasons, auditSampled: decision.auditSampled };
  });
}

export function reachesHuman(outcome: Outcome): boolean {
  return REVIEWABLE_OUTCOMES.has(outcome);
}

/** CATEGORY_MISMATCH or a TEXT_* reason: the triage's claim that the listing misrepresents the item. */
export function isMismatchReason(reason: ReasonCode): boolean {
  return reason === 'CATEGORY_MISMATCH' || reason.startsWith('TEXT_');
}

/** Policy reasons (POLICY_SENSITIVE, POLICY_BORDERLINE): the policy path itself caught the asset. */
export function isPolicyReason(reason: ReasonCode): boolean {
  return reason.startsWith('POLICY_');
}

export function isFine(truth: GroundTruth): boolean {
  return !truth.misrepresented && truth.policyClass === null;
}

export interface Metrics {
  assets: number;
  autoPassPrecision: number | null;
  autoPassRate: number | null;
  mismatchRecall: number | null;
  mismatchPrecision: number | null;
  policyRecall: number | null;
  reviewRate: number | null;
  /** Share of policy-sensitive assets caught by a policy reason (not just by another route). */
  policyReasonRecall: number | null;
  /** Share of all assets picked for an audit of an AUTO_PASS (extra review workload). */
  auditRate: number | null;
  counts: {
    fine: number;
    misrepresented: number;
    policySensitive: number;
    autoPass: number;
    autoPassFine: number;
    reachHuman: number;
    misrepresentedReached: number;
    policyReached: number;
    policyReasoned: number;
    mismatchReasoned: number;
    mismatchReasonedMisrepresented: number;
    auditSampled: number;
  };
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

export type MetricCounts = Metrics['counts'];

/** The metrics from their counts (so several subsets' counts can be added up and turned into one set's metrics). */
export function metricsFromCounts(assets: number, counts: MetricCounts): Metrics {
  return {
    assets,
    autoPassPrecision: ratio(counts.autoPassFine, counts.autoPass),
    autoPassRate: ratio(counts.autoPass, assets),
    mismatchRecall: ratio(counts.misrepresentedReached, counts.misrepresented),
    mismatchPrecision: ratio(counts.mismatchReasonedMisrepresented, counts.mismatchReasoned),
    policyRecall: ratio(counts.policyReached, counts.policySensitive),
    reviewRate: ratio(counts.reachHuman, assets),
    policyReasonRecall: ratio(counts.policyReasoned, counts.policySensitive),
    auditRate: ratio(counts.auditSampled, assets),
    counts,
  };
}

export function addCounts(a: MetricCounts, b: MetricCounts): MetricCounts {
  const sum = { ...a };
  for (const key of Object.keys(sum) as Array<keyof MetricCounts>) sum[key] += b[key];
  return sum;
}

export function computeMetrics(evaluated: readonly EvaluatedAsset[]): Metrics {
  const counts: MetricCounts = {
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
  for (const { asset, outcome, reasons, auditSampled } of evaluated) {
    const { truth } = asset;
    const reached = reachesHuman(outcome);
    const policySensitive = truth.policyClass !== null;
    if (isFine(truth)) counts.fine += 1;
    if (truth.misrepresented) counts.misrepresented += 1;
    if (policySensitive) counts.policySensitive += 1;
    if (outcome === 'AUTO_PASS') {
      counts.autoPass += 1;
      if (isFine(truth)) counts.autoPassFine += 1;
    }
    if (auditSampled) counts.auditSampled += 1;
    if (reached) {
      counts.reachHuman += 1;
      if (truth.misrepresented) counts.misrepresentedReached += 1;
      if (policySensitive) counts.policyReached += 1;
      if (policySensitive && reasons.some(isPolicyReason)) counts.policyReasoned += 1;
      if (reasons.some(isMismatchReason)) {
        counts.mismatchReasoned += 1;
        if (truth.misrepresented) counts.mismatchReasonedMisrepresented += 1;
      }
    }
  }
  return metricsFromCounts(evaluated.length, counts);
}

// ------------------------------------------------------------------------------------------------ confusion

export const TRUTH_CLASSES = ['clean', 'misrepresented', 'policy-sensitive', 'both'] as const;
export type TruthClass = (typeof TRUTH_CLASSES)[number];

export function truthClass(truth: GroundTruth): TruthClass {
  const policy = truth.policyClass !== null;
  if (truth.misrepresented) return policy ? 'both' : 'misrepresented';
  return policy ? 'policy-sensitive' : 'clean';
}

export type ConfusionTable = Record<TruthClass, Record<Outcome, number>>;

/** Rows: the truth; columns: every outcome (REJECTED_INPUT and FAILED cannot come out of triage and stay 0). */
export function confusionTable(evaluated: readonly EvaluatedAsset[]): ConfusionTable {
  const table = Object.fromEntries(TRUTH_CLASSES.map((row) => [row, Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0]))])) as ConfusionTable;
  for (const { asset, outcome } of evaluated) table[truthClass(asset.truth)][outcome] += 1;
  return table;
}

// ---------------------------------------------------------------------------------------------------- floors

export const FLOORS = {
  policyRecall: { op: '>=', floor: 0.995 },
  autoPassPrecision: { op: '>=', floor: 0.99 },
  mismatchRecall: { op: '>=', floor: 0.97 },
  reviewRate: { op: '<=', floor: 0.15 },
  autoPassRate: { op: '>=', floor: 0.6 },
} as const satisfies Record<string, { op: '>=' | '<='; floor: number }>;
export type FloorName = keyof typeof FLOORS;
export const FLOOR_NAMES = Object.keys(FLOORS) as FloorName[];

export interface FloorCheck {
  value: number | null;
  op: '>=' | '<=';
  floor: number;
  pass: boolean;
}

/** Ratios such as 594/600 are compared with a hair of tolerance for floating-point noise. */
const EPSILON = 1e-9;

export function checkFloors(metrics: Metrics): Record<FloorName, FloorCheck> {
  return Object.fromEntries(
    FLOOR_NAMES.map((name) => {
      const { op, floor } = FLOORS[name];
      const value = metrics[name];
      const pass = value !== null && (op === '>=' ? value >= floor - EPSILON : value <= floor + EPSILON);
      return [name, { value, op, floor, pass }];
    }),
  ) as Record<FloorName, FloorCheck>;
}

export function allFloorsPass(floors: Record<FloorName, FloorCheck>): boolean {
  return FLOOR_NAMES.every((name) => floors[name].pass);
}

// ------------------------------------------------------------------------------------------------- report

export interface FamilyReport {
  family: ModelFamily;
  description: string;
  /** The `categoryModels` key whose thresholds applied (variant, model id or `default`). */
  thresholdsKey: string;
  thresholds: CategoryThresholds;
  metrics: Metrics;
  floors: Record<FloorName, FloorCheck>;
}

/**
 * The floors gate the deployed model family. The local detector stand-in is evaluated and reported too, but it is a
 * development substitute with known blind spots (no COCO label for art prints or watches), not what triages
 * production traffic, so its figures are information, not a gate.
 */
export const GATED_FAMILY: ModelFamily = 'clip';

export interface EvaluationReport {
  /** Every asset of the set, all model families together (information). */
  metrics: Metrics;
  /** The gated (deployed) model family's metrics: what the floors are checked on. */
  gatedModel: string;
  gatedMetrics: Metrics;
  floors: Record<FloorName, FloorCheck>;
  pass: boolean;
  /** Keyed by the family's model key: `openai/clip-vit-base-patch32`, `local-centernet-coco80`. */
  byModel: Record<string, FamilyReport>;
  bySource: Record<string, Metrics>;
  confusion: ConfusionTable;
  evaluated: EvaluatedAsset[];
}

/** The key of `policy.categoryModels` that `thresholdsFor` resolves for a model (variant, model id, `default`). */
export function resolvedThresholdsKey(policy: TriagePolicy, modelId: string, variant = ''): string {
  if (variant !== '' && Object.hasOwn(policy.categoryModels, variant)) return variant;
  if (Object.hasOwn(policy.categoryModels, modelId)) return modelId;
  return 'default';
}

export function evaluateSet(assets: readonly LabelledAsset[], taxonomy: Taxonomy, policy: TriagePolicy): EvaluationReport {
  const evaluated = evaluate(assets, taxonomy, policy);
  const metrics = computeMetrics(evaluated);
  const byModel: Record<string, FamilyReport> = {};
  for (const family of MODEL_FAMILY_NAMES) {
    const subset = evaluated.filter((entry) => entry.asset.family === family);
    if (subset.length === 0) continue;
    const models = MODEL_FAMILIES[family];
    const familyMetrics = computeMetrics(subset);
    byModel[models.modelKey] = {
      family,
      description: models.description,
      thresholdsKey: resolvedThresholdsKey(policy, models.categoryModelId, models.categoryModelVariant),
      thresholds: thresholdsFor(policy, models.categoryModelId, models.categoryModelVariant),
      metrics: familyMetrics,
      floors: checkFloors(familyMetrics),
    };
  }
  const bySource: Record<string, Metrics> = {};
  for (const source of ['synthetic', 'real'] as const) {
    const subset = evaluated.filter((entry) => entry.asset.source === source);
    if (subset.length > 0) bySource[source] = computeMetrics(subset);
  }
  const gatedModel = MODEL_FAMILIES[GATED_FAMILY].modelKey;
  const gatedMetrics = byModel[gatedModel]?.metrics ?? metrics;
  const floors = checkFloors(gatedMetrics);
  return { metrics, gatedModel, gatedMetrics, floors, pass: allFloorsPass(floors), byModel, bySource, confusion: confusionTable(evaluated), evaluated };
}

// -------------------------------------------------------------------------------------------------- sweep

/**
 * A Taxonomy that remembers its keyword matches and lineages. Same answers as the plain one (the methods are
 * deterministic and their results are not mutated by triage); it only makes the thousands of triage runs of a sweep
 * about ten times faster, keyword matching being most of a triage's cost.
 */
class SweepTaxonomy extends Taxonomy {
  constructor(
    document: ConstructorParameters<typeof Taxonomy>[0],
    /** Shared by the copies that differ only in policy thresholds (same categories, same answers). */
    private readonly caches = { mentions: new Map<string, ReturnType<Taxonomy['categoriesMentionedIn']>>(), lineages: new Map<string, string[]>() },
  ) {
    super(document);
  }

  withPolicyClasses(policyClasses: Taxonomy['policyClasses']): SweepTaxonomy {
    return new SweepTaxonomy({ version: this.version, categories: [...this.categories], policyClasses: [...policyClasses] }, this.caches);
  }

  override categoriesMentionedIn(text: string): ReturnType<Taxonomy['categoriesMentionedIn']> {
    let mentions = this.caches.mentions.get(text);
    if (mentions === undefined) {
      mentions = super.categoriesMentionedIn(text);
      this.caches.mentions.set(text, mentions);
    }
    return mentions;
  }

  override lineage(id: string): string[] {
    let chain = this.caches.lineages.get(id);
    if (chain === undefined) {
      chain = super.lineage(id);
      this.caches.lineages.set(id, chain);
    }
    return chain;
  }
}

/**
 * The score at which a policy class first reaches a person: its borderline threshold when it has one (the band
 * [borderlineThreshold, reviewThreshold) goes to review as POLICY_BORDERLINE, above it as POLICY_SENSITIVE).
 */
export function policyReviewFloor(policyClass: { reviewThreshold: number; borderlineThreshold?: number }): number {
  return Math.min(policyClass.reviewThreshold, policyClass.borderlineThreshold ?? policyClass.reviewThreshold);
}

/**
 * A copy of the taxonomy whose policy classes reach a person from the given scores on: the borderline threshold
 * becomes the value, and the review threshold is lowered to it only if it was above (POLICY_SENSITIVE keeps meaning
 * "at or above the review threshold"). Classes not named keep their thresholds.
 */
export function withPolicyFloors(taxonomy: Taxonomy, floors: Readonly<Record<string, number>> = {}): Taxonomy {
  const policyClasses = taxonomy.policyClasses.map((policyClass) => {
    const value = floors[policyClass.id];
    if (value === undefined) return policyClass;
    return { ...policyClass, borderlineThreshold: value, reviewThreshold: Math.max(policyClass.reviewThreshold, value) };
  });
  if (taxonomy instanceof SweepTaxonomy) return taxonomy.withPolicyClasses(policyClasses);
  return new SweepTaxonomy({ version: taxonomy.version, categories: [...taxonomy.categories], policyClasses });
}

/** The `categoryModels` key a family's own thresholds live under: its variant if the policy has it, else its model id. */
export function ownThresholdsKey(policy: TriagePolicy, family: ModelFamily): string {
  const models = MODEL_FAMILIES[family];
  return Object.hasOwn(policy.categoryModels, models.categoryModelVariant) ? models.categoryModelVariant : models.categoryModelId;
}

/**
 * A copy of the policy in which the family's thresholds are `thresholds`, written under the family's own key (so a
 * family that fell back to `default` stops doing so, and `default` itself is untouched).
 */
export function withCategoryThresholds(policy: TriagePolicy, family: ModelFamily, thresholds: CategoryThresholds): TriagePolicy {
  const copy = structuredClone(policy);
  copy.categoryModels[ownThresholdsKey(policy, family)] = { ...thresholds };
  return copy;
}

export type ThresholdName = keyof CategoryThresholds;
export const THRESHOLD_NAMES: ThresholdName[] = ['lowConfidence', 'mismatch', 'pass'];

/** Floors on what a model lets through (held per model family in the search); the others are workload floors. */
export const SAFETY_FLOORS: FloorName[] = ['policyRecall', 'autoPassPrecision', 'mismatchRecall'];

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let i = 0; from + i * step <= to + 1e-9; i += 1) values.push(Math.round((from + i * step) * 1000) / 1000);
  return values;
}

export interface SweepGrid {
  /** Values of each category threshold in the one-at-a-time trade-off lines. */
  line: number[];
  /** The coarse search grid per category threshold; the best points are then refined at half the step. */
  lowConfidence: number[];
  mismatch: number[];
  pass: number[];
  coarseStep: number;
  /** How many of the best coarse points per family are refined. */
  refine: number;
  /** Values of each policy class's review floor. */
  policy: number[];
}

export const DEFAULT_GRID: SweepGrid = {
  line: range(0.05, 0.9, 0.05),
  lowConfidence: range(0.1, 0.5, 0.1),
  mismatch: range(0.1, 0.9, 0.1),
  pass: range(0.1, 0.9, 0.1),
  coarseStep: 0.1,
  refine: 6,
  policy: [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
};

/** The compact metrics a sweep point reports. */
export interface PointMetrics extends Pick<
  Metrics,
  'assets' | 'autoPassPrecision' | 'autoPassRate' | 'mismatchRecall' | 'mismatchPrecision' | 'policyRecall' | 'reviewRate'
> {
  /** Every floor met on these assets. */
  pass: boolean;
}

export function pointMetrics(metrics: Metrics): PointMetrics {
  return {
    assets: metrics.assets,
    autoPassPrecision: metrics.autoPassPrecision,
    autoPassRate: metrics.autoPassRate,
    mismatchRecall: metrics.mismatchRecall,
    mismatchPrecision: metrics.mismatchPrecision,
    policyRecall: metrics.policyRecall,
    reviewRate: metrics.reviewRate,
    pass: allFloorsPass(checkFloors(metrics)),
  };
}

/**
 * How far inside a floor a value is, relative to the room the floor leaves (precision/recall/auto-pass rate toward
 * 1, review rate toward 0): 0 on the floor, 1 at the far end, negative below it. A floor of exactly 1 (none today)
 * would be a constraint, not a margin: 1 when met, -1 when not. A null value (no such assets) scores 1: nothing to
 * hold against it.
 */
export function floorMargin(name: FloorName, value: number | null): number {
  if (value === null) return 1;
  const { op, floor } = FLOORS[name];
  if (floor >= 1 && op === '>=') return value >= floor - EPSILON ? 1 : -1;
  return op === '>=' ? (value - floor) / (1 - floor) : (floor - value) / floor;
}

/** The smallest margin over the given floors (all five by default). */
export function minMargin(metrics: Metrics, names: readonly FloorName[] = FLOOR_NAMES): number {
  return Math.min(...names.map((name) => floorMargin(name, metrics[name])));
}

export interface LinePoint {
  value: number;
  thresholds: CategoryThresholds;
  metrics: PointMetrics;
}

export interface FamilySweep {
  family: ModelFamily;
  modelKey: string;
  /** The key a recommendation goes under in config/triage-policy.json `categoryModels`. */
  thresholdsKey: string;
  current: CategoryThresholds;
  /** The family's assets at the current thresholds (and current policy floors). */
  currentMetrics: PointMetrics;
  /** One threshold moved at a time, the others at their current values; points with lowConfidence > mismatch are left out. */
  lines: Record<ThresholdName, LinePoint[]>;
  /** Threshold combinations evaluated in the search. */
  evaluated: number;
  /** The search judged on this family's assets alone (every floor on them). */
  alone: {
    feasible: number;
    /** The feasible point farthest inside the floors (ties: closest to the current thresholds), or null. */
    recommended: FamilyPoint | null;
    /** The point with the largest margin, feasible or not. */
    best: FamilyPoint | null;
  };
}

export interface FamilyPoint {
  thresholds: CategoryThresholds;
  metrics: PointMetrics;
  floors: Record<FloorName, FloorCheck>;
  margin: number;
}

export interface JointPoint {
  /** Per model key. */
  thresholds: Record<string, CategoryThresholds>;
  perModel: Record<string, PointMetrics>;
  overall: PointMetrics;
  floors: Record<FloorName, FloorCheck>;
  /** Smallest relative margin inside the floors (negative: some floor fails; see `floorMargin`). */
  margin: number;
}

export interface PolicySweep {
  /** Current review floor (lowest score that reaches a person) per class. */
  current: Record<string, number>;
  lines: Record<
    string,
    Array<{ value: number; policyRecall: number | null; policyReasonRecall: number | null; reviewRate: number | null; falseAlarms: number }>
  >;
  recommended: { floors: Record<string, number>; policyReasonRecall: number | null; falseAlarms: number };
}

export interface SweepReport {
  policy: PolicySweep;
  families: Record<string, FamilySweep>;
  joint: {
    combinations: number;
    feasible: number;
    /** The feasible combination farthest inside the floors (ties: closest to the current thresholds), or null. */
    recommended: JointPoint | null;
    /** The combination with the largest margin, feasible or not. */
    best: JointPoint | null;
  };
  elapsedMs: number;
}

const keyOf = (t: CategoryThresholds): string => `${t.lowConfidence}/${t.mismatch}/${t.pass}`;
const l1 = (a: CategoryThresholds, b: CategoryThresholds): number =>
  Math.abs(a.lowConfidence - b.lowConfidence) + Math.abs(a.mismatch - b.mismatch) + Math.abs(a.pass - b.pass);

/**
 * The trade-off as thresholds move, and thresholds that meet the floors on this set. The policy object and the
 * taxonomy are copied, never written.
 *
 * 1. Policy (taxonomy policy classes; shared by every model family): each class's review floor moved alone (lines),
 *    then every combination of the grid's values; recommended = every policy-sensitive asset caught by a policy
 *    reason if possible, then the fewest other assets sent to review by a policy reason, then the closest to the
 *    current floors. Policy reasons depend on the policy scores only, so this step is independent of step 2.
 * 2. Per model family, with the recommended policy floors: each category threshold moved alone (lines), then a
 *    coarse grid over (lowConfidence, mismatch, pass) with lowConfidence <= mismatch, the best points refined at
 *    half the step.
 * 3. Jointly: every combination of one searched point per family. Feasible = every floor met on the whole set AND
 *    the safety floors (policy recall, auto-pass precision, mismatch recall) met on each family's own assets, so one
 *    model's misses cannot hide behind another's catches; the workload floors (review and auto-pass rates) are for
 *    the whole set. Recommended = the feasible combination with the largest smallest-margin (a point on the edge of
 *    a floor would be fitted to this very set), ties broken toward the current thresholds.
 */
export function sweep(assets: readonly LabelledAsset[], taxonomy: Taxonomy, policy: TriagePolicy, grid: SweepGrid = DEFAULT_GRID): SweepReport {
  const started = performance.now();
  const baseTaxonomy = withPolicyFloors(taxonomy);
  const run = (subset: readonly LabelledAsset[], tax: Taxonomy, pol: TriagePolicy): EvaluatedAsset[] => evaluate(subset, tax, pol, { auditSampling: false });

  // 1. Policy floors.
  const classIds = taxonomy.policyClasses.map((policyClass) => policyClass.id);
  const currentFloors = Object.fromEntries(taxonomy.policyClasses.map((policyClass) => [policyClass.id, policyReviewFloor(policyClass)]));
  const policyPoint = (floors: Record<string, number>) => {
    const evaluated = run(assets, withPolicyFloors(baseTaxonomy, floors), policy);
    const falseAlarms = evaluated.filter((entry) => entry.asset.truth.policyClass === null && entry.reasons.some(isPolicyReason)).length;
    return { metrics: computeMetrics(evaluated), falseAlarms };
  };
  const policyLines: PolicySweep['lines'] = {};
  for (const classId of classIds) {
    policyLines[classId] = grid.policy.map((value) => {
      const { metrics, falseAlarms } = policyPoint({ ...currentFloors, [classId]: value });
      return { value, policyRecall: metrics.policyRecall, policyReasonRecall: metrics.policyReasonRecall, reviewRate: metrics.reviewRate, falseAlarms };
    });
  }
  // Policy reasons depend only on the policy scores: evaluate the assets that have any once per combination.
  const policyCombos = classIds.reduce<Array<Record<string, number>>>(
    (partials, classId) => partials.flatMap((partial) => grid.policy.map((value) => ({ ...partial, [classId]: value }))),
    [{}],
  );
  let policyBest: { floors: Record<string, number>; recall: number; falseAlarms: number; distance: number } | undefined;
  for (const floors of policyCombos) {
    const { metrics, falseAlarms } = policyPoint(floors);
    const recall = metrics.policyReasonRecall ?? 1;
    const distance = classIds.reduce((sum, id) => sum + Math.abs((floors[id] ?? 0) - (currentFloors[id] ?? 0)), 0);
    const better =
      policyBest === undefined ||
      recall > policyBest.recall + EPSILON ||
      (Math.abs(recall - policyBest.recall) <= EPSILON &&
        (falseAlarms < policyBest.falseAlarms || (falseAlarms === policyBest.falseAlarms && distance < policyBest.distance - EPSILON)));
    if (better) policyBest = { floors, recall, falseAlarms, distance };
  }
  const recommendedFloors = policyBest?.floors ?? currentFloors;
  const searchTaxonomy = withPolicyFloors(baseTaxonomy, recommendedFloors);

  // 2. Per family: lines and the searched points.
  const families: Record<string, FamilySweep> = {};
  const searched: Array<{
    modelKey: string;
    family: ModelFamily;
    current: CategoryThresholds;
    points: Array<{ thresholds: CategoryThresholds; metrics: Metrics }>;
  }> = [];
  for (const family of MODEL_FAMILY_NAMES) {
    const subset = assets.filter((asset) => asset.family === family);
    if (subset.length === 0) continue;
    const models = MODEL_FAMILIES[family];
    const current = thresholdsFor(policy, models.categoryModelId, models.categoryModelVariant);
    const at = (thresholds: CategoryThresholds, tax: Taxonomy): Metrics => computeMetrics(run(subset, tax, withCategoryThresholds(policy, family, thresholds)));

    const lines = {} as Record<ThresholdName, LinePoint[]>;
    for (const name of THRESHOLD_NAMES) {
      lines[name] = [];
      for (const value of grid.line) {
        const thresholds = { ...current, [name]: value };
        if (thresholds.lowConfidence > thresholds.mismatch) continue;
        lines[name].push({ value, thresholds, metrics: pointMetrics(at(thresholds, baseTaxonomy)) });
      }
    }

    const points = new Map<string, { thresholds: CategoryThresholds; metrics: Metrics }>();
    const visit = (thresholds: CategoryThresholds): void => {
      if (thresholds.lowConfidence > thresholds.mismatch || points.has(keyOf(thresholds))) return;
      points.set(keyOf(thresholds), { thresholds, metrics: at(thresholds, searchTaxonomy) });
    };
    for (const lowConfidence of grid.lowConfidence) {
      for (const mismatch of grid.mismatch) {
        for (const pass of grid.pass) visit({ lowConfidence, mismatch, pass });
      }
    }
    const half = grid.coarseStep / 2;
    const seeds = [...points.values()].sort((a, b) => minMargin(b.metrics) - minMargin(a.metrics)).slice(0, grid.refine);
    for (const seed of seeds) {
      for (const dl of [-half, 0, half]) {
        for (const dm of [-half, 0, half]) {
          for (const dp of [-half, 0, half]) {
            const t = seed.thresholds;
            const clamp = (v: number): number => Math.min(0.99, Math.max(0.01, Math.round(v * 1000) / 1000));
            visit({ lowConfidence: clamp(t.lowConfidence + dl), mismatch: clamp(t.mismatch + dm), pass: clamp(t.pass + dp) });
          }
        }
      }
    }
    const list = [...points.values()];
    let aloneFeasible = 0;
    let aloneRecommended: (FamilyPoint & { distance: number }) | null = null;
    let aloneBest: (FamilyPoint & { distance: number }) | null = null;
    for (const point of list) {
      const floors = checkFloors(point.metrics);
      const candidate = {
        thresholds: point.thresholds,
        metrics: pointMetrics(point.metrics),
        floors,
        margin: minMargin(point.metrics),
        distance: l1(point.thresholds, current),
      };
      const beats = (other: typeof aloneBest): boolean =>
        other === null ||
        candidate.margin > other.margin + EPSILON ||
        (Math.abs(candidate.margin - other.margin) <= EPSILON && candidate.distance < other.distance - EPSILON);
      if (beats(aloneBest)) aloneBest = candidate;
      if (allFloorsPass(floors)) {
        aloneFeasible += 1;
        if (beats(aloneRecommended)) aloneRecommended = candidate;
      }
    }
    const dropDistance = (point: (FamilyPoint & { distance: number }) | null): FamilyPoint | null => {
      if (point === null) return null;
      const { distance: _distance, ...rest } = point;
      return rest;
    };
    families[models.modelKey] = {
      family,
      modelKey: models.modelKey,
      thresholdsKey: ownThresholdsKey(policy, family),
      current,
      currentMetrics: pointMetrics(at(current, baseTaxonomy)),
      lines,
      evaluated: list.length,
      alone: { feasible: aloneFeasible, recommended: dropDistance(aloneRecommended), best: dropDistance(aloneBest) },
    };
    // Only points that meet the safety floors on their own family can be part of a feasible combination; keep the
    // rest out of the joint product unless nothing qualifies (then the best effort is still reported).
    const safe = list.filter((point) => SAFETY_FLOORS.every((name) => floorMargin(name, point.metrics[name]) >= -EPSILON));
    searched.push({ modelKey: models.modelKey, family, current, points: safe.length > 0 ? safe : list });
  }

  // 3. Joint search over one point per family.
  let combinations = 0;
  let feasible = 0;
  let recommended: (JointPoint & { distance: number }) | null = null;
  let best: (JointPoint & { distance: number }) | null = null;
  const visitCombination = (chosen: Array<{ thresholds: CategoryThresholds; metrics: Metrics }>): void => {
    combinations += 1;
    let counts = chosen[0]!.metrics.counts;
    let total = chosen[0]!.metrics.assets;
    for (const point of chosen.slice(1)) {
      counts = addCounts(counts, point.metrics.counts);
      total += point.metrics.assets;
    }
    const overall = metricsFromCounts(total, counts);
    const floors = checkFloors(overall);
    const margin = Math.min(minMargin(overall), ...chosen.map((point) => minMargin(point.metrics, SAFETY_FLOORS)));
    const safeEach = chosen.every((point) => SAFETY_FLOORS.every((name) => checkFloors(point.metrics)[name].pass));
    const distance = chosen.reduce((sum, point, index) => sum + l1(point.thresholds, searched[index]!.current), 0);
    const better = (other: { margin: number; distance: number } | null): boolean =>
      other === null || margin > other.margin + EPSILON || (Math.abs(margin - other.margin) <= EPSILON && distance < other.distance - EPSILON);
    const isFeasible = allFloorsPass(floors) && safeEach;
    if (isFeasible) feasible += 1;
    if (!better(best) && !(isFeasible && better(recommended))) return;
    const point: JointPoint & { distance: number } = {
      thresholds: Object.fromEntries(chosen.map((p, index) => [searched[index]!.modelKey, p.thresholds])),
      perModel: Object.fromEntries(chosen.map((p, index) => [searched[index]!.modelKey, pointMetrics(p.metrics)])),
      overall: pointMetrics(overall),
      floors,
      margin,
      distance,
    };
    if (better(best)) best = point;
    if (isFeasible && better(recommended)) recommended = point;
  };
  const walk = (index: number, chosen: Array<{ thresholds: CategoryThresholds; metrics: Metrics }>): void => {
    if (index === searched.length) {
      if (chosen.length > 0) visitCombination(chosen);
      return;
    }
    for (const point of searched[index]!.points) walk(index + 1, [...chosen, point]);
  };
  walk(0, []);

  const strip = (point: (JointPoint & { distance: number }) | null): JointPoint | null => {
    if (point === null) return null;
    const { distance: _distance, ...rest } = point;
    return rest;
  };
  return {
    policy: {
      current: currentFloors,
      lines: policyLines,
      recommended: { floors: recommendedFloors, policyReasonRecall: policyBest?.recall ?? null, falseAlarms: policyBest?.falseAlarms ?? 0 },
    },
    families,
    joint: { combinations, feasible, recommended: strip(recommended), best: strip(best) },
    elapsedMs: Math.round(performance.now() - started),
  };
}

// ------------------------------------------------------------------------------------------------ intervals

/** The numerator and denominator behind each rate (k of n), for intervals. */
export function rateCounts(
  metrics: Metrics,
): Record<
  'autoPassPrecision' | 'autoPassRate' | 'mismatchRecall' | 'mismatchPrecision' | 'policyRecall' | 'reviewRate' | 'policyReasonRecall' | 'auditRate',
  { k: number; n: number }
> {
  const c = metrics.counts;
  return {
    autoPassPrecision: { k: c.autoPassFine, n: c.autoPass },
    autoPassRate: { k: c.autoPass, n: metrics.assets },
    mismatchRecall: { k: c.misrepresentedReached, n: c.misrepresented },
    mismatchPrecision: { k: c.mismatchReasonedMisrepresented, n: c.mismatchReasoned },
    policyRecall: { k: c.policyReached, n: c.policySensitive },
    reviewRate: { k: c.reachHuman, n: metrics.assets },
    policyReasonRecall: { k: c.policyReasoned, n: c.policySensitive },
    auditRate: { k: c.auditSampled, n: metrics.assets },
  };
}

/** Every rate's 95% Wilson interval with its counts. */
export function intervalsOf(metrics: Metrics): Record<keyof ReturnType<typeof rateCounts>, Interval> {
  return Object.fromEntries(Object.entries(rateCounts(metrics)).map(([name, { k, n }]) => [name, wilson(k, n)])) as Record<
    keyof ReturnType<typeof rateCounts>,
    Interval
  >;
}

/** Every policy-sensitive asset of a family that did not reach a person (100% recall remains the aim). */
export function policyMisses(
  evaluated: readonly EvaluatedAsset[],
  family: ModelFamily = GATED_FAMILY,
): Array<{ id: string; scenario: string; outcome: Outcome; policyLabels: Array<{ label: string; score: number }> }> {
  return evaluated
    .filter((entry) => entry.asset.family === family && entry.asset.truth.policyClass !== null && !reachesHuman(entry.outcome))
    .map((entry) => ({
      id: entry.asset.id,
      scenario: entry.asset.scenario,
      outcome: entry.outcome,
      policyLabels: entry.asset.model.policyLabels.map((l) => ({ label: l.label, score: Math.round(l.score * 10_000) / 10_000 })),
    }));
}
