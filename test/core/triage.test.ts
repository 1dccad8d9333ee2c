import { mulberry32 } from '../support/random';
import { describe, expect, it } from 'vitest';
import type { LabelScores } from '../../lambdas/core/hf-contract';
import { REASON_CODES } from '../../lambdas/core/outcomes';
import { loadTaxonomy, parseTaxonomy } from '../../lambdas/core/taxonomy';
import { categoryScores, triage } from '../../lambdas/core/triage';
import type { TriageDecision, TriageInput } from '../../lambdas/core/triage';
import { loadTriagePolicy, parseTriagePolicy, thresholdsFor } from '../../lambdas/core/triage-policy';
import type { TriagePolicy } from '../../lambdas/core/triage-policy';

const taxonomy = loadTaxonomy();
const policy = loadTriagePolicy();
/** A model with no thresholds of its own, so the bundled `default` applies. */
const MODEL_ID = 'example/any-clip-model';
const COCO_VARIANT = 'local-centernet-coco80';

/** The first candidate label (clip prompt) of a category. */
function promptOf(categoryId: string): string {
  const prompt = taxonomy.category(categoryId)?.clipPrompts[0];
  if (prompt === undefined) throw new Error(`${categoryId} has no clip prompt`);
  return prompt;
}

/**
 * Zero-shot answer over the taxonomy's candidate labels: the given categories get their scores on their first prompt,
 * the remaining probability mass is spread evenly over every other candidate label. Sorted best first, like the
 * endpoint's answer.
 */
function labels(scores: Record<string, number>): LabelScores {
  const fixed = new Map(Object.entries(scores).map(([categoryId, score]) => [promptOf(categoryId), score]));
  const rest = taxonomy.candidateLabels().filter((label) => !fixed.has(label));
  const remaining = Math.max(0, 1 - [...fixed.values()].reduce((sum, s) => sum + s, 0));
  const spread = rest.length === 0 ? 0 : remaining / rest.length;
  return [...[...fixed].map(([label, score]) => ({ label, score })), ...rest.map((label) => ({ label, score: spread }))].sort((a, b) => b.score - a.score);
}

const CLEAN_POLICY: LabelScores = [
  { label: 'neutral', score: 0.9 },
  { label: 'drawings', score: 0.07 },
  { label: 'sexy', score: 0.02 },
  { label: 'porn', score: 0.01 },
];

function input(
  declaredCategoryId: string,
  categoryLabels: LabelScores,
  extra: { title?: string; description?: string; policyLabels?: LabelScores; variant?: string; modelId?: string } = {},
): TriageInput {
  return {
    listing: { declaredCategoryId, title: extra.title ?? 'Item 42', description: extra.description },
    categoryLabels,
    policyLabels: extra.policyLabels ?? CLEAN_POLICY,
    categoryModelId: extra.modelId ?? MODEL_ID,
    categoryModelVariant: extra.variant,
  };
}

function run(...args: Parameters<typeof input>): TriageDecision {
  return triage(input(...args), taxonomy, policy);
}

