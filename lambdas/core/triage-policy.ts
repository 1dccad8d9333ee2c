/** The versioned triage policy (config/triage-policy.json): thresholds, kept per category model id. */
import { z } from 'zod';
import policyFile from '../../config/triage-policy.json';

const thresholdsSchema = z
  .object({
    /** Below this top category score, the image says nothing reliable: LOW_CONFIDENCE. */
    lowConfidence: z.number().min(0).max(1),
    /** A different, unrelated category at or above this score contradicts the declared one: CATEGORY_MISMATCH. */
    mismatch: z.number().min(0).max(1),
    /** The declared category (with its descendants) at or above this score is supported by the image. */
    pass: z.number().min(0).max(1),
  })
  .refine((t) => t.lowConfidence <= t.mismatch, { message: 'lowConfidence must not exceed mismatch' });

export const triagePolicySchema = z.object({
  version: z.string().min(1),
  description: z.string().optional(),
  categoryModels: z.record(z.string(), thresholdsSchema).refine((models) => 'default' in models, {
    message: 'categoryModels needs a "default" entry',
  }),
  textConflictMinKeywordHits: z.number().int().min(1),
  /**
   * Share of AUTO_PASS assets also sent to review as an audit (Amazon A2I's sampling), chosen deterministically
   * from a hash of batch id and asset key so reruns and tests agree.
   */
  auditSampleRate: z.number().min(0).max(1),
  merchantProfile: z.object({
    /** Earlier assets a merchant needs before their profile is trusted. */
    minHistory: z.number().int().min(1),
    /** A declared category (with its relatives) below this share of the merchant's history is an anomaly. */
    rareShare: z.number().min(0).max(1),
  }),
  duplicates: z.object({
    /** Perceptual-hash Hamming distance (of 64 bits) at or below which two images count as the same. */
    nearDistance: z.number().int().min(0).max(64),
  }),
});

export type TriagePolicy = z.infer<typeof triagePolicySchema>;
export type CategoryThresholds = z.infer<typeof thresholdsSchema>;

export function parseTriagePolicy(document: unknown, source = 'triage policy'): TriagePolicy {
  const parsed = triagePolicySchema.safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`invalid ${source}: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/**
 * Thresholds for the model that answered: its endpoint variant first (e.g. the local stand-in's detector, a model of
 * its own), then its model id, then `default`.
 */
export function thresholdsFor(policy: TriagePolicy, modelId: string, variant = ''): CategoryThresholds {
  const own = (key: string): CategoryThresholds | undefined => (Object.hasOwn(policy.categoryModels, key) ? policy.categoryModels[key] : undefined);
  return own(variant) ?? own(modelId) ?? policy.categoryModels['default']!;
}

let bundled: TriagePolicy | undefined;

export function loadTriagePolicy(): TriagePolicy {
  bundled ??= parseTriagePolicy(policyFile, 'config/triage-policy.json');
  return bundled;
}
