/**
 * Classify: calls both endpoints per open asset. A model error is the asset's outcome (FAILED / MODEL_ERROR);
 * transport errors and throttling that survive the SDK's retries fail the task so Step Functions retries it.
 */
import { loadTaxonomy } from '../core/taxonomy';
import { isOpen, type AssetBatch, type AssetWork } from '../core/work-items';
import { fitToPayload, PayloadFitError } from '../core/image';
import { classifyCategory, classifyPolicy, imageBudgets, ModelAnswerError, PayloadTooLargeError } from '../adapters/model-endpoints';
import { getObjectBytes } from '../adapters/object-store';
import { setting } from '../adapters/settings';
import { logger } from './logger';

export async function handler(input: AssetBatch): Promise<AssetBatch> {
  const bucket = setting('dataBucket');
  const candidates = loadTaxonomy().candidateLabels();
  const assets: AssetWork[] = [];
  for (const asset of input.assets) assets.push(isOpen(asset) ? await classifyOne(bucket, candidates, asset) : asset);
  return { assets };
}

async function classifyOne(bucket: string, candidates: string[], asset: AssetWork): Promise<AssetWork> {
  if (asset.image === undefined) throw new Error(`asset ${asset.item.assetKey} reached Classify without a preprocessed image`);
  const stored = await getObjectBytes(bucket, asset.image.modelInputKey);
  try {
    // Downscale before sending when the model input exceeds an endpoint's payload limit (never for the usual
    // ≤512 px input, but a smaller limit or a larger input must not turn into a failed call).
    const budgets = imageBudgets(candidates);
    const forCategory = (await fitToPayload(stored, budgets.category)).bytes;
    const forPolicy = (await fitToPayload(stored, budgets.policy)).bytes;
    const [category, policy] = await Promise.all([classifyCategory(forCategory, candidates), classifyPolicy(forPolicy)]);
    return {
      ...asset,
      classification: {
        categoryLabels: category.labels,
        policyLabels: policy.labels,
        categoryModel: category.lineage,
        policyModel: policy.lineage,
      },
    };
  } catch (error) {
    if (error instanceof PayloadFitError || error instanceof PayloadTooLargeError) {
      return { ...asset, early: { outcome: 'FAILED', reasons: ['PAYLOAD_TOO_LARGE'], detail: (error as Error).message, stage: 'Classify' } };
    }
    if (error instanceof ModelAnswerError) {
      logger.warn('model could not classify asset', { assetKey: asset.item.assetKey, error: error.message });
      return { ...asset, early: { outcome: 'FAILED', reasons: ['MODEL_ERROR'], detail: error.message, stage: 'Classify' } };
    }
    throw error;
  }
}