describe('triage: image vs declared category', () => {
  it('confident declared category -> AUTO_PASS with no reasons', () => {
    const decision = run('animals.pets', labels({ 'animals.pets': 0.9 }));
    expect(decision.outcome).toBe('AUTO_PASS');
    expect(decision.reasons).toEqual([]);
    expect(decision.explanation).toBe('The image supports the declared Pets (0.90).');
    expect(decision.evidence.text).toEqual({ mentions: [], conflict: false, imageConflict: false });
  });

  it('a confident child of the declared category is not a mismatch (declared vehicles, image boats)', () => {
    const decision = run('vehicles', labels({ 'vehicles.boats': 0.8 }));
    expect(decision.outcome).toBe('AUTO_PASS');
    expect(decision.reasons).toEqual([]);
    expect(decision.evidence.category.topCategoryId).toBe('vehicles.boats');
    // support = boats + vehicles + aircraft (its own prompt and both children)
    const spread = 0.2 / (taxonomy.candidateLabels().length - 1);
    expect(decision.evidence.category.declaredSupport).toBeCloseTo(0.8 + 2 * spread, 4);
  });

  it('support is summed over the declared parent and its children', () => {
    // neither child alone reaches pass (0.45), together they do; the top category is unrelated but below mismatch
    const decision = run('animals', labels({ 'animals.pets': 0.3, 'animals.farm': 0.3, food: 0.35 }));
    expect(decision.evidence.category.topCategoryId).toBe('food');
    expect(decision.evidence.category.declaredSupport).toBeCloseTo(0.6, 4);
    expect(decision.outcome).toBe('AUTO_PASS');
  });

  it('a confident unrelated category -> FLAGGED with CATEGORY_MISMATCH, naming both categories', () => {
    const decision = run('animals.pets', labels({ food: 0.85, 'animals.pets': 0.05 }));
    expect(decision.outcome).toBe('FLAGGED');
    expect(decision.reasons).toEqual(['CATEGORY_MISMATCH']);
    expect(decision.explanation).toBe('The image looks like Food (0.85), not the declared Pets (0.05).');
    expect(decision.evidence.category).toMatchObject({ declaredCategoryId: 'animals.pets', topCategoryId: 'food', topScore: 0.85, declaredSupport: 0.05 });
  });

  it('a sibling category is a mismatch (declared pets, image farm animals)', () => {
    const decision = run('animals.pets', labels({ 'animals.farm': 0.9 }));
    expect(decision.reasons).toEqual(['CATEGORY_MISMATCH']);
    expect(decision.explanation).toContain('Farm animals');
  });

  it('a flat distribution -> NEEDS_REVIEW with LOW_CONFIDENCE', () => {
    const decision = run('animals.pets', labels({}));
    expect(decision.outcome).toBe('NEEDS_REVIEW');
    expect(decision.reasons).toEqual(['LOW_CONFIDENCE']);
    expect(decision.explanation).toMatch(/^The image model is not confident about any category \(best: .+ at 0\.06, below 0\.35\)\.$/);
  });

  it('no labels at all -> LOW_CONFIDENCE with top "nothing"', () => {
    const decision = run('animals.pets', []);
    expect(decision.outcome).toBe('NEEDS_REVIEW');
    expect(decision.reasons).toEqual(['LOW_CONFIDENCE']);
    expect(decision.explanation).toContain('best: nothing at 0.00');
    expect(decision.evidence.category).toMatchObject({ topCategoryId: null, topScore: 0, declaredSupport: 0, scores: [] });
  });

  it('an unrelated top category below the mismatch threshold -> LOW_CONFIDENCE, not a mismatch', () => {
    const decision = run('animals.pets', labels({ food: 0.5, 'animals.pets': 0.3 }));
    expect(decision.outcome).toBe('NEEDS_REVIEW');
    expect(decision.reasons).toEqual(['LOW_CONFIDENCE']);
    expect(decision.explanation).toContain('neither confirms the declared Pets (0.30, needs 0.45)');
  });

  it('a confident parent of the declared category is not a mismatch but does not confirm it either', () => {
    const decision = run('vehicles.boats', labels({ vehicles: 0.9 }));
    expect(decision.reasons).toEqual(['LOW_CONFIDENCE']);
    expect(decision.outcome).toBe('NEEDS_REVIEW');
  });

  it('exactly at the thresholds: top = mismatch flags, support = pass passes', () => {
    expect(run('animals.pets', labels({ food: 0.55, 'animals.pets': 0.1 })).reasons).toEqual(['CATEGORY_MISMATCH']);
    expect(run('animals.pets', labels({ 'animals.pets': 0.45, food: 0.4 })).outcome).toBe('AUTO_PASS');
  });
});

