/** The versioned review policy (config/review-policy.json): reviewers needed per asset, gold mix, claim length. */
import { z } from 'zod';
import policyFile from '../../../config/review-policy.json';
import { OUTCOMES, REASON_CODE_LIST, type Outcome, type ReasonCode } from '../outcomes';

const ruleSchema = z.object({
  when: z
    .object({
      outcomes: z.array(z.enum(OUTCOMES)).optional(),
      reasons: z.array(z.enum(REASON_CODE_LIST as unknown as [ReasonCode, ...ReasonCode[]])).optional(),
    })
    .refine((when) => (when.outcomes?.length ?? 0) + (when.reasons?.length ?? 0) > 0, { message: 'a rule needs outcomes or reasons' }),
  reviewers: z.number().int().min(1).max(5),
  why: z.string().optional(),
});

export const reviewPolicySchema = z.object({
  version: z.string().min(1),
  description: z.string().optional(),
  rules: z.array(ruleSchema),
  default: z.object({ reviewers: z.number().int().min(1).max(5) }),
  gold: z.object({ rate: z.number().min(0).max(0.5), description: z.string().optional() }),
  /** How long a claim holds an asset for one reviewer (also the review message's visibility timeout when claimed). */
  claimMinutes: z
    .number()
    .min(1)
    .max(12 * 60),
});

export type ReviewPolicy = z.infer<typeof reviewPolicySchema>;

let loaded: ReviewPolicy | undefined;

export function loadReviewPolicy(): ReviewPolicy {
  loaded ??= reviewPolicySchema.parse(policyFile);
  return loaded;
}

/** Independent reviewers an asset needs: the first rule matching its outcome or any of its reasons, else the default. */
export function requiredReviewers(policy: ReviewPolicy, asset: { outcome: Outcome; reasons: readonly ReasonCode[] }): number {
  for (const rule of policy.rules) {
    const byOutcome = rule.when.outcomes?.includes(asset.outcome) === true;
    const byReason = rule.when.reasons?.some((reason) => asset.reasons.includes(reason)) === true;
    if (byOutcome || byReason) return rule.reviewers;
  }
  return policy.default.reviewers;
}
