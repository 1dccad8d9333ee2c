/**
 * Seeded generator of the synthetic part of the labelled evaluation set (eval/data/labelled-set.json).
 *
 * WHAT IT MAKES. Each asset is a merchant listing (merchant, declared category, title/description) with its ground
 * truth (true category, true policy class or none, whether the listing is misrepresented) and the outputs the two
 * models of one family would have answered, shaped like that family's outputs:
 *
 * - `clip` family (the deployed stack):
 *   - category: zero-shot CLIP = a softmax over ALL the taxonomy's candidate labels (`taxonomy.candidateLabels()`)
 *     of `sim / TEMPERATURE`, where `sim` is a cosine-like image-text similarity: a shared base, per-prompt noise
 *     N(0, PROMPT_NOISE), plus a boost for the true category's prompt whose size depends on how easy the image is,
 *     and sometimes a boost for a confusable category (a sibling such as pets/farm, or a listed look-alike such as
 *     food/kitchen). TEMPERATURE is 0.01, i.e. CLIP's learned logit scale of 100.
 *   - policy: `Falconsai/nsfw_image_detection` = a 2-label softmax (`normal`, `nsfw`), returned top-k (k = 2).
 * - `detector` family (the local mode):
 *   - category: COCO-80 detections (the true category's detector labels at a score that depends on how easy the
 *     image is, spurious detections of unmapped labels such as `person`, sometimes a spurious mapped label) passed
 *     through the stand-in's own `zeroShotFromDetections`, so the answer has exactly the stand-in's shape (a peaked
 *     answer when something mapped is seen, a flat 1/N answer when nothing is, never anything for categories without
 *     detector labels such as art prints and watches).
 *   - policy: nsfwjs = a 5-label softmax (`drawing`, `hentai`, `neutral`, `porn`, `sexy`), returned top-k (k = 5).
 *
 * MIX (exact counts per family, largest-remainder rounding; see MIX): 82% clean truthful listings, 8% ambiguous
 * truthful listings (hard images, parent-category declarations, art prints depicting another category, neutral text),
 * 6% misrepresented listings, 3% policy-sensitive truthful listings, 1% both policy-sensitive and misrepresented.
 * The families are split 4:1 (clip:detector): the deployed model is what production runs; the detector family is
 * there to check the local thresholds (with the real outputs of eval/real-outputs.ts, also detector family).
 *
 * WHY THIS MIX, NOT ~15% MISREPRESENTED. The floors ask for mismatch recall >= 97%, policy recall = 100% and a review
 * rate <= 15% on the same set. With 15% misrepresented and 5% policy-sensitive assets a perfect triage already sends
 * 0.97 x 15% + 5% ~ 19.6% to review, so no thresholds could pass: a review-rate floor only means something at a
 * realistic prevalence. The rule used here: enough positives to measure recall (1,000 assets give ~70
 * misrepresented and ~40 policy-sensitive ones, plus the real set's), and prevalences otherwise as low as that
 * allows (a real stream has fewer positives still). About 10% of the set must reach a person; the rest of the
 * 15% budget is what false alarms (ambiguous listings, the detector's blind spots) may use.
 *
 * DETERMINISM. A small PRNG (mulberry32) seeded per asset from (seed, index), so changing how one asset is made does
 * not reshuffle the others; numbers are rounded to 6 decimals when written. Same seed, same taxonomy, same bytes.
 *
 * LIMITS (read before trusting a number; also in eval/README.md):
 * - The score SHAPES follow each model family; the score DISTRIBUTIONS (how peaked, how often confused, how often a
 *   suggestive image scores `nsfw`) are assumptions written below as constants, not measurements of CLIP, Falconsai
 *   or nsfwjs on real merchant photos. The metrics measure the triage rules and thresholds against those assumptions.
 *   Thresholds tuned on this set are tuned to the assumptions: calibrate on real labelled traffic before trusting them.
 * - Errors are independent per asset; real models fail in correlated ways (a merchant's whole catalogue shot the
 *   same way, a product type CLIP never learned), which a set like this cannot show.
 * - The text is built from the taxonomy's own keywords, so the text rule sees cleaner text than merchants write.
 * - Prevalences (the mix) are chosen, not observed; precision and the review rate depend on them directly.
 * - Policy-sensitive images exist only as scores: no such image is, or can be, in the repository.
 * The real part of the set (eval/real-outputs.ts) is the check on the shapes: real outputs of the local models.
 */
import type { LabelScores } from '../lambdas/core/hf-contract';
import type { Category, Taxonomy } from '../lambdas/core/taxonomy';
import { CITED, clipTop1, probit } from './score-models';
import { zeroShotFromDetections } from '../local/sagemaker/zero-shot-from-detections';
import { MODEL_FAMILIES, bestFirst, roundScore, type Difficulty, type LabelledAsset, type LabelledSetFile, type ModelFamily } from './labelled-set';

