/**
 * Calls the two SageMaker endpoints with the Hugging Face inference toolkit contract of each one's task and returns
 * the parsed labels with the lineage of the model that answered.
 */
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { labelScoresSchema, zeroShotRequest, type LabelScores } from '../core/hf-contract';
import type { ModelLineage } from '../core/records';
import { sageMakerClient } from './aws-clients';
import { numericSetting, setting } from './settings';

export interface ModelAnswer {
  labels: LabelScores;
  lineage: ModelLineage;
}

/** An error from the model itself (SageMaker `ModelError`, or an answer that breaks the contract): not retryable. */
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

async function invoke(endpointName: string, contentType: string, body: Uint8Array, limit: number): Promise<{ body: string; variant: string }> {
  if (body.byteLength > limit) throw new PayloadTooLargeError(body.byteLength, limit, endpointName);
  try {
    const response = await sageMakerClient().send(
      new InvokeEndpointCommand({ EndpointName: endpointName, ContentType: contentType, Accept: 'application/json', Body: body }),
    );
    return { body: new TextDecoder().decode(response.Body), variant: response.InvokedProductionVariant ?? '' };
  } catch (error) {
    if ((error as Error).name === 'ModelError') {
      throw new ModelAnswerError(`endpoint ${endpointName} reported a model error: ${(error as Error).message}`, endpointName);
    }
    throw error;
  }
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
  return {
    labels: parseLabels(raw.body, endpointName),
    lineage: {
      modelId: setting(model === 'category' ? 'categoryModelId' : 'policyModelId'),
      modelVersion: setting(model === 'category' ? 'categoryModelVersion' : 'policyModelVersion'),
      endpointName,
      variant: raw.variant,
    },
  };
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
export async function classifyCategory(image: Uint8Array, candidateLabels: string[]): Promise<ModelAnswer> {
  const endpointName = setting('categoryEndpoint');
  const body = new TextEncoder().encode(JSON.stringify(zeroShotRequest(image, candidateLabels)));
  return answerFrom(await invoke(endpointName, 'application/json', body, numericSetting('categoryPayloadLimit')), endpointName, 'category');
}

/** Image classification of policy-sensitive content (raw JPEG bytes). */
export async function classifyPolicy(image: Uint8Array): Promise<ModelAnswer> {
  const endpointName = setting('policyEndpoint');
  return answerFrom(await invoke(endpointName, 'image/jpeg', image, numericSetting('policyPayloadLimit')), endpointName, 'policy');
}