describe('triage: listing text', () => {
  const confidentPets = labels({ 'animals.pets': 0.9 });

  it('text mentioning only another category -> TEXT_CATEGORY_CONFLICT (NEEDS_REVIEW)', () => {
    const decision = run('animals.pets', confidentPets, { title: 'Vintage poster' });
    expect(decision.outcome).toBe('NEEDS_REVIEW');
    expect(decision.reasons).toEqual(['TEXT_CATEGORY_CONFLICT']);
    expect(decision.explanation).toBe('The listing text points to Art and prints ("poster"), not the declared Pets.');
    expect(decision.evidence.text).toEqual({ mentions: [{ categoryId: 'art', matched: ['poster'] }], conflict: true, imageConflict: false });
  });

  it('reads the description as well as the title', () => {
    const decision = run('food', labels({ food: 0.9 }), { title: 'Item 42', description: 'Fluffy kitten, 8 weeks' });
    expect(decision.reasons).toEqual(['TEXT_CATEGORY_CONFLICT']);
  });

  it("text mentioning the declared category's keyword -> no conflict, even with other mentions", () => {
    const decision = run('animals.pets', confidentPets, { title: 'Cat poster' });
    expect(decision.outcome).toBe('AUTO_PASS');
    expect(decision.reasons).toEqual([]);
    expect(decision.evidence.text.conflict).toBe(false);
    expect(decision.evidence.text.mentions.map((m) => m.categoryId)).toEqual(['animals.pets', 'art']);
  });

  it('text mentioning a child of the declared category -> no conflict', () => {
    const decision = run('vehicles', labels({ vehicles: 0.9 }), { title: 'Old fishing boat' });
    expect(decision.reasons).toEqual([]);
  });

  it('"catalog" is not a mention of "cat"', () => {
    const decision = run('books', labels({ books: 0.9 }), { title: 'Seed catalog' });
    // "seed" is a garden keyword, "catalog" must not add pets
    expect(decision.evidence.text.mentions).toEqual([{ categoryId: 'home.garden', matched: ['seed'] }]);
  });

  it('needs textConflictMinKeywordHits hits', () => {
    const strict: TriagePolicy = { ...policy, textConflictMinKeywordHits: 2 };
    const one = triage(input('animals.pets', confidentPets, { title: 'Vintage poster' }), taxonomy, strict);
    expect(one.reasons).toEqual([]);
    const two = triage(input('animals.pets', confidentPets, { title: 'Vintage poster on canvas' }), taxonomy, strict);
    expect(two.reasons).toEqual(['TEXT_CATEGORY_CONFLICT']);
  });
});