export const GENERATOR_VERSION = '2';
export const DEFAULT_SEED = 20261101;
export const DEFAULT_ASSET_COUNT = 1000;

/** Scenario shares (truth mix) of every family; sums to 1. */
export const MIX = {
  clean: 0.82,
  ambiguous: 0.08,
  misrepresented: 0.06,
  policy: 0.03,
  both: 0.01,
} as const;
export type ScenarioKind = keyof typeof MIX;

/** Share of each model family in the set. */
export const FAMILY_SHARES: Record<ModelFamily, number> = { clip: 0.8, detector: 0.2 };

// ------------------------------------------------------------------------------------------------ assumptions

/** CLIP's softmax temperature (1 / logit scale 100). */
export const TEMPERATURE = 0.01;
/**
 * Scale of the true category's similarity boost (TRUE_BOOST x this). It is not a free choice: it is fitted (by
 * `fitClipSignal`, bisection) so that the generated set's zero-shot top-1 accuracy on truthful CLIP-family images
 * matches the cited figure for the deployed model (eval/score-models.ts, CITED.clipTop1); a test re-fits it and
 * fails when the generator drifts from the citation.
 */
export const CLIP_SIGNAL = 0.802;
/** Standard deviation of the per-prompt image-text similarity noise. */
const PROMPT_NOISE = 0.01;
const BASE_SIMILARITY = 0.2;
/** Similarity boost of the true category's prompt, per difficulty (uniform in the range). */
const TRUE_BOOST: Record<Difficulty, [number, number]> = { easy: [0.05, 0.09], medium: [0.025, 0.05], hard: [0.01, 0.035] };
/** Probability that a medium image also lifts a confusable category a little (up to 60% of the true boost). */
const MEDIUM_CONFUSION = 0.5;

/** Difficulty mix per scenario. */
const DIFFICULTY: Record<'clean' | 'misrepresented' | 'policy', Array<[Difficulty, number]>> = {
  clean: [
    ['easy', 0.7],
    ['medium', 0.3],
  ],
  misrepresented: [
    ['easy', 0.55],
    ['medium', 0.35],
    ['hard', 0.1],
  ],
  policy: [
    ['easy', 0.6],
    ['medium', 0.4],
  ],
};

/**
 * Look-alikes beyond the taxonomy's own structure (siblings and parent/child are confusable by construction): pairs
 * a zero-shot model plausibly mixes up. Symmetric.
 */
export const EXTRA_CONFUSABLES: Array<[string, string]> = [
  ['toys', 'animals.pets'],
  ['toys', 'sports'],
  ['food', 'home.kitchen'],
  ['fashion.watches', 'electronics'],
  ['fashion.bags', 'sports'],
  ['books', 'art'],
  ['books', 'electronics'],
  ['art', 'home.garden'],
  ['art', 'vehicles.boats'],
  ['art', 'animals.farm'],
  ['home.garden', 'food'],
];

/** Categories an art print in the set may depict (the "depiction" ambiguity). */
const DEPICTED_IN_ART = ['vehicles.boats', 'animals.farm', 'home.garden', 'vehicles.aircraft', 'animals.pets', 'food'];

/** COCO labels that map to no taxonomy category: the detector's usual spurious finds (`person` most of all). */
const UNMAPPED_DETECTOR_LABELS: Array<[string, number]> = [
  ['person', 6],
  ['traffic light', 1],
  ['clock', 1],
  ['elephant', 1],
  ['zebra', 1],
  ['giraffe', 1],
  ['bear', 1],
  ['toilet', 1],
  ['scissors', 1],
  ['stop sign', 1],
];

/**
 * Falconsai: logit(nsfw) - logit(normal) ~ N(-mu, sd) for a normal image and N(+mu, sd) for a policy-sensitive one,
 * with mu = sd x probit(accuracy), so that the top-1 answer is right with exactly the model card's published
 * accuracy (eval/score-models.ts, CITED.falconsaiAccuracy) on either class. Assumptions: the errors are split evenly
 * between the classes, the logit gap is normal, and "suggestive" images (which a binary normal/nsfw model has no
 * class for) are as detectable as explicit ones. SD only sets where the scores sit, not the error rates at a given
 * quantile, so every threshold trade-off follows from the published accuracy.
 */
export const FALCONSAI_LOGIT_SD = 2;

