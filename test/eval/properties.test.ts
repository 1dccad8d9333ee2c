/**
 * Metamorphic properties of triage over the labelled set (a generated set, both model families): changes that can
 * only make a listing look MORE like its declared category never move its outcome toward FLAGGED, and renaming the
 * merchants of a batch consistently changes nothing. These keep out defects like the one found from outside (accurate
 * text — "Kitten looking for a home" on a photo that supports Pets — turning an AUTO_PASS into TEXT_IMAGE_CONFLICT).
 */
import { describe, expect, it } from 'vitest';
import { findDuplicates, type HashedAsset } from '../../lambdas/core/duplicates';
import type { LabelScores } from '../../lambdas/core/hf-contract';
import type { Outcome } from '../../lambdas/core/outcomes';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { triage, type MerchantProfile, type TriageInput } from '../../lambdas/core/triage';
import { loadTriagePolicy, type TriagePolicy } from '../../lambdas/core/triage-policy';
import { createRng, generateLabelledSet } from '../../eval/generator';
import { triageInputOf, type LabelledAsset } from '../../eval/labelled-set';

const taxonomy = loadTaxonomy();
const bundled = loadTriagePolicy();
/** No audit sampling, so the outcome is the decision alone. */
const policy: TriagePolicy = { ...bundled, auditSampleRate: 0 };
const assets = generateLabelledSet(taxonomy, { seed: 4242, assets: 900 }).assets;

const RANK: Record<Outcome, number> = { AUTO_PASS: 0, NEEDS_REVIEW: 1, FLAGGED: 2, REJECTED_INPUT: 3, FAILED: 3 };
const outcomeOf = (input: TriageInput, p: TriagePolicy = policy): Outcome => triage(input, taxonomy, p).outcome;

/** A word the text rule recognises as the declared category (its keyword, else a synonym, e.g. for parents). */
function agreeingWord(categoryId: string): string {
  const category = taxonomy.category(categoryId)!;
  return category.keywords[0] ?? category.synonyms[0]!;
}

/** Moves `delta` of probability mass onto the declared category's prompts, scaling every other label down. */
function withMoreDeclared(labels: LabelScores, declared: string, delta: number): LabelScores {
  const isDeclared = (label: string): boolean => {
    const category = taxonomy.categoryForPrompt(label);
    return category !== undefined && taxonomy.isSameOrDescendant(category.id, declared);
  };
  const own = labels.filter((l) => isDeclared(l.label));
  if (own.length === 0) return labels;
  const rest = labels.filter((l) => !isDeclared(l.label)).reduce((sum, l) => sum + l.score, 0);
  const moved = Math.min(delta, rest);
  const scale = rest === 0 ? 1 : (rest - moved) / rest;
  return labels
    .map((l) => (isDeclared(l.label) ? { label: l.label, score: l.score + moved / own.length } : { label: l.label, score: l.score * scale }))
    .sort((a, b) => b.score - a.score);
}