describe('triage: policy', () => {
  const clean = labels({ 'animals.pets': 0.9 });

  /** The bundled sexual_explicit borderline threshold (calibrated: `npm run eval -- --calibrate`), read, not restated. */
  const explicitBand = taxonomy.policyClasses.find((c) => c.id === 'sexual_explicit')!.borderlineThreshold;

  it('a policy class at or above its threshold -> POLICY_SENSITIVE even when everything else is clean', () => {
    const decision = run('animals.pets', clean, {
      policyLabels: [
        { label: 'neutral', score: 0.5 },
        { label: 'porn', score: 0.25 },
        { label: 'NSFW', score: 0.2 },
        { label: 'sexy', score: 0.05 },
      ],
    });
    expect(decision.outcome).toBe('NEEDS_REVIEW');
    expect(decision.reasons).toEqual(['POLICY_SENSITIVE']);
    expect(decision.explanation).toBe('Policy-sensitive content: sexual_explicit 0.45 ≥ 0.40.');
    expect(decision.evidence.policy).toEqual([
      { classId: 'sexual_explicit', score: 0.45, threshold: 0.4, borderlineThreshold: explicitBand, sensitive: true, borderline: false },
      { classId: 'suggestive', score: 0.05, threshold: 0.6, borderlineThreshold: 0.1, sensitive: false, borderline: false },
    ]);
  });

  it('exactly at the threshold is sensitive; the band below it is borderline; below the band is clean', () => {
    const at = run('animals.pets', clean, { policyLabels: [{ label: 'sexy', score: 0.6 }] });
    expect(at.reasons).toEqual(['POLICY_SENSITIVE']);
    const band = run('animals.pets', clean, {
      policyLabels: [
        { label: 'sexy', score: 0.59 },
        { label: 'porn', score: 0.39 },
      ],
    });
    expect(band.outcome).toBe('NEEDS_REVIEW');
    expect(band.reasons).toEqual(['POLICY_BORDERLINE']);
    expect(band.evidence.policy.every((p) => !p.sensitive && p.borderline)).toBe(true);
    expect(band.explanation).toContain(`sexual_explicit 0.39 in [${explicitBand.toFixed(2)}, 0.40)`);
    const below = run('animals.pets', clean, {
      policyLabels: [
        { label: 'sexy', score: 0.09 },
        { label: 'porn', score: explicitBand - 0.01 },
      ],
    });
    expect(below.outcome).toBe('AUTO_PASS');
    expect(below.reasons).toEqual([]);
  });

  it('names every sensitive class', () => {
    const decision = run('animals.pets', clean, {
      policyLabels: [
        { label: 'hentai', score: 0.5 },
        { label: 'sexy', score: 0.7 },
      ],
    });
    expect(decision.reasons).toEqual(['POLICY_SENSITIVE']);
    expect(decision.explanation).toBe('Policy-sensitive content: sexual_explicit 0.50 ≥ 0.40, suggestive 0.70 ≥ 0.60.');
  });

  it('mismatch + policy -> FLAGGED with both reasons', () => {
    const decision = run('animals.pets', labels({ food: 0.9 }), { policyLabels: [{ label: 'porn', score: 0.8 }] });
    expect(decision.outcome).toBe('FLAGGED');
    expect(decision.reasons).toEqual(['CATEGORY_MISMATCH', 'POLICY_SENSITIVE']);
  });

  it('mismatch + text conflict + policy -> FLAGGED with all three, in signal order', () => {
    const decision = run('animals.pets', labels({ food: 0.9 }), { title: 'Pizza', policyLabels: [{ label: 'porn', score: 0.8 }] });
    expect(decision.outcome).toBe('FLAGGED');
    expect(decision.reasons).toEqual(['CATEGORY_MISMATCH', 'TEXT_CATEGORY_CONFLICT', 'POLICY_SENSITIVE']);
    expect(decision.explanation.split('. ').length).toBeGreaterThanOrEqual(3);
  });

  it('low confidence + text conflict -> NEEDS_REVIEW with both', () => {
    const decision = run('animals.pets', labels({}), { title: 'Laptop' });
    expect(decision.outcome).toBe('NEEDS_REVIEW');
    expect(decision.reasons).toEqual(['LOW_CONFIDENCE', 'TEXT_CATEGORY_CONFLICT']);
  });
});