/** nsfwjs logits (mean, sd) per label, per truth. */
const NSFWJS_LOGITS: Record<'none' | 'art' | 'sexual_explicit' | 'suggestive', Record<string, [number, number]>> = {
  none: { drawing: [1, 1.5], hentai: [-3, 1], neutral: [4, 1], porn: [-2.5, 1], sexy: [-1.5, 1] },
  // Prints, paintings and some plain photos read as "drawing" (the real outputs show drawing 0.97 on a plant photo).
  art: { drawing: [3.5, 1.5], hentai: [-2, 1], neutral: [3, 1], porn: [-2.5, 1], sexy: [-1.5, 1] },
  sexual_explicit: { drawing: [-0.5, 1], hentai: [0.5, 1.2], neutral: [1, 1], porn: [3.5, 1.2], sexy: [2, 1] },
  suggestive: { drawing: [-0.5, 1], hentai: [-1.5, 1], neutral: [2, 1], porn: [1, 1], sexy: [3.5, 1] },
};

const POLICY_CLASSES = ['sexual_explicit', 'suggestive'] as const;

const ADJECTIVES = ['Vintage', 'Brand new', 'Handmade', 'Classic', 'Compact', 'Premium', 'Limited edition', 'Refurbished', 'Large', 'Small'];
const NEUTRAL_TITLES = [
  'Item {n}',
  'Lot {n} - see photos',
  'Listing {n}, great condition',
  'Article {n}',
  'SKU {n} clearance',
  'Offer {n}',
  'Looking for a new home',
  'Must go this week',
  'Moving sale #{n}',
  'Great gift, like new',
  'As seen in the pictures',
  'Bundle deal {n}',
];
const NEUTRAL_DESCRIPTIONS = [
  'Ships within 2 days.',
  'Barely used.',
  'Gift idea.',
  'Price is firm.',
  'Smoke-free seller.',
  'Collection only.',
  'Open to offers.',
];

/**
 * Everyday words merchants use for a category that are NOT in the taxonomy's keywords or synonyms, so the text rule
 * does not see them (a "tabby", a "labrador"): the text signal is weaker than the taxonomy's own vocabulary suggests.
 */
const PLAIN_WORDS: Record<string, string[]> = {
  'animals.pets': ['tabby', 'labrador', 'hamster', 'guinea pig', 'spaniel', 'siamese'],
  'animals.farm': ['ewe', 'heifer', 'mare', 'donkey', 'alpaca'],
  vehicles: ['hatchback', 'scooter', 'pickup', 'sedan', 'van'],
  'vehicles.boats': ['rowing skiff', 'pontoon', 'catamaran', 'rib'],
  'vehicles.aircraft': ['glider', 'microlight', 'biplane'],
  electronics: ['tablet', 'headphones', 'monitor', 'speaker', 'charger'],
  'home.furniture': ['wardrobe', 'dresser', 'stool', 'bookcase'],
  'home.kitchen': ['saucepan', 'kettle', 'blender', 'teapot', 'frying pan'],
  'home.garden': ['cactus', 'orchid', 'fern', 'bonsai', 'tulips'],
  'fashion.bags': ['clutch', 'satchel', 'holdall', 'duffel'],
  'fashion.watches': ['diver', 'automatic', 'quartz dress piece'],
  'fashion.accessories': ['bow tie', 'parasol', 'shawl'],
  sports: ['dumbbells', 'yoga mat', 'helmet', 'golf clubs'],
  food: ['honey', 'olive oil', 'chocolate', 'coffee beans'],
  books: ['cookbook', 'atlas', 'comic', 'biography'],
  toys: ['lego', 'doll', 'puzzle', 'action figure'],
  art: ['watercolour', 'lithograph', 'etching', 'framed artwork'],
};

/** How a truthful merchant words a category: its keyword, a synonym, a plain word, a misspelling (shares). */
const WORDING: Array<['keyword' | 'synonym' | 'plain' | 'misspelled', number]> = [
  ['keyword', 0.45],
  ['synonym', 0.15],
  ['plain', 0.2],
  ['misspelled', 0.2],
];

// ------------------------------------------------------------------------------------------------------ PRNG

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  uniform(low: number, high: number): number;
  normal(mean?: number, sd?: number): number;
  int(bound: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T;
  shuffle<T>(items: T[]): T[];
}

/** mulberry32: a tiny 32-bit PRNG, plenty for test data (not for anything secret). */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    uniform: (low, high) => low + (high - low) * next(),
    normal: (mean = 0, sd = 1) => {
      // Box-Muller; 1 - next() is in (0, 1], so the log is finite.
      const u = 1 - next();
      const v = next();
      return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    int: (bound) => Math.floor(next() * bound),
    chance: (probability) => next() < probability,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
    weighted: (items) => {
      const total = items.reduce((sum, [, weight]) => sum + weight, 0);
      let r = next() * total;
      for (const [item, weight] of items) {
        r -= weight;
        if (r < 0) return item;
      }
      return items[items.length - 1]![0];
    },
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i -= 1) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j]!, items[i]!];
      }
      return items;
    },
  };
  return rng;
}

