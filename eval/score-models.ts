/**
 * The published figures the generator's score models follow, and how to measure the same figures on a generated
 * set, so the eval can print "generated vs cited" side by side. Sources and the reasoning behind each choice are in
 * eval/README.md ("Score models grounded in published figures").
 */
import { categoryScores } from '../lambdas/core/triage';
import type { Taxonomy } from '../lambdas/core/taxonomy';
import type { LabelledAsset } from './labelled-set';

export interface CitedFigure {
  value: number;
  what: string;
  source: string;
}

export const CITED = {
  /**
   * CLIP ViT-B/32 zero-shot top-1 on CIFAR-10 (10 coarse object classes), Radford et al. 2021, "Learning
   * Transferable Visual Models From Natural Language Supervision" (arXiv:2103.00020), Table 11 (zero-shot). The
   * generated CLIP accuracy is fitted to it (CLIP_SIGNAL).
   */
  clipTop1: {
    value: 0.913,
    what: 'CLIP ViT-B/32 zero-shot top-1, CIFAR-10 (10 coarse object classes)',
    source: 'Radford et al. 2021, arXiv:2103.00020, Table 11',
  },
  /** The same model and table on ImageNet-1k: the fine-grained, pessimistic reference (`--clip-top1 0.632`). */
  clipTop1ImageNet: {
    value: 0.632,
    what: 'CLIP ViT-B/32 zero-shot top-1, ImageNet-1k (1,000 fine classes)',
    source: 'Radford et al. 2021, arXiv:2103.00020, Table 11',
  },
  /** Falconsai/nsfw_image_detection model card (Hugging Face): eval_accuracy 0.980375 on its held-out split. */
  falconsaiAccuracy: {
    value: 0.980375,
    what: 'Falconsai/nsfw_image_detection accuracy (normal vs nsfw), its evaluation split',
    source: 'huggingface.co/Falconsai/nsfw_image_detection, model card (eval_accuracy)',
  },
} as const satisfies Record<string, CitedFigure>;

export interface Count {
  k: number;
  n: number;
}

/**
 * Zero-shot top-1 accuracy of the CLIP family on truthful listings' images: the category with the highest summed
 * score is the image's true category. (Misrepresented listings' images are images too, but their difficulty mix is
 * chosen to stress the triage, so they are left out of the figure the citation is compared with.)
 */
export function clipTop1(assets: readonly LabelledAsset[], taxonomy: Taxonomy): Count {
  let k = 0;
  let n = 0;
  for (const asset of assets) {
    if (asset.family !== 'clip' || asset.source !== 'synthetic' || asset.truth.misrepresented) continue;
    let best: string | undefined;
    let bestScore = -1;
    for (const [categoryId, score] of categoryScores(taxonomy, asset.model.categoryLabels)) {
      if (score > bestScore) {
        best = categoryId;
        bestScore = score;
      }
    }
    n += 1;
    if (best === asset.truth.categoryId) k += 1;
  }
  return { k, n };
}

/** The Falconsai answer's top label is right: `nsfw` for a policy-sensitive image, `normal` otherwise. */
export function policyTop1(assets: readonly LabelledAsset[]): Count {
  let k = 0;
  let n = 0;
  for (const asset of assets) {
    if (asset.family !== 'clip' || asset.source !== 'synthetic') continue;
    const top = asset.model.policyLabels[0]?.label;
    n += 1;
    if ((top === 'nsfw') === (asset.truth.policyClass !== null)) k += 1;
  }
  return { k, n };
}

/** The standard normal quantile function (Acklam's rational approximation, |error| < 1.2e-9). */
export function probit(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`probit needs 0 < p < 1, got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  const tail = (q: number): number =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < low) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - low) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** A 95% Wilson score interval for k successes of n, with its counts; null bounds when n = 0. */
export interface Interval {
  low: number | null;
  high: number | null;
  k: number;
  n: number;
}

const Z95 = 1.959963984540054;

export function wilson(k: number, n: number, z = Z95): Interval {
  if (n === 0) return { low: null, high: null, k, n };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  // At k = 0 or k = n the bound is exactly 0 or 1 (floating point would leave it a hair inside).
  return { low: k === 0 ? 0 : Math.max(0, centre - half), high: k === n ? 1 : Math.min(1, centre + half), k, n };
}