describe('thresholdsFor and per-model thresholds', () => {
  const custom = parseTriagePolicy({
    version: 't',
    categoryModels: {
      default: { lowConfidence: 0.1, mismatch: 0.2, pass: 0.3 },
      'model-x': { lowConfidence: 0.4, mismatch: 0.5, pass: 0.6 },
      'variant-y': { lowConfidence: 0.7, mismatch: 0.8, pass: 0.9 },
    },
    textConflictMinKeywordHits: 1,
    auditSampleRate: 0,
    merchantProfile: { minHistory: 20, rareShare: 0.02 },
    duplicates: { nearDistance: 4 },
  });

  it('looks up the variant first, then the model id, then default', () => {
    expect(thresholdsFor(custom, 'model-x', 'variant-y').pass).toBe(0.9);
    expect(thresholdsFor(custom, 'other-model', 'variant-y').pass).toBe(0.9);
    expect(thresholdsFor(custom, 'model-x', 'unknown-variant').pass).toBe(0.6);
    expect(thresholdsFor(custom, 'model-x').pass).toBe(0.6);
    expect(thresholdsFor(custom, 'model-x', '').pass).toBe(0.6);
    expect(thresholdsFor(custom, 'other-model', 'unknown-variant').pass).toBe(0.3);
    expect(thresholdsFor(custom, 'other-model')).toEqual({ lowConfidence: 0.1, mismatch: 0.2, pass: 0.3 });
  });

  it('the bundled policy has the local detector variant and a default', () => {
    expect(thresholdsFor(policy, MODEL_ID, COCO_VARIANT)).toEqual({ lowConfidence: 0.2, mismatch: 0.3, pass: 0.25 });
    expect(thresholdsFor(policy, MODEL_ID)).toEqual({ lowConfidence: 0.35, mismatch: 0.55, pass: 0.45 });
    // calibrated on the eval's calibration split for the deployed CLIP model (npm run eval -- --calibrate)
    expect(thresholdsFor(policy, 'openai/clip-vit-base-patch32', 'AllTraffic')).toEqual({ lowConfidence: 0.2, mismatch: 0.4, pass: 0.2 });
    expect(thresholdsFor(policy, COCO_VARIANT)).toEqual(thresholdsFor(policy, MODEL_ID, COCO_VARIANT));
  });

  it('triage uses the answering variant: same scores, different outcome', () => {
    const scores = labels({ 'animals.pets': 0.3 });
    const byDefault = run('animals.pets', scores);
    const byVariant = run('animals.pets', scores, { variant: COCO_VARIANT });
    expect(byDefault.outcome).toBe('NEEDS_REVIEW');
    expect(byDefault.reasons).toEqual(['LOW_CONFIDENCE']);
    expect(byDefault.evidence.category.thresholds).toEqual({ lowConfidence: 0.35, mismatch: 0.55, pass: 0.45 });
    expect(byVariant.outcome).toBe('AUTO_PASS');
    expect(byVariant.reasons).toEqual([]);
    expect(byVariant.evidence.category.thresholds).toEqual({ lowConfidence: 0.2, mismatch: 0.3, pass: 0.25 });
  });

  it('a mismatch only under the variant thresholds', () => {
    const scores = labels({ food: 0.4, 'animals.pets': 0.1 });
    expect(run('animals.pets', scores).reasons).toEqual(['LOW_CONFIDENCE']);
    expect(run('animals.pets', scores, { variant: COCO_VARIANT })).toMatchObject({ outcome: 'FLAGGED', reasons: ['CATEGORY_MISMATCH'] });
  });

  it('parseTriagePolicy refuses a policy without default or with lowConfidence above mismatch', () => {
    expect(() =>
      parseTriagePolicy({ version: 'v', categoryModels: { x: { lowConfidence: 0.1, mismatch: 0.2, pass: 0.3 } }, textConflictMinKeywordHits: 1 }),
    ).toThrow(/categoryModels needs a "default" entry/);
    expect(() =>
      parseTriagePolicy({ version: 'v', categoryModels: { default: { lowConfidence: 0.6, mismatch: 0.5, pass: 0.3 } }, textConflictMinKeywordHits: 1 }),
    ).toThrow(/lowConfidence must not exceed mismatch/);
    expect(() =>
      parseTriagePolicy({ version: 'v', categoryModels: { default: { lowConfidence: 0.1, mismatch: 0.5, pass: 0.3 } }, textConflictMinKeywordHits: 0 }),
    ).toThrow(/textConflictMinKeywordHits/);
  });
});