/** A per-asset seed from the set's seed and the asset's index (integer hash, so neighbours are unrelated). */
export function assetSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------- model shapes

/** softmax(logits / temperature), numerically stable. */
export function softmax(logits: readonly number[], temperature = 1): number[] {
  const scaled = logits.map((logit) => logit / temperature);
  const max = Math.max(...scaled);
  const exps = scaled.map((value) => Math.exp(value - max));
  const total = exps.reduce((sum, value) => sum + value, 0);
  return exps.map((value) => value / total);
}

/** An image-classification pipeline's answer: softmax over the model's labels, the k best, best first. */
export function topK(labels: readonly string[], logits: readonly number[], k: number): LabelScores {
  const probabilities = softmax(logits);
  return bestFirst(labels.map((label, index) => ({ label, score: probabilities[index] ?? 0 }))).slice(0, k);
}

/**
 * A zero-shot CLIP answer: softmax over every candidate label of (similarity / TEMPERATURE). `boosts` maps category
 * ids to the similarity added to each of their prompts.
 */
export function clipZeroShot(rng: Rng, taxonomy: Taxonomy, candidateLabels: readonly string[], boosts: ReadonlyMap<string, number>): LabelScores {
  const similarities = candidateLabels.map((label) => {
    const categoryId = taxonomy.categoryForPrompt(label)?.id;
    const boost = categoryId === undefined ? 0 : (boosts.get(categoryId) ?? 0);
    return BASE_SIMILARITY + rng.normal(0, PROMPT_NOISE) + boost;
  });
  const probabilities = softmax(similarities, TEMPERATURE);
  return bestFirst(candidateLabels.map((label, index) => ({ label, score: probabilities[index] ?? 0 })));
}

// ---------------------------------------------------------------------------------------------- the generator

export interface GeneratorOptions {
  seed?: number;
  assets?: number;
  /** Share of each model family (FAMILY_SHARES by default). */
  familyShares?: Readonly<Record<ModelFamily, number>>;
}

interface Plan {
  family: ModelFamily;
  kind: ScenarioKind;
}

/** Exact counts per share (largest remainder), so the documented mix holds exactly for every size. */
export function allocate<K extends string>(total: number, shares: Readonly<Record<K, number>>): Record<K, number> {
  const keys = Object.keys(shares) as K[];
  const raw = keys.map((key) => total * shares[key]);
  const counts = raw.map(Math.floor);
  let left = total - counts.reduce((sum, count) => sum + count, 0);
  const order = keys.map((_, index) => index).sort((a, b) => raw[b]! - counts[b]! - (raw[a]! - counts[a]!) || a - b);
  for (const index of order) {
    if (left <= 0) break;
    counts[index] = counts[index]! + 1;
    left -= 1;
  }
  return Object.fromEntries(keys.map((key, index) => [key, counts[index]!])) as Record<K, number>;
}

/** The scenario plan: exact counts per family and scenario, shuffled. */
export function planMix(total: number, seed: number, familyShares: Readonly<Record<ModelFamily, number>> = FAMILY_SHARES): Plan[] {
  const plan: Plan[] = [];
  const families = allocate(total, familyShares);
  for (const family of Object.keys(families) as ModelFamily[]) {
    const kinds = allocate(families[family], MIX);
    for (const kind of Object.keys(kinds) as ScenarioKind[]) {
      for (let i = 0; i < kinds[kind]; i += 1) plan.push({ family, kind });
    }
  }
  return createRng(seed).shuffle(plan);
}

export class LabelledSetGenerator {
  /** Categories with at least one CLIP prompt: what an image can truly show. */
  readonly imageCategories: readonly Category[];
  readonly candidateLabels: readonly string[];
  private readonly confusables = new Map<string, string[]>();

