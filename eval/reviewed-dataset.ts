/**
 * `npm run eval -- --dataset <file>`: the CURRENT triage policy and taxonomy re-run on a reviewed dataset (the JSONL of
 * `media-triage dataset export`) — real model outputs, human labels — instead of the generated set.
 *
 * A reviewed dataset is not a random sample of traffic: it holds what triage sent to people plus the audit samples of
 * auto-passes. Rates over "what the current policy would auto-pass" therefore rest on the audit samples (and on items
 * the current policy would now pass that the recorded one sent to a person), never on the unsampled auto-passes.
 */
import { readFileSync } from 'node:fs';
import { mostSevere, OUTCOMES, REVIEWABLE_OUTCOMES, type Outcome, type ReasonCode } from '../lambdas/core/outcomes';
import type { Taxonomy } from '../lambdas/core/taxonomy';
import { categoryScores, triage, type MerchantProfile } from '../lambdas/core/triage';
import type { TriagePolicy } from '../lambdas/core/triage-policy';
import { wilson, type Interval } from './score-models';

/** The schema versions this reader understands (lambdas/adapters/dataset-export.ts DATASET_SCHEMA_VERSION). */
export const READABLE_SCHEMA_VERSIONS = [1, 2] as const;

export const NOT_A_RANDOM_SAMPLE =
  'A reviewed dataset is not a random sample: it holds what triage sent to people plus audit samples of auto-passes, ' +
  'so its auto-pass figures rest on the audit samples only (and review rate is the share of REVIEWED traffic, not of all traffic).';

/** Reasons added after triage from other assets of the batch (CrossCheck): a policy re-run keeps them as recorded. */
const CROSS_ASSET_REASONS: ReadonlySet<string> = new Set(['DUPLICATE_IMAGE_OTHER_MERCHANT', 'DUPLICATE_IMAGE_OTHER_CATEGORY']);

type LabelScores = Array<{ label: string; score: number }>;

/** The fields of a dataset line this reader uses (version 1 lacks the optional ones). */
interface AnyDatasetLine {
  schemaVersion: number;
  batchId: string;
  assetKey: string;
  declaredCategoryId?: string;
  label: string;
  listing?: { title: string | null; description: string | null };
  triage: { outcome: string; reasons: string[] };
  modelOutputs: {
    categoryScores: Array<{ categoryId: string; score: number }>;
    topCategoryId: string | null;
    topScore: number | null;
    declaredSupport?: number | null;
    policy: Array<{ classId: string; score: number }>;
    categoryLabels?: LabelScores | null;
    policyLabels?: LabelScores | null;
  };
  merchant?: { historyAssets: number; declaredShare: number } | null;
  lineage?: { categoryModel?: { modelId: string; variant: string } };
}

export type HumanLabel = 'approve' | 'reject' | 'recategorize';

export interface ReplayedItem {
  line: number;
  assetKey: string;
  batchId: string;
  label: HumanLabel;
  recorded: Outcome;
  rerun: Outcome;
  rerunReasons: ReasonCode[];
  /** What the line lacked for an exact re-run (empty when exact). */
  missing: string[];
}

export interface LoadedDataset {
  path: string;
  lines: number;
  schemaVersions: Record<string, number>;
  items: ReplayedItem[];
  skipped: Array<{ line: number; assetKey: string | null; why: string }>;
}

export class DatasetError extends Error {}

function humanLabel(label: string): HumanLabel | undefined {
  if (label === 'approve' || label === 'reject') return label;
  return label.startsWith('recategorize:') ? 'recategorize' : undefined;
}

/**
 * Zero-shot labels equivalent, for triage, to the recorded per-category scores. Triage only reads per-category sums
 * (core/triage.ts categoryScores: each prompt's score added to its category), then the top category and the declared
 * category's support: one label per category carrying that category's sum gives the same sums. The record keeps the
 * five best categories and the declared support; support from declared descendants outside the five is put on a
 * prompt of the declared category (or an unlisted descendant) when that keeps the ranking, else the line says so.
 */
export function equivalentCategoryLabels(line: AnyDatasetLine, taxonomy: Taxonomy): { labels: LabelScores; missing: string[] } {
  const missing: string[] = ['raw zero-shot labels (rebuilt from the recorded per-category scores)'];
  const declared = line.declaredCategoryId ?? '';
  const listed = line.modelOutputs.categoryScores;
  const labels: LabelScores = [];
  for (const { categoryId, score } of listed) {
    const prompt = taxonomy.category(categoryId)?.clipPrompts[0];
    if (prompt === undefined) missing.push(`category "${categoryId}" is not in the current taxonomy`);
    else labels.push({ label: prompt, score });
  }
  const recordedSupport = line.modelOutputs.declaredSupport;
  if (recordedSupport === undefined || recordedSupport === null) {
    missing.push('declared-category support beyond the five best categories (schema 1)');
  } else {
    const listedSupport = listed.filter((entry) => taxonomy.isSameOrDescendant(entry.categoryId, declared)).reduce((sum, entry) => sum + entry.score, 0);
    const residual = recordedSupport - listedSupport;
    if (residual > 1e-4) {
      const lowestListed = listed.at(-1)?.score ?? 1;
      const home = taxonomy.categories.find(
        (category) => taxonomy.isSameOrDescendant(category.id, declared) && !listed.some((entry) => entry.categoryId === category.id),
      );
      if (home !== undefined && residual <= lowestListed) labels.push({ label: home.clipPrompts[0]!, score: residual });
      else missing.push('declared-category support outside the five best categories could not be placed without changing the ranking');
    }
  }
  const rebuilt = [...categoryScores(taxonomy, labels).entries()].sort((a, b) => b[1] - a[1])[0];
  if (line.modelOutputs.topCategoryId !== null && rebuilt?.[0] !== line.modelOutputs.topCategoryId)
    missing.push('the rebuilt top category differs from the recorded one');
  return { labels, missing };
}