describe('triage evidence', () => {
  it('reports declared support, the top category and at most 5 scores sorted best first, rounded to 4 places', () => {
    const decision = run(
      'vehicles',
      labels({ 'vehicles.boats': 0.4, vehicles: 0.2, 'vehicles.aircraft': 0.1, food: 0.12345678, books: 0.05, toys: 0.04, art: 0.03 }),
    );
    const { category } = decision.evidence;
    expect(category.topCategoryId).toBe('vehicles.boats');
    expect(category.topScore).toBe(0.4);
    expect(category.declaredSupport).toBeCloseTo(0.7, 4);
    expect(category.scores).toHaveLength(5);
    expect(category.scores.map((s) => s.categoryId)).toEqual(['vehicles.boats', 'vehicles', 'food', 'vehicles.aircraft', 'books']);
    expect(category.scores[2]!.score).toBe(0.1235);
    for (let i = 1; i < category.scores.length; i += 1) expect(category.scores[i - 1]!.score).toBeGreaterThanOrEqual(category.scores[i]!.score);
  });

  it('categoryScores sums every prompt of a category and ignores labels that are not candidate labels', () => {
    const two = parseTaxonomy({
      version: 't',
      categories: [
        { id: 'a', name: 'A', synonyms: [], keywords: [], clipPrompts: ['a one', 'a two'], detectorLabels: [] },
        { id: 'b', name: 'B', synonyms: [], keywords: [], clipPrompts: ['b one'], detectorLabels: [] },
      ],
      policyClasses: [{ id: 'p', name: 'P', modelLabels: ['nsfw'], reviewThreshold: 0.5, borderlineThreshold: 0.3 }],
    });
    const scores = categoryScores(two, [
      { label: 'a one', score: 0.3 },
      { label: 'a two', score: 0.25 },
      { label: 'b one', score: 0.4 },
      { label: 'stranger', score: 0.05 },
    ]);
    expect(Object.fromEntries(scores)).toEqual({ a: 0.55, b: 0.4 });
    expect(categoryScores(two, [{ label: 'stranger', score: 1 }]).size).toBe(0);
    const decision = triage(
      {
        listing: { declaredCategoryId: 'a', title: 't' },
        categoryLabels: [
          { label: 'a one', score: 0.3 },
          { label: 'a two', score: 0.3 },
          { label: 'b one', score: 0.4 },
        ],
        policyLabels: [],
        categoryModelId: 'm',
      },
      two,
      policy,
    );
    // per prompt, b (0.4) would win; per category, a (0.6) does
    expect(decision.evidence.category.topCategoryId).toBe('a');
    expect(decision.outcome).toBe('AUTO_PASS');
  });
});

describe('triage invariants over random label distributions', () => {
  it('AUTO_PASS iff no reasons; reasons are known codes; FLAGGED implies an image contradiction', () => {
    const random = mulberry32(20_261_123);
    const categoryIds = taxonomy.categories.map((c) => c.id);
    const prompts = taxonomy.candidateLabels();
    const words = ['Item', 'cat', 'poster', 'boat', 'laptop', 'pizza', 'catalog', 'watch', 'sofa', 'new', 'vintage', 'kitten', 'car'];
    const policyLabelNames = ['porn', 'hentai', 'NSFW', 'sexy', 'neutral', 'drawings'];
    const seen = new Map<string, number>();
    const codes = new Set(Object.keys(REASON_CODES));

    for (let run = 0; run < 2_000; run += 1) {
      // peaky or flat distributions: weights raised to a random power, normalized to sum 1
      const power = 1 + random() * 8;
      const weights = prompts.map(() => random() ** power);
      const total = weights.reduce((sum, w) => sum + w, 0);
      const categoryLabels = prompts.map((label, i) => ({ label, score: weights[i]! / total })).sort((a, b) => b.score - a.score);
      const title = Array.from({ length: 1 + Math.floor(random() * 3) }, () => words[Math.floor(random() * words.length)]!).join(' ');
      // mostly low policy scores (clean photos), sometimes high: every band gets exercised
      const policyLabels = policyLabelNames.map((label) => ({ label, score: random() < 0.9 ? random() * 0.05 : random() }));
      const variant = random() < 0.3 ? COCO_VARIANT : undefined;
      const declared = categoryIds[Math.floor(random() * categoryIds.length)]!;

      const decision = triage(input(declared, categoryLabels, { title, policyLabels, variant }), taxonomy, policy);
      const context = JSON.stringify({ run, declared, title, outcome: decision.outcome, reasons: decision.reasons });
      seen.set(decision.outcome, (seen.get(decision.outcome) ?? 0) + 1);

      expect(decision.outcome === 'AUTO_PASS', context).toBe(decision.reasons.length === 0);
      expect(['AUTO_PASS', 'FLAGGED', 'NEEDS_REVIEW'], context).toContain(decision.outcome);
      for (const reason of decision.reasons) expect(codes.has(reason), context).toBe(true);
      expect(new Set(decision.reasons).size, context).toBe(decision.reasons.length);
      if (decision.outcome === 'FLAGGED') {
        expect(
          decision.reasons.some((r) => r === 'CATEGORY_MISMATCH' || r === 'TEXT_IMAGE_CONFLICT'),
          context,
        ).toBe(true);
      }
      if (decision.reasons.includes('CATEGORY_MISMATCH')) expect(decision.outcome, context).toBe('FLAGGED');
      if (decision.outcome === 'NEEDS_REVIEW') expect(decision.reasons, context).not.toContain('CATEGORY_MISMATCH');
      // the image signal yields at most one of its two codes
      expect(decision.reasons.includes('LOW_CONFIDENCE') && decision.reasons.includes('CATEGORY_MISMATCH'), context).toBe(false);
      // the codes agree with the evidence
      expect(decision.reasons.includes('TEXT_CATEGORY_CONFLICT'), context).toBe(decision.evidence.text.conflict);
      expect(decision.reasons.includes('POLICY_SENSITIVE'), context).toBe(decision.evidence.policy.some((p) => p.sensitive));
      const { category } = decision.evidence;
      expect(category.scores.length, context).toBeLessThanOrEqual(5);
      for (let i = 1; i < category.scores.length; i += 1) expect(category.scores[i - 1]!.score).toBeGreaterThanOrEqual(category.scores[i]!.score);
      expect(category.topCategoryId).toBe(category.scores[0]?.categoryId ?? null);
      expect(category.declaredSupport).toBeLessThanOrEqual(1.0001);
      expect(category.thresholds).toEqual(thresholdsFor(policy, MODEL_ID, variant));
      expect(decision.explanation.length).toBeGreaterThan(0);
    }
    // the generator reaches every triage outcome
    expect([...seen.keys()].sort()).toEqual(['AUTO_PASS', 'FLAGGED', 'NEEDS_REVIEW']);
  });
});

