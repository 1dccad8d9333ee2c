/**
 * Calibration vs held-out splits. Thresholds are fitted on the CALIBRATION set only (`npm run eval -- --calibrate`);
 * the floors are checked on HELD-OUT sets: the same generator with any other seed, large enough that each gated
 * recall has ~300 positives or more (10,000 assets: ~320 policy-sensitive and ~560 misrepresented gated assets).
 * The real local-model outputs (18 assets, detector family) are added to every set, for information.
 */
import type { Taxonomy } from '../lambdas/core/taxonomy';
import { generateLabelledSet } from './generator';
import type { LabelledAsset } from './labelled-set';
import { readLocalModelOutputs, realAssets } from './real-outputs';

/** The calibration set's seed (the committed eval/data/labelled-set.json is its first 1,000-asset rendering). */
export const CALIBRATION_SEED = 20261101;
export const CALIBRATION_SIZE = 20_000;
/** The held-out seed CI gates on and `npm run eval` uses when no --seed is given. */
export const HELD_OUT_SEED = 20261202;
export const HELD_OUT_SIZE = 10_000;

export type Split = 'calibration' | 'held-out';

export function splitOf(seed: number): Split {
  return seed === CALIBRATION_SEED ? 'calibration' : 'held-out';
}

export interface GeneratedSet {
  seed: number;
  split: Split;
  assets: LabelledAsset[];
  synthetic: number;
  real: number;
  meta: Record<string, unknown>;
}

/** A set generated in memory for a seed and size, plus the real outputs. Deterministic. */
export function generatedSet(taxonomy: Taxonomy, seed: number, size: number, clipSignal?: number): GeneratedSet {
  const synthetic = generateLabelledSet(taxonomy, { seed, assets: size, ...(clipSignal === undefined ? {} : { clipSignal }) });
  const real = realAssets(readLocalModelOutputs());
  return { seed, split: splitOf(seed), assets: [...synthetic.assets, ...real], synthetic: synthetic.assets.length, real: real.length, meta: synthetic.meta };
}