  constructor(
    private readonly taxonomy: Taxonomy,
    /** The CLIP similarity scale (CLIP_SIGNAL unless a different accuracy is asked for: `fitClipSignal`). */
    private readonly clipSignal: number = CLIP_SIGNAL,
  ) {
    this.candidateLabels = taxonomy.candidateLabels();
    this.imageCategories = taxonomy.categories.filter((category) => category.clipPrompts.length > 0);
    const ids = new Set(this.imageCategories.map((category) => category.id));
    const link = (a: string, b: string): void => {
      if (a === b || !ids.has(a) || !ids.has(b)) return;
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const list = this.confusables.get(from) ?? [];
        if (!list.includes(to)) list.push(to);
        this.confusables.set(from, list);
      }
    };
    for (const a of this.imageCategories) {
      for (const b of this.imageCategories) {
        const siblings = a.parent !== undefined && a.parent === b.parent;
        if (siblings || taxonomy.areRelated(a.id, b.id)) link(a.id, b.id);
      }
    }
    for (const [a, b] of EXTRA_CONFUSABLES) link(a, b);
  }

  /** Categories a model may mix up with `categoryId` (siblings, parent/child, the extra look-alikes). */
  confusablesOf(categoryId: string): string[] {
    return this.confusables.get(categoryId) ?? [];
  }

  generate(options: GeneratorOptions = {}): LabelledSetFile {
    const seed = options.seed ?? DEFAULT_SEED;
    const total = options.assets ?? DEFAULT_ASSET_COUNT;
    const plan = planMix(total, seed, options.familyShares);
    const width = String(total).length;
    const assets = plan.map((entry, index) => this.asset(`syn-${String(index + 1).padStart(width, '0')}`, entry, createRng(assetSeed(seed, index))));
    return {
      description:
        'Synthetic labelled listings with recorded model outputs shaped per model family (eval/generator.ts). Regenerate with: node --import tsx eval/generate.ts',
      candidateLabels: [...this.candidateLabels],
      meta: {
        generatorVersion: GENERATOR_VERSION,
        seed,
        assets: total,
        mix: MIX,
        familyShares: options.familyShares ?? FAMILY_SHARES,
        temperature: TEMPERATURE,
        clipSignal: this.clipSignal,
        falconsaiLogitSd: FALCONSAI_LOGIT_SD,
      },
      assets,
    };
  }

  private asset(id: string, plan: Plan, rng: Rng): LabelledAsset {
    switch (plan.kind) {
      case 'clean':
        return this.clean(id, plan.family, rng);
      case 'ambiguous':
        return this.ambiguous(id, plan.family, rng);
      case 'misrepresented':
        return this.misrepresented(id, plan.family, rng, null);
      case 'policy':
        return this.policySensitive(id, plan.family, rng);
      case 'both':
        return this.misrepresented(id, plan.family, rng, rng.pick(POLICY_CLASSES));
    }
  }

  private clean(id: string, family: ModelFamily, rng: Rng): LabelledAsset {
    const truth = rng.pick(this.imageCategories).id;
    const difficulty = rng.weighted(DIFFICULTY.clean);
    const text = rng.chance(0.85) ? this.matchingText(rng, truth) : this.neutralText(rng);
    return this.build(id, family, rng, {
      scenario: 'clean',
      difficulty,
      merchantId: honestMerchant(rng),
      declared: truth,
      text,
      truth: { categoryId: truth, policyClass: null, misrepresented: false },
      image: this.image(rng, truth, difficulty),
    });
  }

  private ambiguous(id: string, family: ModelFamily, rng: Rng): LabelledAsset {
    const kind = rng.pick(['confusable', 'parent-declared', 'depiction', 'neutral-text'] as const);
    const merchantId = honestMerchant(rng);
    if (kind === 'confusable') {
      const truth = rng.pick(this.imageCategories.filter((category) => this.confusablesOf(category.id).length > 0)).id;
      const confuser = rng.pick(this.confusablesOf(truth));
      return this.build(id, family, rng, {
        scenario: 'ambiguous/confusable',
        difficulty: 'hard',
        merchantId,
        declared: truth,
        text: rng.chance(0.5) ? this.matchingText(rng, truth) : this.neutralText(rng),
        truth: { categoryId: truth, policyClass: null, misrepresented: false },
        image: this.image(rng, truth, 'hard', confuser),
      });
    }
    if (kind === 'parent-declared') {
      const truth = rng.pick(this.imageCategories.filter((category) => category.parent !== undefined));
      return this.build(id, family, rng, {
        scenario: 'ambiguous/parent-declared',
        difficulty: 'medium',
        merchantId,
        declared: truth.parent!,
        text: rng.chance(0.5) ? this.matchingText(rng, truth.id) : this.neutralText(rng),
        truth: { categoryId: truth.id, policyClass: null, misrepresented: false },
        image: this.image(rng, truth.id, 'medium'),
      });
    }
    if (kind === 'depiction') {
      const depicted = rng.pick(DEPICTED_IN_ART.filter((categoryId) => this.taxonomy.category(categoryId) !== undefined));
      // "Canvas print: sailboat" mostly; sometimes only the subject ("Sailboat at dawn").
      const subject = this.keyword(rng, depicted);
      const text = rng.chance(0.7) ? { title: `${capitalize(this.keyword(rng, 'art'))}: ${subject}` } : { title: `${capitalize(subject)} at dawn` };
      return this.build(id, family, rng, {
        scenario: 'ambiguous/depiction',
        difficulty: 'hard',
        merchantId,
        declared: 'art',
        text,
        truth: { categoryId: 'art', policyClass: null, misrepresented: false },
        image: this.depictionImage(rng, depicted),
      });
    }
    const truth = rng.pick(this.imageCategories).id;
    const difficulty = rng.weighted<Difficulty>([
      ['medium', 0.6],
      ['hard', 0.4],
    ]);
    return this.build(id, family, rng, {
      scenario: 'ambiguous/neutral-text',
      difficulty,
      merchantId,
      declared: truth,
      text: this.neutralText(rng),
      truth: { categoryId: truth, policyClass: null, misrepresented: false },
      image: this.image(rng, truth, difficulty),
    });
  }

  /** A listing whose declared category the image's true category is not (nor a descendant of). */
  private misrepresented(id: string, family: ModelFamily, rng: Rng, policyClass: string | null): LabelledAsset {
    const truth = rng.pick(this.imageCategories).id;
    const nearChoices = this.confusablesOf(truth).filter((candidate) => !this.taxonomy.isSameOrDescendant(truth, candidate));
    const near = nearChoices.length > 0 && rng.chance(0.4);
    const declared = near ? rng.pick(nearChoices) : rng.pick(this.taxonomy.categories.filter((category) => !this.taxonomy.areRelated(category.id, truth))).id;
    const difficulty = rng.weighted(DIFFICULTY.misrepresented);
    // A hard image leans toward the declared category, so the model half-agrees with the lie: for CLIP only when the
    // declared category is a look-alike of the truth (zero-shot confusions concentrate on similar concepts); for the
    // detector whatever it is (its spurious finds are label-agnostic: a "bird" in the Alps, "boats" in a canyon).
    const canLean = family === 'detector' || near;
    const confuser = difficulty === 'hard' && canLean && this.taxonomy.category(declared)?.clipPrompts.length ? declared : undefined;
    const textKind = rng.weighted<'declared' | 'true' | 'neutral'>([
      ['declared', 0.55],
      ['true', 0.25],
      ['neutral', 0.2],
    ]);
    const text = textKind === 'declared' ? this.matchingText(rng, declared) : textKind === 'true' ? this.matchingText(rng, truth) : this.neutralText(rng);
    return this.build(id, family, rng, {
      scenario: `${policyClass === null ? 'misrepresented' : 'both'}/${near ? 'near' : 'unrelated'}`,
      difficulty,
      merchantId: rng.chance(0.6) ? `m-${String(81 + rng.int(15)).padStart(3, '0')}` : honestMerchant(rng),
      declared,
      text,
      truth: { categoryId: truth, policyClass, misrepresented: true },
      image: this.image(rng, truth, difficulty, confuser),
    });
  }

  private policySensitive(id: string, family: ModelFamily, rng: Rng): LabelledAsset {
    const truth = rng.pick(this.imageCategories).id;
    const difficulty = rng.weighted(DIFFICULTY.policy);
    return this.build(id, family, rng, {
      scenario: 'policy',
      difficulty,
      merchantId: honestMerchant(rng),
      declared: truth,
      text: rng.chance(0.8) ? this.matchingText(rng, truth) : this.neutralText(rng),
      truth: { categoryId: truth, policyClass: rng.pick(POLICY_CLASSES), misrepresented: false },
      image: this.image(rng, truth, difficulty),
    });
  }

  // ------------------------------------------------------------------------------------- images and outputs

  /** What the image shows, as the two category model families would see it. */
  private image(rng: Rng, truth: string, difficulty: Difficulty, confuser?: string): ImageSpec {
    const [low, high] = TRUE_BOOST[difficulty];
    const trueBoost = rng.uniform(low, high) * this.clipSignal;
    const boosts = new Map<string, number>([[truth, trueBoost]]);
    let other = confuser;
    if (other !== undefined) {
      // Hard: the confuser is about as similar as the truth, so it wins about half the time.
      boosts.set(other, Math.max(0, trueBoost + rng.normal(0, 0.012)));
    } else if (difficulty === 'medium' && rng.chance(MEDIUM_CONFUSION) && this.confusablesOf(truth).length > 0) {
      other = rng.pick(this.confusablesOf(truth));
      boosts.set(other, trueBoost * rng.uniform(0, 0.6));
    }
    return { truth, difficulty, boosts, confuser: other };
  }

  /** An art print of another category's subject: CLIP half-sees the subject, the detector sees it outright. */
  private depictionImage(rng: Rng, depicted: string): ImageSpec {
    const boosts = new Map<string, number>([
      ['art', rng.uniform(0.02, 0.05) * this.clipSignal],
      [depicted, rng.uniform(0.02, 0.05) * this.clipSignal],
    ]);
    return { truth: 'art', difficulty: 'hard', boosts, confuser: depicted, depicted };
  }

  private build(
    id: string,
    family: ModelFamily,
    rng: Rng,
    spec: {
      scenario: string;
      difficulty: Difficulty;
      merchantId: string;
      declared: string;
      text: { title: string; description?: string };
      truth: LabelledAsset['truth'];
      image: ImageSpec;
    },
  ): LabelledAsset {
    const models = MODEL_FAMILIES[family];
    let categoryLabels: LabelScores;
    let detections: Array<{ label: string; score: number }> | undefined;
    if (family === 'clip') {
      categoryLabels = clipZeroShot(rng, this.taxonomy, this.candidateLabels, spec.image.boosts);
    } else {
      detections = this.detections(rng, spec.image);
      categoryLabels = zeroShotFromDetections(detections, this.candidateLabels, this.taxonomy);
    }
    const policyTruth = (spec.truth.policyClass ?? 'none') as 'none' | (typeof POLICY_CLASSES)[number];
    return {
      id,
      source: 'synthetic',
      family,
      scenario: spec.scenario,
      difficulty: spec.difficulty,
      listing: {
        merchantId: spec.merchantId,
        declaredCategoryId: spec.declared,
        title: spec.text.title,
        ...(spec.text.description === undefined ? {} : { description: spec.text.description }),
      },
      truth: spec.truth,
      model: {
        categoryModelId: models.categoryModelId,
        categoryModelVariant: models.categoryModelVariant,
        categoryLabels,
        ...(detections === undefined ? {} : { detections }),
        policyModelId: models.policyModelId,
        policyModelVariant: models.policyModelVariant,
        policyLabels: family === 'clip' ? falconsai(rng, policyTruth) : nsfwjs(rng, policyTruth, spec.truth.categoryId === 'art'),
      },
    };
  }

  /** COCO-80 detections for an image, scores rounded as recorded (the answer is derived from what is recorded). */
  private detections(rng: Rng, image: ImageSpec): Array<{ label: string; score: number }> {
    const found: Array<{ label: string; score: number }> = [];
    const add = (label: string, score: number): void => {
      found.push({ label, score: roundScore(score, 4) });
    };
    const labelsOf = (categoryId: string): string[] => this.taxonomy.category(categoryId)?.detectorLabels ?? [];
    const truthLabels = labelsOf(image.truth);
    if (image.depicted !== undefined) {
      // A painted subject is still a subject to a detector.
      const subject = labelsOf(image.depicted);
      if (subject.length > 0) add(rng.pick(subject), rng.uniform(0.2, 0.6));
    } else if (truthLabels.length > 0) {
      const range: Record<Difficulty, [number, number]> = { easy: [0.45, 0.9], medium: [0.22, 0.5], hard: [0.1, 0.3] };
      const missed = image.difficulty === 'hard' && rng.chance(0.3);
      if (!missed) {
        const primary = rng.uniform(...range[image.difficulty]);
        add(rng.pick(truthLabels), primary);
        if (rng.chance(0.4)) add(rng.pick(truthLabels), rng.uniform(0.1, primary));
      }
    }
    if (image.confuser !== undefined && image.depicted === undefined) {
      const confuserLabels = labelsOf(image.confuser);
      if (confuserLabels.length > 0) {
        const range: [number, number] = image.difficulty === 'hard' ? [0.15, 0.45] : [0.1, 0.25];
        add(rng.pick(confuserLabels), rng.uniform(...range));
      }
    }
    // Spurious finds: unmapped labels (person, clock, ...) and now and then a mapped one from anywhere.
    const spurious = rng.int(4);
    for (let i = 0; i < spurious; i += 1) add(rng.weighted(UNMAPPED_DETECTOR_LABELS), rng.uniform(0.1, 0.45));
    if (rng.chance(0.25)) {
      const mapped = this.imageCategories.flatMap((category) => category.detectorLabels);
      add(rng.pick(mapped), rng.uniform(0.1, 0.25));
    }
    return found.sort((a, b) => b.score - a.score);
  }

  // ------------------------------------------------------------------------------------------------- text

  /** One of a category's keywords (its synonyms when it has none, as parent categories do). */
  private keyword(rng: Rng, categoryId: string): string {
    const category = this.taxonomy.category(categoryId);
    const words = category === undefined ? [] : category.keywords.length > 0 ? category.keywords : category.synonyms;
    if (words.length === 0) throw new Error(`category ${categoryId} has no keyword or synonym to write a listing with`);
    return rng.pick(words);
  }

  /**
   * A word for the category as a merchant would write it (WORDING): the taxonomy's keyword, one of its synonyms, a
   * plain word the taxonomy does not know, or a misspelled keyword. Only the first two are seen by the text rule.
   */
  private word(rng: Rng, categoryId: string): string {
    const category = this.taxonomy.category(categoryId);
    const style = rng.weighted(WORDING);
    if (style === 'synonym' && category !== undefined && category.synonyms.length > 0) return rng.pick(category.synonyms);
    const plain = PLAIN_WORDS[categoryId] ?? [];
    if (style === 'plain' && plain.length > 0) return rng.pick(plain);
    const keyword = this.keyword(rng, categoryId);
    return style === 'misspelled' ? misspell(rng, keyword) : keyword;
  }

  /** A title (and sometimes a description) about the category, in a merchant's words. */
  private matchingText(rng: Rng, categoryId: string): { title: string; description?: string } {
    const title = `${rng.pick(ADJECTIVES)} ${this.word(rng, categoryId)}`;
    if (!rng.chance(0.6)) return { title };
    return { title, description: `${capitalize(this.word(rng, categoryId))}, as pictured. ${rng.pick(NEUTRAL_DESCRIPTIONS)}` };
  }

  /** Text that names no category at all (checked: a taxonomy change that makes it name one fails loudly). */
  private neutralText(rng: Rng): { title: string; description?: string } {
    const text = { title: rng.pick(NEUTRAL_TITLES).replace('{n}', String(100 + rng.int(900))), description: rng.pick(NEUTRAL_DESCRIPTIONS) };
    const mentions = this.taxonomy.categoriesMentionedIn(`${text.title} ${text.description}`);
    if (mentions.length > 0) throw new Error(`neutral listing text "${text.title} ${text.description}" mentions ${mentions[0]!.categoryId}`);
    return text;
  }
}