describe('threshold lookup only considers the policy’s own keys', () => {
  it('falls back to default for names that exist on Object.prototype', async () => {
    const { thresholdsFor, loadTriagePolicy } = await import('../../lambdas/core/triage-policy');
    const policy = loadTriagePolicy();
    expect(thresholdsFor(policy, 'toString')).toEqual(policy.categoryModels['default']);
    expect(thresholdsFor(policy, 'm', 'constructor')).toEqual(policy.categoryModels['default']);
  });
});

describe('triage: listing text vs the image', () => {
  it('text backing the declared category, contradicted by a confident image -> FLAGGED with TEXT_IMAGE_CONFLICT', () => {
    const decision = run('fashion.watches', labels({ 'fashion.bags': 0.9 }), { title: 'Swiss wristwatch, leather strap' });
    expect(decision.outcome).toBe('FLAGGED');
    expect(decision.reasons).toEqual(['CATEGORY_MISMATCH', 'TEXT_IMAGE_CONFLICT']);
    expect(decision.evidence.text.imageConflict).toBe(true);
    expect(decision.explanation).toContain('describes Watches ("wristwatch")');
    expect(decision.explanation).toContain('image looks like Bags and luggage (0.90)');
  });

  it('accurate text never makes the outcome worse: a photo that supports the declared Pets stays AUTO_PASS whatever it is called', () => {
    // The defect found from outside: the image supports Pets above the pass threshold but a sibling (farm animals)
    // scores higher and above the mismatch threshold. "Looking for a home" passed; "Kitten looking for a home" and
    // "Tabby cat" were FLAGGED as TEXT_IMAGE_CONFLICT, so accurate words made the outcome worse.
    const thresholds = { lowConfidence: 0.15, mismatch: 0.5, pass: 0.2 };
    const strict: TriagePolicy = { ...policy, categoryModels: { default: thresholds } };
    const photo = labels({ 'animals.farm': 0.6, 'animals.pets': 0.3 });
    for (const title of ['Looking for a home', 'Kitten looking for a home', 'Tabby cat']) {
      const decision = triage(input('animals.pets', photo, { title }), taxonomy, strict);
      expect(decision.outcome, title).toBe('AUTO_PASS');
      expect(decision.evidence.text.imageConflict, title).toBe(false);
    }
    // When the image does not support the declared category, the text still corroborates the mismatch.
    const lie = triage(input('animals.pets', labels({ food: 0.8, 'animals.pets': 0.05 }), { title: 'Kitten looking for a home' }), taxonomy, strict);
    expect(lie.reasons).toEqual(['CATEGORY_MISMATCH', 'TEXT_IMAGE_CONFLICT']);
  });

  it('no text-image conflict when the image agrees with the text, or is not confident', () => {
    expect(run('fashion.watches', labels({ 'fashion.watches': 0.9 }), { title: 'Swiss wristwatch' }).evidence.text.imageConflict).toBe(false);
    expect(run('fashion.watches', labels({}), { title: 'Swiss wristwatch' }).reasons).toEqual(['LOW_CONFIDENCE']);
  });
});