/** Policy labels equivalent for triage: it only reads per-class sums (Taxonomy.policyScores), so one label per class. */
export function equivalentPolicyLabels(line: AnyDatasetLine, taxonomy: Taxonomy): { labels: LabelScores; missing: string[] } {
  const missing: string[] = ['raw policy labels (rebuilt from the recorded per-class scores)'];
  const labels: LabelScores = [];
  for (const { classId, score } of line.modelOutputs.policy) {
    const label = taxonomy.policyClasses.find((c) => c.id === classId)?.modelLabels[0];
    if (label === undefined) missing.push(`policy class "${classId}" is not in the current taxonomy`);
    else labels.push({ label, score });
  }
  return { labels, missing };
}

/**
 * The merchant profile equivalent for triage: the anomaly rule reads only the history size and how many earlier assets
 * were in categories related to the declared one, which the record keeps (share rounded to 4 digits, so the count is
 * exact below 10,000 earlier assets).
 */
function equivalentProfile(line: AnyDatasetLine): MerchantProfile | undefined {
  const merchant = line.merchant;
  if (merchant === undefined || merchant === null || line.declaredCategoryId === undefined) return undefined;
  return { assets: merchant.historyAssets, categories: { [line.declaredCategoryId]: Math.round(merchant.declaredShare * merchant.historyAssets) } };
}

/** Re-runs the current triage on one line's recorded model outputs; undefined (with why) when it cannot. */
export function replayLine(
  line: AnyDatasetLine,
  taxonomy: Taxonomy,
  policy: TriagePolicy,
): { outcome: Outcome; reasons: ReasonCode[]; missing: string[] } | string {
  if (line.declaredCategoryId === undefined) return 'no declared category';
  const hasOutputs = (line.modelOutputs.categoryLabels ?? null) !== null || line.modelOutputs.categoryScores.length > 0;
  if (!hasOutputs) return `no model outputs (recorded outcome ${line.triage.outcome}: decided before the models ran)`;
  const missing: string[] = [];
  let categoryLabels = line.modelOutputs.categoryLabels ?? null;
  if (categoryLabels === null) {
    const rebuilt = equivalentCategoryLabels(line, taxonomy);
    categoryLabels = rebuilt.labels;
    missing.push(...rebuilt.missing);
  }
  let policyLabels = line.modelOutputs.policyLabels ?? null;
  if (policyLabels === null) {
    const rebuilt = equivalentPolicyLabels(line, taxonomy);
    policyLabels = rebuilt.labels;
    missing.push(...rebuilt.missing);
  }
  if (line.listing === undefined) missing.push('listing text (schema 1: text rules cannot fire)');
  if (line.merchant === undefined) missing.push('merchant history (schema 1: the profile rule cannot fire)');
  const decision = triage(
    {
      listing: { declaredCategoryId: line.declaredCategoryId, title: line.listing?.title ?? '', description: line.listing?.description ?? undefined },
      categoryLabels,
      policyLabels,
      categoryModelId: line.lineage?.categoryModel?.modelId ?? '',
      categoryModelVariant: line.lineage?.categoryModel?.variant,
      merchantProfile: equivalentProfile(line),
      sampleKey: `${line.batchId}#${line.assetKey}`,
    },
    taxonomy,
    policy,
  );
  // Duplicate findings depend on other assets, not on the policy: carried over as recorded (as CrossCheck applies them).
  const crossAsset = line.triage.reasons.filter((reason) => CROSS_ASSET_REASONS.has(reason)) as ReasonCode[];
  const outcome = crossAsset.length > 0 ? mostSevere(decision.outcome, 'NEEDS_REVIEW') : decision.outcome;
  return { outcome, reasons: [...decision.reasons, ...crossAsset], missing };
}

