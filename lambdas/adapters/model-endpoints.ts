/**
 * Calls the two SageMaker endpoints with the Hugging Face inference toolkit contract of each one's task and returns
 * the parsed labels with the lineage of the model that answered. Model errors, cold-start and throttling failures are
 * retried with backoff within the caller's budget (./model-retry.ts).
 */
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { labelScoresSchema, zeroShotRequest, type LabelScores } from '../core/hf-contract';
import type { ModelLineage } from '../core/records';
import { answeringModel } from '../core/model-variants';
import { sageMakerClient } from './aws-clients';
import { withEndpointSlot } from './endpoint-guard';
import { withModelRetries, type ModelCallBudget } from './model-retry';
import { numericSetting, setting } from './settings';

export { ModelCallGaveUpError, type ModelCallBudget } from './model-retry';

export interface ModelAnswer {
  labels: LabelScores;
  lineage: ModelLineage;
}

/** An answer that breaks the label/score contract: the model answered, so another call would answer the same. */
export class ModelAnswerError extends Error {
  constructor(
    message: string,
    readonly endpointName: string,
  ) {
    super(message);
    this.name = 'ModelAnswerError';
  }
}

export class PayloadTooLargeError extends Error {
  constructor(bytes: number, limit: number, endpointName: string) {
    super(`model input of ${bytes} bytes exceeds the ${limit}-byte payload limit of endpoint ${endpointName}`);
    this.name = 'PayloadTooLargeError';
  }
}

/**
 * Classify's budget for all its model calls: MODEL_CALL_BUDGET_MS from now (the stack derives it from Classify's
 * timeout; the local runner calls handlers without a Lambda context), and never later than the Lambda context's
 * remaining time minus `safetyMs` when there is one.
 */
export function modelCallBudget(safetyMs: number, context?: { getRemainingTimeInMillis?: () => number }): ModelCallBudget {
  const now = Date.now();
  const fromSetting = now + numericSetting('modelCallBudgetMs');
  const remaining = context?.getRemainingTimeInMillis?.();
  const fromContext = remaining === undefined ? Infinity : now + remaining - safetyMs;
  return { deadline: Math.min(fromSetting, fromContext), baseDelayMs: numericSetting('modelRetryBaseDelayMs') };
}

async function invoke(
  endpointName: string,
  contentType: string,
  body: Uint8Array,
  limit: number,
  budget: ModelCallBudget,
  concurrency: number,
): Promise<{ body: string; variant: string }> {
  if (body.byteLength > limit) throw new PayloadTooLargeError(body.byteLength, limit, endpointName);
  const tableName = setting('tableName');
  // Each attempt holds one of the endpoint's slots (the guard across executions), not the waits between attempts.
  return withModelRetries(endpointName, budget, (abortSignal) =>
    withEndpointSlot({ tableName, endpointName, limit: concurrency, signal: abortSignal }, async () => {
      const response = await sageMakerClient().send(
        new InvokeEndpointCommand({ EndpointName: endpointName, ContentType: contentType, Accept: 'application/json', Body: body }),
        { abortSignal },
      );
      return { body: new TextDecoder().decode(response.Body), variant: response.InvokedProductionVariant ?? '' };
    }),
  );
}

function parseLabels(raw: string, endpointName: string): LabelScores {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ModelAnswerError(`endpoint ${endpointName} answered with non-JSON`, endpointName);
  }
  const parsed = labelScoresSchema.safeParse(value);
  if (!parsed.success) throw new ModelAnswerError(`endpoint ${endpointName} answered outside the label/score contract`, endpointName);
  return [...parsed.data].sort((a, b) => b.score - a.score);
}

function answerFrom(raw: { body: string; variant: string }, endpointName: string, model: 'category' | 'policy'): ModelAnswer {
  const configured = {
    modelId: setting(model === 'category' ? 'categoryModelId' : 'policyModelId'),
    modelVersion: setting(model === 'category' ? 'categoryModelVersion' : 'policyModelVersion'),
  };
  // The lineage names the model that answered (the variant says which), not only the one the stack configured.
  return { labels: parseLabels(raw.body, endpointName), lineage: { ...answeringModel(raw.variant, configured), endpointName, variant: raw.variant } };
}

/**
 * The largest image each endpoint can take: the policy endpoint gets raw bytes; the zero-shot request carries the
 * image base64-encoded (4/3 larger) inside JSON with the candidate labels.
 */
export function imageBudgets(candidateLabels: string[]): { category: number; policy: number } {
  const envelope = new TextEncoder().encode(JSON.stringify(zeroShotRequest(new Uint8Array(0), candidateLabels))).byteLength;
  return {
    category: Math.floor(((numericSetting('categoryPayloadLimit') - envelope - 64) * 3) / 4),
    policy: numericSetting('policyPayloadLimit'),
  };
}

/** Zero-shot image classification over the taxonomy's candidate labels (CLIP-style endpoint). */
export async function classifyCategory(image: Uint8Array, candidateLabels: string[], budget: ModelCallBudget): Promise<ModelAnswer> {
  const endpointName = setting('categoryEndpoint');
  const body = new TextEncoder().encode(JSON.stringify(zeroShotRequest(image, candidateLabels)));
  const raw = await invoke(
    endpointName,
    'application/json',
    body,
    numericSetting('categoryPayloadLimit'),
    budget,
    numericSetting('categoryEndpointConcurrency'),
  );
  return answerFrom(raw, endpointName, 'category');
}

/** Image classification of policy-sensitive content (raw JPEG bytes). */
export async function classifyPolicy(image: Uint8Array, budget: ModelCallBudget): Promise<ModelAnswer> {
  const endpointName = setting('policyEndpoint');
  const raw = await invoke(endpointName, 'image/jpeg', image, numericSetting('policyPayloadLimit'), budget, numericSetting('policyEndpointConcurrency'));
  return answerFrom(raw, endpointName, 'policy');
}
