/**
 * Answers a zero-shot image classification request from object detections. This is a STAND-IN for a CLIP model, not
 * one: no image-text similarity is computed, the hypothesis template is ignored, and a candidate label can only win
 * if a COCO-80 detection maps to its taxonomy category (config/taxonomy.json `detectorLabels`). Categories the
 * detector cannot see (watches, landscapes and prints, ...) never get more than the uniform share.
 *
 * Scoring: the evidence for a category is the best score among detections at or above a floor whose label maps to
 * it, divided evenly among that category's prompts when several are candidates. The strongest evidence E decides how
 * peaked the answer is: a share 1 - E (at least a small epsilon) is spread uniformly over all candidates and the
 * remaining E is shared among the categories in proportion to their evidence. No mapped detection gives a flat
 * distribution (1/N each); one confident detection gives a peaked one. Scores sum to 1 over exactly the candidates.
 */
import type { Taxonomy } from '../../lambdas/core/taxonomy';

export interface ScoredDetection {
  label: string;
  score: number;
}

export interface ZeroShotFromDetectionsOptions {
  /** Detections scoring below this are not evidence. */
  minDetectionScore?: number;
  /** Share always spread uniformly, so no candidate is ever scored 0 (a detector is never certain of the taxonomy). */
  minUniformShare?: number;
}

export const DEFAULT_MIN_DETECTION_SCORE = 0.15;
export const DEFAULT_MIN_UNIFORM_SHARE = 0.02;

export function zeroShotFromDetections(
  detections: readonly ScoredDetection[],
  candidateLabels: readonly string[],
  taxonomy: Pick<Taxonomy, 'categoryForPrompt' | 'categoriesForDetectorLabel'>,
  options: ZeroShotFromDetectionsOptions = {},
): Array<{ label: string; score: number }> {
  if (candidateLabels.length === 0) return [];
  const floor = options.minDetectionScore ?? DEFAULT_MIN_DETECTION_SCORE;
  const epsilon = options.minUniformShare ?? DEFAULT_MIN_UNIFORM_SHARE;

  const categoryOf = candidateLabels.map((label) => taxonomy.categoryForPrompt(label)?.id);
  const promptsPerCategory = new Map<string, number>();
  for (const id of categoryOf) if (id !== undefined) promptsPerCategory.set(id, (promptsPerCategory.get(id) ?? 0) + 1);

  const evidence = new Map<string, number>();
  for (const detection of detections) {
    if (!(detection.score >= floor)) continue;
    for (const category of taxonomy.categoriesForDetectorLabel(detection.label)) {
      if (!promptsPerCategory.has(category.id)) continue;
      evidence.set(category.id, Math.max(evidence.get(category.id) ?? 0, Math.min(1, detection.score)));
    }
  }

  const strongest = Math.max(0, ...evidence.values());
  const uniformMass = Math.max(1 - strongest, epsilon);
  const totalEvidence = [...evidence.values()].reduce((sum, value) => sum + value, 0);
  const uniformShare = totalEvidence > 0 ? uniformMass / candidateLabels.length : 1 / candidateLabels.length;

  return candidateLabels
    .map((label, index) => {
      const id = categoryOf[index];
      const categoryEvidence = id === undefined ? 0 : (evidence.get(id) ?? 0) / (promptsPerCategory.get(id) ?? 1);
      const evidenceShare = totalEvidence > 0 ? ((1 - uniformMass) * categoryEvidence) / totalEvidence : 0;
      return { label, score: uniformShare + evidenceShare };
    })
    .sort((a, b) => b.score - a.score);
}
