/**
 * The labelled evaluation set: what one asset looks like (declared data, ground truth, the recorded outputs of the two
 * models that answered), the two model families it can come from, and the byte-stable file format of
 * `eval/data/labelled-set.json` and `eval/data/local-model-outputs.json`.
 *
 * Nothing here runs a model: the eval replays recorded outputs through the real `triage()`.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { LabelScores } from '../lambdas/core/hf-contract';
import type { TriageInput } from '../lambdas/core/triage';

/**
 * The model families whose outputs the set records. Triage thresholds are kept per category model (an endpoint
 * variant first, then a model id, then `default`: see `thresholdsFor`), so every asset says which model answered.
 *
 * - `clip`: the deployed stack. Category endpoint = `openai/clip-vit-base-patch32` (zero-shot over the taxonomy's
 *   prompts) answering from its single production variant (`AllTraffic`, the construct's default, which has no
 *   thresholds of its own, so the model id's or `default` apply); policy endpoint = `Falconsai/nsfw_image_detection`
 *   (labels `normal` / `nsfw`).
 * - `detector`: the local mode. Same model ids in the settings (the stack's), but the SageMaker stand-in answers:
 *   category = CenterNet COCO-80 detections turned into a zero-shot answer by `zeroShotFromDetections`
 *   (variant `local-centernet-coco80`, which has its own thresholds); policy = nsfwjs MobileNetV2 (labels
 *   `drawing`, `hentai`, `neutral`, `porn`, `sexy`; variant `local-nsfwjs-mobilenetv2`).
 */
export const MODEL_FAMILIES = {
  clip: {
    /** The key this family is reported under (`byModel` in the eval's JSON). */
    modelKey: 'openai/clip-vit-base-patch32',
    description: 'deployed: CLIP ViT-B/32 zero-shot + Falconsai NSFW classifier',
    categoryModelId: 'openai/clip-vit-base-patch32',
    categoryModelVariant: 'AllTraffic',
    policyModelId: 'Falconsai/nsfw_image_detection',
    policyModelVariant: 'AllTraffic',
    policyLabels: ['normal', 'nsfw'],
  },
  detector: {
    modelKey: 'local-centernet-coco80',
    description: 'local: CenterNet COCO-80 detector stand-in + nsfwjs MobileNetV2',
    categoryModelId: 'openai/clip-vit-base-patch32',
    categoryModelVariant: 'local-centernet-coco80',
    policyModelId: 'Falconsai/nsfw_image_detection',
    policyModelVariant: 'local-nsfwjs-mobilenetv2',
    policyLabels: ['drawing', 'hentai', 'neutral', 'porn', 'sexy'],
  },
} as const;

export type ModelFamily = keyof typeof MODEL_FAMILIES;
export const MODEL_FAMILY_NAMES = Object.keys(MODEL_FAMILIES) as ModelFamily[];

export type Difficulty = 'easy' | 'medium' | 'hard';

export interface GroundTruth {
  /** The category the image really shows (a taxonomy id). */
  categoryId: string;
  /** The policy class the image really belongs to (a taxonomy policy class id), or null when it is not sensitive. */
  policyClass: string | null;
  /** The true category is neither the declared category nor one of its descendants. */
  misrepresented: boolean;
}

export interface LabelledAsset {
  id: string;
  /** `synthetic`: made by eval/generator.ts; `real`: the local models' real outputs on a shipped photo. */
  source: 'synthetic' | 'real';
  family: ModelFamily;
  /** How the asset was made, e.g. `clean`, `ambiguous/depiction`, `misrepresented/near`, `real/truthful`. */
  scenario: string;
  difficulty?: Difficulty;
  listing: { merchantId: string; declaredCategoryId: string; title: string; description?: string };
  truth: GroundTruth;
  model: {
    categoryModelId: string;
    categoryModelVariant: string;
    /** The category endpoint's answer, best first, as the Classify stage hands it to triage. */
    categoryLabels: LabelScores;
    /** Detector family only: the detections the zero-shot answer was derived from. */
    detections?: Array<{ label: string; score: number }>;
    policyModelId: string;
    policyModelVariant: string;
    /** The policy endpoint's (top-k) answer, best first. */
    policyLabels: LabelScores;
  };
}