interface ImageSpec {
  truth: string;
  difficulty: Difficulty;
  /** Similarity boosts per category id (clip family). */
  boosts: Map<string, number>;
  /** A category the image may be mistaken for. */
  confuser?: string;
  /** For an art print: the category of what it depicts. */
  depicted?: string;
}

function falconsai(rng: Rng, truth: 'none' | (typeof POLICY_CLASSES)[number]): LabelScores {
  const mu = FALCONSAI_LOGIT_SD * probit(CITED.falconsaiAccuracy.value);
  return topK(MODEL_FAMILIES.clip.policyLabels, [0, rng.normal(truth === 'none' ? -mu : mu, FALCONSAI_LOGIT_SD)], 2);
}

/** A typo a person makes: a letter dropped, two swapped, or one doubled (words of four letters or more). */
export function misspell(rng: Rng, word: string): string {
  if (word.length < 4) return word;
  const at = 1 + rng.int(word.length - 2);
  const kind = rng.int(3);
  if (kind === 0) return word.slice(0, at) + word.slice(at + 1);
  if (kind === 1) return word.slice(0, at) + word.charAt(at + 1) + word.charAt(at) + word.slice(at + 2);
  return word.slice(0, at) + word.charAt(at) + word.slice(at);
}

function nsfwjs(rng: Rng, truth: 'none' | 'sexual_explicit' | 'suggestive', art: boolean): LabelScores {
  const logits = NSFWJS_LOGITS[truth === 'none' && art ? 'art' : truth];
  const labels = MODEL_FAMILIES.detector.policyLabels;
  return topK(
    labels,
    labels.map((label) => {
      const [mean, sd] = logits[label] ?? [0, 1];
      return rng.normal(mean, sd);
    }),
    5,
  );
}

