/**
 * Classify: calls both endpoints per open asset. Model errors, a cold endpoint, throttling and 5xx answers are
 * retried with backoff (lambdas/adapters/model-retry.ts) within one deadline for the whole invocation
 * (MODEL_CALL_BUDGET_MS, below the function timeout); an asset whose calls still fail, or that the deadline leaves
 * uncalled, becomes FAILED / MODEL_ERROR with the attempts in its detail and the last error's code (a rerun of the
 * batch retries it); reading its model input from S3 failing after the SDK's retries makes it FAILED /
 * PROCESSING_ERROR. Either way the other assets of the child go on. Errors about the request itself (access, a
 * missing endpoint) fail the task.
 */
import { withStageMs } from '../core/kpis/stage-timings';
import { loadTaxonomy } from '../core/taxonomy';
import { isOpen, type AssetBatch, type AssetWork } from '../core/work-items';
import { fitToPayload, PayloadFitError } from '../core/image';
import {
  classifyCategory,
  classifyPolicy,
  imageBudgets,
  modelCallBudget,
  ModelAnswerError,
  ModelCallGaveUpError,
  PayloadTooLargeError,
  type ModelCallBudget,
} from '../adapters/model-endpoints';
import { getObjectBytes } from '../adapters/object-store';
import { summarizeError } from '../adapters/aws-errors';
import { setting } from '../adapters/settings';
import { CLASSIFY_SAFETY_SECONDS } from '../stages';
import { logger } from './logger';
import { instrumented, recordModelAttempt } from './metrics';

export const handler = instrumented('Classify', classify);

async function classify(input: AssetBatch, context?: { getRemainingTimeInMillis?: () => number }): Promise<AssetBatch> {
  const budget = modelCallBudget(CLASSIFY_SAFETY_SECONDS * 1000, context);
  const bucket = setting('dataBucket');
  const candidates = loadTaxonomy().candidateLabels();
  const assets: AssetWork[] = [];
  for (const asset of input.assets) {
    const started = Date.now();
    assets.push(isOpen(asset) ? withStageMs(await classifyOne(bucket, candidates, asset, budget), 'Classify', started) : asset);
  }
  return { assets };
}

async function classifyOne(bucket: string, candidates: string[], asset: AssetWork, budget: ModelCallBudget): Promise<AssetWork> {
  if (asset.image === undefined) throw new Error(`asset ${asset.item.assetKey} reached Classify without a preprocessed image`);
  let stored: Buffer;
  try {
    stored = await getObjectBytes(bucket, asset.image.modelInputKey);
  } catch (error) {
    const summary = summarizeError(error, `reading ${asset.image.modelInputKey}`);
    return { ...asset, early: { outcome: 'FAILED', reasons: ['PROCESSING_ERROR'], detail: summary.message, stage: 'Classify', error: summary } };
  }
  try {
    // Downscale before sending when the model input exceeds an endpoint's payload limit (never for the usual
    // ≤512 px input, but a smaller limit or a larger input must not turn into a failed call).
    const budgets = imageBudgets(candidates);
    const forCategory = (await fitToPayload(stored, budgets.category)).bytes;
    const forPolicy = (await fitToPayload(stored, budgets.policy)).bytes;
    // Both calls run to the end (allSettled), so a give-up on one leaves no call of this asset running into the next.
    const [category, policy] = await bothOrFirstError(
      classifyCategory(forCategory, candidates, { ...budget, onAttempt: (attempt) => recordModelAttempt('category', attempt) }),
      classifyPolicy(forPolicy, { ...budget, onAttempt: (attempt) => recordModelAttempt('policy', attempt) }),
    );
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
    if (error instanceof ModelAnswerError || error instanceof ModelCallGaveUpError) {
      logger.warn('model could not classify asset', { assetKey: asset.item.assetKey, error: error.message });
      const code = error instanceof ModelCallGaveUpError ? error.code : error.name;
      return {
        ...asset,
        early: { outcome: 'FAILED', reasons: ['MODEL_ERROR'], detail: error.message, stage: 'Classify', error: { code, message: error.message } },
      };
    }
    throw error;
  }
}

async function bothOrFirstError<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [first, second] = await Promise.allSettled([a, b]);
  if (first.status === 'rejected') throw first.reason;
  if (second.status === 'rejected') throw second.reason;
  return [first.value, second.value];
}