describe('triage: merchant profile', () => {
  const pets = labels({ 'animals.pets': 0.9 });
  const withProfile = (profile: { assets: number; categories: Record<string, number> }) =>
    triage({ ...input('animals.pets', pets), merchantProfile: profile }, taxonomy, policy);

  it('flags a category the merchant has (almost) never listed, once the history is long enough', () => {
    const decision = withProfile({ assets: 200, categories: { electronics: 198, 'animals.farm': 1, 'animals.pets': 1 } });
    expect(decision.outcome).toBe('NEEDS_REVIEW');
    expect(decision.reasons).toEqual(['MERCHANT_PROFILE_ANOMALY']);
    expect(decision.evidence.merchant).toEqual({ historyAssets: 200, declaredShare: 0.005, anomaly: true });
    expect(decision.explanation).toContain("0.5% of this merchant's 200 earlier assets");
  });

  it('counts related categories (parent or children) as the same line of business, and trusts no short history', () => {
    expect(withProfile({ assets: 200, categories: { electronics: 190, animals: 10 } }).reasons).toEqual([]);
    expect(withProfile({ assets: 10, categories: { electronics: 10 } }).reasons).toEqual([]);
    expect(withProfile({ assets: 10, categories: { electronics: 10 } }).evidence.merchant?.anomaly).toBe(false);
    expect(triage(input('animals.pets', pets), taxonomy, policy).evidence.merchant).toBeUndefined();
  });
});

describe('triage: audit sampling of auto-passed assets', () => {
  const pets = labels({ 'animals.pets': 0.9 });

  it('is deterministic per key and samples about the configured share, only among AUTO_PASS', () => {
    const rate = 0.1;
    const sampling: TriagePolicy = { ...policy, auditSampleRate: rate };
    let sampled = 0;
    for (let i = 0; i < 4_000; i += 1) {
      const decision = triage({ ...input('animals.pets', pets), sampleKey: `batch-1#row-${i}` }, taxonomy, sampling);
      const again = triage({ ...input('animals.pets', pets), sampleKey: `batch-1#row-${i}` }, taxonomy, sampling);
      expect(again.auditSampled).toBe(decision.auditSampled);
      if (decision.auditSampled) {
        sampled += 1;
        expect(decision.outcome).toBe('AUTO_PASS');
        expect(decision.explanation).toContain('Sampled for a human audit');
      }
    }
    expect(sampled / 4_000).toBeGreaterThan(rate * 0.8);
    expect(sampled / 4_000).toBeLessThan(rate * 1.2);
    const flagged = triage({ ...input('animals.pets', labels({ food: 0.9 })), sampleKey: 'k' }, taxonomy, { ...policy, auditSampleRate: 1 });
    expect(flagged.auditSampled).toBe(false);
    expect(triage({ ...input('animals.pets', pets), sampleKey: 'k' }, taxonomy, { ...policy, auditSampleRate: 0 }).auditSampled).toBe(false);
    expect(triage(input('animals.pets', pets), taxonomy, { ...policy, auditSampleRate: 1 }).auditSampled).toBe(false);
  });
});