describe('metamorphic properties of triage over the labelled set', () => {
  it('listing text that agrees with the declared category never moves an outcome toward FLAGGED', () => {
    let changed = 0;
    for (const asset of assets) {
      const input = triageInputOf(asset);
      const word = agreeingWord(asset.listing.declaredCategoryId);
      const before = outcomeOf(input);
      const variants: Array<TriageInput['listing']> = [
        { ...input.listing, title: `${input.listing.title} ${word}` },
        { ...input.listing, title: `${word} looking for a home`, description: undefined },
        { ...input.listing, description: `${input.listing.description ?? ''} ${word}, as pictured.` },
      ];
      for (const listing of variants) {
        const after = outcomeOf({ ...input, listing });
        expect(RANK[after], `${asset.id} "${listing.title}" ${before} -> ${after}`).toBeLessThanOrEqual(RANK[before]);
        // Against neutral text too: agreeing words are never worse than saying nothing.
        const neutral = outcomeOf({ ...input, listing: { ...listing, title: 'Item 1', description: undefined } });
        expect(RANK[outcomeOf({ ...input, listing: { ...listing, title: word, description: undefined } })], asset.id).toBeLessThanOrEqual(RANK[neutral]);
        if (after !== before) changed += 1;
      }
    }
    // The property is not vacuous: agreeing text does settle some outcomes (TEXT_CATEGORY_CONFLICT cleared).
    expect(changed).toBeGreaterThan(0);
  });

  it('a higher score for the declared category never moves an outcome toward FLAGGED', () => {
    let changed = 0;
    for (const asset of assets) {
      const input = triageInputOf(asset);
      const before = outcomeOf(input);
      for (const delta of [0.02, 0.1, 0.3]) {
        const categoryLabels = withMoreDeclared(input.categoryLabels, input.listing.declaredCategoryId, delta);
        const after = outcomeOf({ ...input, categoryLabels });
        expect(RANK[after], `${asset.id} +${delta} ${before} -> ${after}`).toBeLessThanOrEqual(RANK[before]);
        if (after !== before) changed += 1;
      }
    }
    expect(changed).toBeGreaterThan(0);
  });

  it('renaming the merchants of a batch (one to one) changes nothing: triage, merchant profiles, duplicates', () => {
    const rng = createRng(99);
    const batch = assets.slice(0, 400);
    // Perceptual hashes with deliberate duplicates across listings (every 7th asset reuses an earlier image).
    const hashes = batch.map((_, index) => (index % 7 === 6 ? null : Array.from({ length: 16 }, () => '0123456789abcdef'[rng.int(16)]).join('')));
    const hashOf = (index: number): string => hashes[index] ?? hashes[index - 3] ?? hashes[0]!;
    const merchants = [...new Set(batch.map((a) => a.listing.merchantId))];
    const renamed = new Map(merchants.map((m, i) => [m, `renamed-${String(merchants.length - i).padStart(4, '0')}`]));
    const rename = (m: string): string => renamed.get(m)!;

    const profiles = (list: readonly LabelledAsset[], name: (m: string) => string): Map<string, MerchantProfile> => {
      const result = new Map<string, MerchantProfile>();
      for (const a of list) {
        const profile = result.get(name(a.listing.merchantId)) ?? { assets: 0, categories: {} };
        profile.assets += 1;
        profile.categories[a.listing.declaredCategoryId] = (profile.categories[a.listing.declaredCategoryId] ?? 0) + 1;
        result.set(name(a.listing.merchantId), profile);
      }
      return result;
    };
    const history = assets.slice(400, 900);
    const original = profiles(history, (m) => m);
    const renamedProfiles = profiles(history, rename);
    const hashed = (name: (m: string) => string): HashedAsset[] =>
      batch.map((a, index) => ({
        batchId: 'b-1',
        assetKey: a.id,
        merchantId: name(a.listing.merchantId),
        declaredCategoryId: a.listing.declaredCategoryId,
        perceptualHash: hashOf(index),
      }));

    for (const asset of batch) {
      const input = triageInputOf(asset);
      const a = triage({ ...input, merchantProfile: original.get(asset.listing.merchantId), sampleKey: `b-1#${asset.id}` }, taxonomy, bundled);
      const b = triage({ ...input, merchantProfile: renamedProfiles.get(rename(asset.listing.merchantId)), sampleKey: `b-1#${asset.id}` }, taxonomy, bundled);
      expect({ outcome: b.outcome, reasons: b.reasons, audit: b.auditSampled }, asset.id).toEqual({
        outcome: a.outcome,
        reasons: a.reasons,
        audit: a.auditSampled,
      });
    }
    const before = findDuplicates(
      hashed((m) => m),
      [],
      taxonomy,
      bundled.duplicates.nearDistance,
    );
    const after = findDuplicates(hashed(rename), [], taxonomy, bundled.duplicates.nearDistance);
    const reasonsByKey = (findings: typeof before) => Object.fromEntries(findings.map((f) => [f.assetKey, [...f.reasons].sort()]));
    expect(before.length).toBeGreaterThan(0);
    expect(reasonsByKey(after)).toEqual(reasonsByKey(before));
  });
});