/** Reads and replays a dataset file; throws DatasetError for a file it cannot read or a schema it does not know. */
export function loadReviewedDataset(path: string, taxonomy: Taxonomy, policy: TriagePolicy): LoadedDataset {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DatasetError(`cannot read dataset ${path}: ${(error as Error).message}`);
  }
  const result: LoadedDataset = { path, lines: 0, schemaVersions: {}, items: [], skipped: [] };
  const rows = text.split('\n');
  for (let index = 0; index < rows.length; index += 1) {
    const row = rows[index]!.trim();
    if (row === '') continue;
    const lineNumber = index + 1;
    let line: AnyDatasetLine;
    try {
      line = JSON.parse(row) as AnyDatasetLine;
    } catch {
      throw new DatasetError(`${path}:${lineNumber}: not a JSON line`);
    }
    if (!(READABLE_SCHEMA_VERSIONS as readonly number[]).includes(line.schemaVersion)) {
      throw new DatasetError(
        `${path}:${lineNumber}: dataset schemaVersion ${String(line.schemaVersion)} is not readable (this eval reads ${READABLE_SCHEMA_VERSIONS.join(', ')})`,
      );
    }
    if (typeof line.modelOutputs !== 'object' || line.modelOutputs === null || typeof line.triage !== 'object') {
      throw new DatasetError(`${path}:${lineNumber}: schemaVersion ${line.schemaVersion} line without modelOutputs/triage`);
    }
    result.lines += 1;
    result.schemaVersions[String(line.schemaVersion)] = (result.schemaVersions[String(line.schemaVersion)] ?? 0) + 1;
    const label = humanLabel(line.label);
    if (label === undefined) {
      result.skipped.push({ line: lineNumber, assetKey: line.assetKey ?? null, why: `unknown label "${line.label}"` });
      continue;
    }
    const replayed = replayLine(line, taxonomy, policy);
    if (typeof replayed === 'string') {
      result.skipped.push({ line: lineNumber, assetKey: line.assetKey ?? null, why: replayed });
      continue;
    }
    result.items.push({
      line: lineNumber,
      assetKey: line.assetKey,
      batchId: line.batchId,
      label,
      recorded: line.triage.outcome as Outcome,
      rerun: replayed.outcome,
      rerunReasons: replayed.reasons,
      missing: replayed.missing,
    });
  }
  return result;
}

export const HUMAN_LABELS: readonly HumanLabel[] = ['approve', 'reject', 'recategorize'];

export interface ReviewedMetrics {
  evaluated: number;
  /** Of what the current policy would auto-pass, the share humans approved. */
  autoPassPrecision: number | null;
  /** Of the rejected / recategorized, the share the current policy sends to a person. */
  rejectionRecall: number | null;
  /** Share the current policy sends to a person (FLAGGED / NEEDS_REVIEW). */
  reviewRate: number | null;
  /** Share whose re-run outcome equals the recorded one. */
  agreement: number | null;
  intervals: Record<'autoPassPrecision' | 'rejectionRecall' | 'reviewRate' | 'agreement', Interval>;
  /** Re-run outcome × human label. */
  confusion: Record<Outcome, Record<HumanLabel, number>>;
  changed: Array<{ assetKey: string; batchId: string; label: HumanLabel; recorded: Outcome; rerun: Outcome }>;
  /** Items whose recorded outcome was AUTO_PASS (the audit samples the auto-pass figures mostly rest on). */
  auditSamples: number;
  /** Items re-run from a partial line (schema 1 or rebuilt labels), counted per missing piece. */
  incomplete: Record<string, number>;
}

export function reviewedMetrics(items: readonly ReplayedItem[]): ReviewedMetrics {
  const toPerson = (outcome: Outcome): boolean => REVIEWABLE_OUTCOMES.has(outcome);
  const autoPassed = items.filter((item) => item.rerun === 'AUTO_PASS');
  const rejected = items.filter((item) => item.label !== 'approve');
  const counts = {
    autoPassPrecision: [autoPassed.filter((item) => item.label === 'approve').length, autoPassed.length],
    rejectionRecall: [rejected.filter((item) => toPerson(item.rerun)).length, rejected.length],
    reviewRate: [items.filter((item) => toPerson(item.rerun)).length, items.length],
    agreement: [items.filter((item) => item.rerun === item.recorded).length, items.length],
  } as const;
  const rate = ([k, n]: readonly [number, number]): number | null => (n === 0 ? null : k / n);
  const confusion = Object.fromEntries(OUTCOMES.map((o) => [o, Object.fromEntries(HUMAN_LABELS.map((l) => [l, 0]))])) as ReviewedMetrics['confusion'];
  for (const item of items) confusion[item.rerun][item.label] += 1;
  const incomplete: Record<string, number> = {};
  for (const item of items) for (const what of item.missing) incomplete[what] = (incomplete[what] ?? 0) + 1;
  return {
    evaluated: items.length,
    autoPassPrecision: rate(counts.autoPassPrecision),
    rejectionRecall: rate(counts.rejectionRecall),
    reviewRate: rate(counts.reviewRate),
    agreement: rate(counts.agreement),
    intervals: {
      autoPassPrecision: wilson(...counts.autoPassPrecision),
      rejectionRecall: wilson(...counts.rejectionRecall),
      reviewRate: wilson(...counts.reviewRate),
      agreement: wilson(...counts.agreement),
    },
    confusion,
    changed: items
      .filter((item) => item.rerun !== item.recorded)
      .map(({ assetKey, batchId, label, recorded, rerun }) => ({ assetKey, batchId, label, recorded, rerun })),
    auditSamples: items.filter((item) => item.recorded === 'AUTO_PASS').length,
    incomplete,
  };
}