/** What `triage()` is given for an asset: exactly what the Triage stage would pass for the recorded answers. */
export function triageInputOf(asset: LabelledAsset): TriageInput {
  return {
    listing: {
      declaredCategoryId: asset.listing.declaredCategoryId,
      title: asset.listing.title,
      description: asset.listing.description,
    },
    categoryLabels: asset.model.categoryLabels,
    policyLabels: asset.model.policyLabels,
    categoryModelId: asset.model.categoryModelId,
    categoryModelVariant: asset.model.categoryModelVariant,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// File format. One header object, then one asset per line (diffable), numbers rounded to 6 decimals, keys in a
// fixed order: the same set always serializes to the same bytes. Category scores are stored as one number per
// candidate label, in the order of the header's `candidateLabels` (the order the Classify stage sends them).
// ---------------------------------------------------------------------------------------------------------------

export const SCORE_DECIMALS = 6;

export function roundScore(value: number, decimals = SCORE_DECIMALS): number {
  const factor = 10 ** decimals;
  const rounded = Math.round(value * factor) / factor;
  return Object.is(rounded, -0) ? 0 : rounded;
}

/** Sorts best first; ties keep the given order (the endpoint's order), as `Array.prototype.sort` is stable. */
export function bestFirst(labels: LabelScores): LabelScores {
  return [...labels].sort((a, b) => b.score - a.score);
}

const pairSchema = z.tuple([z.string(), z.number().min(0).max(1)]);

const storedAssetSchema = z.object({
  id: z.string().min(1),
  source: z.enum(['synthetic', 'real']),
  family: z.enum(['clip', 'detector']),
  scenario: z.string().min(1),
  difficulty: z.enum(['easy', 'medium', 'hard']).optional(),
  listing: z.object({
    merchantId: z.string().min(1),
    declaredCategoryId: z.string().min(1),
    title: z.string(),
    description: z.string().optional(),
  }),
  truth: z.object({ categoryId: z.string().min(1), policyClass: z.string().nullable(), misrepresented: z.boolean() }),
  model: z.object({
    categoryModelId: z.string().min(1),
    categoryModelVariant: z.string(),
    categoryScores: z.array(z.number().min(0).max(1)),
    detections: z.array(pairSchema).optional(),
    policyModelId: z.string().min(1),
    policyModelVariant: z.string(),
    policyLabels: z.array(pairSchema),
  }),
});
type StoredAsset = z.infer<typeof storedAssetSchema>;

const headerSchema = z.object({
  format: z.literal('media-triage-labelled-set/1'),
  description: z.string(),
  candidateLabels: z.array(z.string().min(1)).min(1),
  meta: z.record(z.string(), z.unknown()),
});

export interface LabelledSetFile {
  description: string;
  /** The zero-shot candidate labels the category scores are over (the taxonomy's prompts when it was made). */
  candidateLabels: string[];
  /** Anything the producer wants to record about how the set was made (seed, mix, model versions, ...). */
  meta: Record<string, unknown>;
  assets: LabelledAsset[];
}

function toStored(asset: LabelledAsset, candidateLabels: readonly string[]): StoredAsset {
  const byLabel = new Map(asset.model.categoryLabels.map((entry) => [entry.label, entry.score]));
  const unknown = asset.model.categoryLabels.filter((entry) => !candidateLabels.includes(entry.label));
  if (unknown.length > 0 || byLabel.size !== candidateLabels.length) {
    throw new Error(`asset ${asset.id}: its category answer is not over the set's candidate labels`);
  }
  return {
    id: asset.id,
    source: asset.source,
    family: asset.family,
    scenario: asset.scenario,
    ...(asset.difficulty === undefined ? {} : { difficulty: asset.difficulty }),
    listing: {
      merchantId: asset.listing.merchantId,
      declaredCategoryId: asset.listing.declaredCategoryId,
      title: asset.listing.title,
      ...(asset.listing.description === undefined ? {} : { description: asset.listing.description }),
    },
    truth: { categoryId: asset.truth.categoryId, policyClass: asset.truth.policyClass, misrepresented: asset.truth.misrepresented },
    model: {
      categoryModelId: asset.model.categoryModelId,
      categoryModelVariant: asset.model.categoryModelVariant,
      categoryScores: candidateLabels.map((label) => roundScore(byLabel.get(label) ?? 0)),
      ...(asset.model.detections === undefined ? {} : { detections: asset.model.detections.map((d): [string, number] => [d.label, roundScore(d.score)]) }),
      policyModelId: asset.model.policyModelId,
      policyModelVariant: asset.model.policyModelVariant,
      policyLabels: asset.model.policyLabels.map((entry): [string, number] => [entry.label, roundScore(entry.score)]),
    },
  };
}

function fromStored(stored: StoredAsset, candidateLabels: readonly string[]): LabelledAsset {
  if (stored.model.categoryScores.length !== candidateLabels.length) {
    throw new Error(`asset ${stored.id}: ${stored.model.categoryScores.length} category scores for ${candidateLabels.length} candidate labels`);
  }
  return {
    id: stored.id,
    source: stored.source,
    family: stored.family,
    scenario: stored.scenario,
    ...(stored.difficulty === undefined ? {} : { difficulty: stored.difficulty }),
    listing: { ...stored.listing },
    truth: { ...stored.truth },
    model: {
      categoryModelId: stored.model.categoryModelId,
      categoryModelVariant: stored.model.categoryModelVariant,
      categoryLabels: bestFirst(candidateLabels.map((label, index) => ({ label, score: stored.model.categoryScores[index] ?? 0 }))),
      ...(stored.model.detections === undefined ? {} : { detections: stored.model.detections.map(([label, score]) => ({ label, score })) }),
      policyModelId: stored.model.policyModelId,
      policyModelVariant: stored.model.policyModelVariant,
      policyLabels: bestFirst(stored.model.policyLabels.map(([label, score]) => ({ label, score }))),
    },
  };
}

/** The file's text: a header line, one asset per line, a closing line. Same set, same bytes. */
export function serializeLabelledSet(file: LabelledSetFile): string {
  const header = JSON.stringify({
    format: 'media-triage-labelled-set/1',
    description: file.description,
    candidateLabels: file.candidateLabels,
    meta: file.meta,
  });
  const lines = file.assets.map((asset) => JSON.stringify(toStored(asset, file.candidateLabels)));
  // `{...header, "assets": [` + lines + `]}`: valid JSON, one asset per line.
  return `${header.slice(0, -1)},"assets":[\n${lines.join(',\n')}\n]}\n`;
}

export function parseLabelledSet(text: string, source = 'labelled set'): LabelledSetFile {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = headerSchema.extend({ assets: z.array(storedAssetSchema) }).safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`invalid ${source}: ${problems.join('; ')}`);
  }
  const { candidateLabels } = parsed.data;
  return {
    description: parsed.data.description,
    candidateLabels,
    meta: parsed.data.meta,
    assets: parsed.data.assets.map((stored) => fromStored(stored, candidateLabels)),
  };
}

export const LABELLED_SET_URL = new URL('./data/labelled-set.json', import.meta.url);
export const LOCAL_MODEL_OUTPUTS_URL = new URL('./data/local-model-outputs.json', import.meta.url);

export function readLabelledSetFile(url: URL): LabelledSetFile {
  return parseLabelledSet(readFileSync(url, 'utf8'), url.pathname.split('/').slice(-2).join('/'));
}
