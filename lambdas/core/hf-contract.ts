/**
 * Request/response shapes of the SageMaker Hugging Face inference toolkit, for the two tasks the pipeline uses.
 * The Classify stage builds requests with these; the local SageMaker stand-in parses them with the same schemas.
 */
import { z } from 'zod';

export const HF_TASKS = ['zero-shot-image-classification', 'image-classification'] as const;
export type HuggingFaceTask = (typeof HF_TASKS)[number];

/** `zero-shot-image-classification` request body (ContentType application/json); `inputs` is a base64 image. */
export const zeroShotRequestSchema = z.object({
  inputs: z.string().min(1),
  parameters: z.object({
    candidate_labels: z.array(z.string().min(1)).min(1),
    hypothesis_template: z.string().optional(),
  }),
});
export type ZeroShotRequest = z.infer<typeof zeroShotRequestSchema>;

/** Both tasks answer with labels and scores, highest score first. */
export const labelScoresSchema = z.array(z.object({ label: z.string(), score: z.number().min(0).max(1) }));
export type LabelScores = z.infer<typeof labelScoresSchema>;

export const DEFAULT_HYPOTHESIS_TEMPLATE = 'This is a photo of {}.';

export function zeroShotRequest(image: Uint8Array, candidateLabels: string[]): ZeroShotRequest {
  return {
    inputs: Buffer.from(image).toString('base64'),
    parameters: { candidate_labels: candidateLabels, hypothesis_template: DEFAULT_HYPOTHESIS_TEMPLATE },
  };
}

/** SageMaker's InvokeEndpoint payload limits, in bytes. */
export const PAYLOAD_LIMIT_BYTES = { serverless: 4 * 1024 * 1024, realtime: 6 * 1024 * 1024 } as const;
