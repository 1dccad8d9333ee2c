/**
 * Triage: combines the signals about one asset (image-predicted category, listing text, policy scores) into one
 * outcome with reason codes, the evidence behind each code, and a sentence a reviewer can read.
 */
import type { LabelScores } from './hf-contract';
import type { NormalizedListing } from './manifest';
import { mostSevere, type Outcome, type ReasonCode } from './outcomes';
import type { Taxonomy } from './taxonomy';
import { thresholdsFor, type CategoryThresholds, type TriagePolicy } from './triage-policy';

export interface TriageInput {
  listing: Pick<NormalizedListing, 'declaredCategoryId' | 'title' | 'description'>;
  /** The zero-shot category endpoint's answer over the taxonomy's candidate labels. */
  categoryLabels: LabelScores;
  /** The policy endpoint's answer. */
  policyLabels: LabelScores;
  categoryModelId: string;
  /** The endpoint variant that answered (InvokedProductionVariant). */
  categoryModelVariant?: string;
}

export interface CategoryEvidence {
  declaredCategoryId: string;
  /** Score of the declared category plus its descendants. */
  declaredSupport: number;
  topCategoryId: string | null;
  topScore: number;
  /** Highest-scoring categories, best first. */
  scores: Array<{ categoryId: string; score: number }>;
  thresholds: CategoryThresholds;
}

export interface TriageEvidence {
  category: CategoryEvidence;
  text: { mentions: Array<{ categoryId: string; matched: string[] }>; conflict: boolean };
  policy: Array<{ classId: string; score: number; threshold: number; sensitive: boolean }>;
}

export interface TriageDecision {
  outcome: Outcome;
  reasons: ReasonCode[];
  explanation: string;
  evidence: TriageEvidence;
}

/** Sums the zero-shot scores per taxonomy category (a category may own several prompts). */
export function categoryScores(taxonomy: Taxonomy, labels: LabelScores): Map<string, number> {
  const scores = new Map<string, number>();
  for (const { label, score } of labels) {
    const category = taxonomy.categoryForPrompt(label);
    if (category === undefined) continue;
    scores.set(category.id, (scores.get(category.id) ?? 0) + score);
  }
  return scores;
}

export function triage(input: TriageInput, taxonomy: Taxonomy, policy: TriagePolicy): TriageDecision {
  const thresholds = thresholdsFor(policy, input.categoryModelId, input.categoryModelVariant);
  const declared = input.listing.declaredCategoryId;
  const declaredName = taxonomy.category(declared)?.name ?? declared;
  const reasons: ReasonCode[] = [];
  const sentences: string[] = [];
  let outcome: Outcome = 'AUTO_PASS';
  const raise = (reason: ReasonCode, to: Outcome, sentence: string): void => {
    reasons.push(reason);
    sentences.push(sentence);
    outcome = mostSevere(outcome, to);
  };

  // Image vs declared category.
  const scores = categoryScores(taxonomy, input.categoryLabels);
  const ranked = [...scores.entries()].map(([categoryId, score]) => ({ categoryId, score })).sort((a, b) => b.score - a.score);
  const top = ranked[0];
  const declaredSupport = ranked
    .filter((entry) => taxonomy.isSameOrDescendant(entry.categoryId, declared))
    .reduce((sum, entry) => sum + entry.score, 0);
  const topName = top === undefined ? 'nothing' : (taxonomy.category(top.categoryId)?.name ?? top.categoryId);
  if (top === undefined || top.score < thresholds.lowConfidence) {
    raise(
      'LOW_CONFIDENCE',
      'NEEDS_REVIEW',
      `The image model is not confident about any category (best: ${topName} at ${fmt(top?.score ?? 0)}, below ${fmt(thresholds.lowConfidence)}).`,
    );
  } else if (!taxonomy.areRelated(top.categoryId, declared) && top.score >= thresholds.mismatch && declaredSupport < thresholds.pass) {
    raise(
      'CATEGORY_MISMATCH',
      'FLAGGED',
      `The image looks like ${topName} (${fmt(top.score)}), not the declared ${declaredName} (${fmt(declaredSupport)}).`,
    );
  } else if (declaredSupport < thresholds.pass) {
    raise(
      'LOW_CONFIDENCE',
      'NEEDS_REVIEW',
      `The image neither confirms the declared ${declaredName} (${fmt(declaredSupport)}, needs ${fmt(thresholds.pass)}) nor clearly shows another category (best: ${topName} at ${fmt(top.score)}).`,
    );
  }

  // Listing text vs declared category.
  const text = [input.listing.title, input.listing.description ?? ''].join(' ');
  const mentions = taxonomy.categoriesMentionedIn(text);
  const hits = mentions.reduce((sum, mention) => sum + mention.matched.length, 0);
  const textConflict =
    mentions.length > 0 &&
    hits >= policy.textConflictMinKeywordHits &&
    !mentions.some((mention) => taxonomy.areRelated(mention.categoryId, declared));
  if (textConflict) {
    const named = mentions.map((m) => `${taxonomy.category(m.categoryId)?.name ?? m.categoryId} ("${m.matched.join('", "')}")`);
    raise('TEXT_CATEGORY_CONFLICT', 'NEEDS_REVIEW', `The listing text points to ${named.join(', ')}, not the declared ${declaredName}.`);
  }

  // Policy-sensitive content, whatever the metadata says.
  const policyEvidence = taxonomy.policyScores(input.policyLabels).map(({ policyClass, score }) => ({
    classId: policyClass.id,
    score,
    threshold: policyClass.reviewThreshold,
    sensitive: score >= policyClass.reviewThreshold,
  }));
  const sensitive = policyEvidence.filter((entry) => entry.sensitive);
  if (sensitive.length > 0) {
    const named = sensitive.map((entry) => `${entry.classId} ${fmt(entry.score)} ≥ ${fmt(entry.threshold)}`);
    raise('POLICY_SENSITIVE', 'NEEDS_REVIEW', `Policy-sensitive content: ${named.join(', ')}.`);
  }

  if (reasons.length === 0) {
    sentences.push(`The image supports the declared ${declaredName} (${fmt(declaredSupport)}); no conflicting signal.`);
  }
  return {
    outcome,
    reasons,
    explanation: sentences.join(' '),
    evidence: {
      category: {
        declaredCategoryId: declared,
        declaredSupport: round(declaredSupport),
        topCategoryId: top?.categoryId ?? null,
        topScore: round(top?.score ?? 0),
        scores: ranked.slice(0, 5).map((entry) => ({ categoryId: entry.categoryId, score: round(entry.score) })),
        thresholds,
      },
      text: { mentions, conflict: textConflict },
      policy: policyEvidence.map((entry) => ({ ...entry, score: round(entry.score) })),
    },
  };
}

function fmt(score: number): string {
  return score.toFixed(2);
}

function round(score: number): number {
  return Math.round(score * 10_000) / 10_000;
}