function honestMerchant(rng: Rng): string {
  return `m-${String(1 + rng.int(80)).padStart(3, '0')}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The synthetic set for a taxonomy (deterministic for a seed, size and CLIP signal). */
export function generateLabelledSet(taxonomy: Taxonomy, options: GeneratorOptions & { clipSignal?: number } = {}): LabelledSetFile {
  return new LabelledSetGenerator(taxonomy, options.clipSignal).generate(options);
}

/** The seed and size `fitClipSignal` measures accuracy on (its own: never a calibration or held-out set). */
const FIT_SEED = 777;
const FIT_ASSETS = 4000;

/**
 * The CLIP signal scale at which the generated top-1 accuracy (truthful CLIP-family images) equals `target`, by
 * bisection (accuracy grows with the signal). Deterministic. Used to derive CLIP_SIGNAL from the cited figure and by
 * `npm run eval -- --clip-top1 X` to regenerate the sets at another accuracy.
 */
export function fitClipSignal(taxonomy: Taxonomy, target: number, iterations = 18): number {
  let low = 0.05;
  let high = 3;
  for (let i = 0; i < iterations; i += 1) {
    const mid = (low + high) / 2;
    const set = generateLabelledSet(taxonomy, { seed: FIT_SEED, assets: FIT_ASSETS, familyShares: { clip: 1, detector: 0 }, clipSignal: mid });
    const { k, n } = clipTop1(set.assets, taxonomy);
    const accuracy = k / Math.max(1, n);
    if (accuracy < target) low = mid;
    else high = mid;
  }
  return Math.round(((low + high) / 2) * 1000) / 1000;
}
