/**
 * Drift of one batch against its baseline window: the predicted-category mix and the policy-hit mix of the batch's
 * classified assets, each compared by PSI (drift/psi.ts) with the summed mixes of the baseline batches (the other
 * batches of the configured window, read from their summaries). Assets without a model answer (rejected input,
 * failures) are in neither mix: they would measure the feed's quality, which the reject-rate gate already covers.
 */
import type { AssetRecord } from '../records';
import { addMixes, populationStabilityIndex, type Mix, type PsiTerm } from './psi';

/** Bin of an asset whose model named no category / whose policy scores reached no borderline band. */
export const NO_CATEGORY = '(none)';
export const NO_POLICY_HIT = '(no hit)';

export interface BatchMix {
  /** Classified assets per predicted (top) category. */
  categories: Record<string, number>;
  /** Classified assets per highest policy class that reached its borderline band, or NO_POLICY_HIT. */
  policy: Record<string, number>;
}

export function batchMix(records: readonly AssetRecord[]): BatchMix {
  const categories: Record<string, number> = {};
  const policy: Record<string, number> = {};
  for (const record of records) {
    if (record.evidence === undefined) continue;
    const category = record.evidence.category.topCategoryId ?? NO_CATEGORY;
    categories[category] = (categories[category] ?? 0) + 1;
    const hit = [...record.evidence.policy].sort((a, b) => b.score - a.score).find((entry) => entry.score >= entry.borderlineThreshold);
    const bin = hit?.classId ?? NO_POLICY_HIT;
    policy[bin] = (policy[bin] ?? 0) + 1;
  }
  return { categories, policy };
}

export interface MixDrift {
  /** null without a usable baseline (none, or fewer assets than the configured minimum) or without current assets. */
  psi: number | null;
  current: Record<string, number>;
  baseline: Record<string, number>;
  terms: PsiTerm[];
}

export interface BatchDrift {
  baselineDays: number;
  epsilon: number;
  minBaselineAssets: number;
  /** The batches the baseline sums (ids). */
  baselineBatches: string[];
  baselineAssets: number;
  category: MixDrift;
  policy: MixDrift;
}

export interface DriftSettings {
  baselineDays: number;
  epsilon: number;
  minBaselineAssets: number;
}

export function batchDrift(current: BatchMix, baseline: ReadonlyArray<{ batchId: string; mix: BatchMix }>, settings: DriftSettings): BatchDrift {
  const categories = addMixes(baseline.map((entry) => entry.mix.categories));
  const policy = addMixes(baseline.map((entry) => entry.mix.policy));
  const baselineAssets = Object.values(categories).reduce((sum, count) => sum + count, 0);
  const usable = baselineAssets >= settings.minBaselineAssets;
  const drift = (now: Mix, before: Record<string, number>): MixDrift => {
    const result = usable ? populationStabilityIndex(now, before, settings.epsilon) : null;
    return { psi: result?.psi ?? null, current: { ...now }, baseline: before, terms: result?.terms ?? [] };
  };
  return {
    ...settings,
    baselineBatches: baseline.map((entry) => entry.batchId).sort(),
    baselineAssets,
    category: drift(current.categories, categories),
    policy: drift(current.policy, policy),
  };
}
