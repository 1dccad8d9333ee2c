/**
 * Triage: combines the signals about one asset — image-predicted vs declared category, listing text vs declared
 * category and vs the image, the merchant's history, policy scores — into one outcome with reason codes, the
 * evidence behind each code, and a sentence a reviewer can read. Cross-asset signals (duplicate images) are added
 * after the map by the CrossCheck stage (lambdas/core/duplicates.ts).
 */
import { createHash } from 'node:crypto';
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
  /** The merchant's category mix from earlier batches (this batch excluded); absent when unknown. */
  merchantProfile?: MerchantProfile;
  /** Identifies the asset for audit sampling (batch id + asset key), so the choice is the same on every run. */
  sampleKey?: string;
}

/** Asset counts per declared category id over a merchant's earlier batches. */
export interface MerchantProfile {
  assets: number;
  categories: Record<string, number>;
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
  text: { mentions: Array<{ categoryId: string; matched: string[] }>; conflict: boolean; imageConflict: boolean };
  policy: Array<{ classId: string; score: number; threshold: number; borderlineThreshold: number; sensitive: boolean; borderline: boolean }>;
  merchant?: { historyAssets: number; declaredShare: number; anomaly: boolean };
}

export interface TriageDecision {
  outcome: Outcome;
  reasons: ReasonCode[];
  explanation: string;
  evidence: TriageEvidence;
  /** An AUTO_PASS chosen for an audit by a person (policy.auditSampleRate). */
  auditSampled: boolean;
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
  const declaredSupport = ranked.filter((entry) => taxonomy.isSameOrDescendant(entry.categoryId, declared)).reduce((sum, entry) => sum + entry.score, 0);
  const topName = top === undefined ? 'nothing' : (taxonomy.category(top.categoryId)?.name ?? top.categoryId);
  if (top === undefined || top.score < thresholds.lowConfidence) {
    raise(
      'LOW_CONFIDENCE',
      'NEEDS_REVIEW',
      `The image model is not confident about any category (best: ${topName} at ${fmt(top?.score ?? 0)}, below ${fmt(thresholds.lowConfidence)}).`,
    );
  } else if (!taxonomy.areRelated(top.categoryId, declared) && top.score >= thresholds.mismatch && declaredSupport < thresholds.pass) {
    raise('CATEGORY_MISMATCH', 'FLAGGED', `The image looks like ${topName} (${fmt(top.score)}), not the declared ${declaredName} (${fmt(declaredSupport)}).`);
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
    mentions.length > 0 && hits >= policy.textConflictMinKeywordHits && !mentions.some((mention) => taxonomy.areRelated(mention.categoryId, declared));
  const namedMentions = (list: typeof mentions): string =>
    list.map((m) => `${taxonomy.category(m.categoryId)?.name ?? m.categoryId} ("${m.matched.join('", "')}")`).join(', ');
  if (textConflict) {
    raise('TEXT_CATEGORY_CONFLICT', 'NEEDS_REVIEW', `The listing text points to ${namedMentions(mentions)}, not the declared ${declaredName}.`);
  }

  // Listing text vs the image: text that backs the declared category, contradicted by a confident image that does
  // NOT support the declared category (text and declaration say watch, the image shows a handbag). Text that
  // contradicts the declaration is the case above. The image must fail the declared category on its own (the same
  // test as CATEGORY_MISMATCH): otherwise accurate text ("Kitten looking for a home" on a photo that supports Pets
  // above the pass threshold while a sibling scores higher) would make the outcome worse than neutral text, which
  // is backwards. So this reason corroborates a mismatch with the text's words; it never flags on its own.
  const imageConflict =
    mentions.some((mention) => taxonomy.areRelated(mention.categoryId, declared)) &&
    top !== undefined &&
    top.score >= thresholds.mismatch &&
    declaredSupport < thresholds.pass &&
    !taxonomy.areRelated(top.categoryId, declared) &&
    !mentions.some((mention) => taxonomy.areRelated(mention.categoryId, top.categoryId));
  if (imageConflict) {
    raise('TEXT_IMAGE_CONFLICT', 'FLAGGED', `The listing text describes ${namedMentions(mentions)} but the image looks like ${topName} (${fmt(top.score)}).`);
  }

  // The merchant's history: a category this merchant (almost) never listed before.
  let merchant: TriageEvidence['merchant'];
  const profile = input.merchantProfile;
  if (profile !== undefined && profile.assets > 0) {
    const declaredCount = Object.entries(profile.categories)
      .filter(([categoryId]) => taxonomy.areRelated(categoryId, declared))
      .reduce((sum, [, count]) => sum + count, 0);
    const declaredShare = declaredCount / profile.assets;
    const anomaly = profile.assets >= policy.merchantProfile.minHistory && declaredShare < policy.merchantProfile.rareShare;
    merchant = { historyAssets: profile.assets, declaredShare: round(declaredShare), anomaly };
    if (anomaly) {
      raise(
        'MERCHANT_PROFILE_ANOMALY',
        'NEEDS_REVIEW',
        `${declaredName} is ${(declaredShare * 100).toFixed(1)}% of this merchant's ${profile.assets} earlier assets (rare below ${(policy.merchantProfile.rareShare * 100).toFixed(1)}%).`,
      );
    }
  }

  // Policy-sensitive content, whatever the metadata says; the borderline band goes to a person too.
  const policyEvidence = taxonomy.policyScores(input.policyLabels).map(({ policyClass, score }) => ({
    classId: policyClass.id,
    score,
    threshold: policyClass.reviewThreshold,
    borderlineThreshold: policyClass.borderlineThreshold,
    sensitive: score >= policyClass.reviewThreshold,
    borderline: score >= policyClass.borderlineThreshold && score < policyClass.reviewThreshold,
  }));
  const sensitive = policyEvidence.filter((entry) => entry.sensitive);
  if (sensitive.length > 0) {
    const named = sensitive.map((entry) => `${entry.classId} ${fmt(entry.score)} ≥ ${fmt(entry.threshold)}`);
    raise('POLICY_SENSITIVE', 'NEEDS_REVIEW', `Policy-sensitive content: ${named.join(', ')}.`);
  }
  const borderline = policyEvidence.filter((entry) => entry.borderline);
  if (borderline.length > 0) {
    const named = borderline.map((entry) => `${entry.classId} ${fmt(entry.score)} in [${fmt(entry.borderlineThreshold)}, ${fmt(entry.threshold)})`);
    raise('POLICY_BORDERLINE', 'NEEDS_REVIEW', `Borderline policy score: ${named.join(', ')}.`);
  }

  const auditSampled = outcome === 'AUTO_PASS' && input.sampleKey !== undefined && sampledForAudit(input.sampleKey, policy.auditSampleRate);
  if (reasons.length === 0) {
    sentences.push(`The image supports the declared ${declaredName} (${fmt(declaredSupport)}).`);
  }
  if (auditSampled) sentences.push('Sampled for a human audit of auto-passed assets.');
  return {
    outcome,
    reasons,
    explanation: sentences.join(' '),
    auditSampled,
    evidence: {
      category: {
        declaredCategoryId: declared,
        declaredSupport: round(declaredSupport),
        topCategoryId: top?.categoryId ?? null,
        topScore: round(top?.score ?? 0),
        scores: ranked.slice(0, 5).map((entry) => ({ categoryId: entry.categoryId, score: round(entry.score) })),
        thresholds,
      },
      text: { mentions, conflict: textConflict, imageConflict },
      policy: policyEvidence.map((entry) => ({ ...entry, score: round(entry.score) })),
      ...(merchant === undefined ? {} : { merchant }),
    },
  };
}

/** Deterministic sampling: the key's hash as a fraction in [0, 1) below the rate. */
export function sampledForAudit(sampleKey: string, rate: number): boolean {
  if (rate <= 0) return false;
  const fraction = createHash('sha256').update(sampleKey).digest().readUInt32BE(0) / 2 ** 32;
  return fraction < rate;
}

function fmt(score: number): string {
  return score.toFixed(2);
}

function round(score: number): number {
  return Math.round(score * 10_000) / 10_000;
}
