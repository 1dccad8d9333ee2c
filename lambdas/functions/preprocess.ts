/**
 * Preprocess: per asset, header check, decode, hash and downscale with jimp; the model input JPEG goes to S3
 * (content-addressed, so identical images are stored once) and only its key travels on. An S3 call that still fails
 * after the SDK's retries fails that asset only (FAILED / PROCESSING_ERROR with the error's code): the other assets
 * of the child go on, and a rerun of the batch retries it.
 */
import { preprocessImage } from '../core/image';
import { withStageMs } from '../core/kpis/stage-timings';
import { MODEL_INPUT_PREFIX, type AssetBatch, type AssetWork, type ItemBatch, type WorkItem } from '../core/work-items';
import { getObjectBytes, putObject } from '../adapters/object-store';
import { summarizeError } from '../adapters/aws-errors';
import { setting } from '../adapters/settings';
import { logger } from './logger';
import { instrumented } from './metrics';

export const handler = instrumented('Preprocess', preprocess);

async function preprocess(input: ItemBatch): Promise<AssetBatch> {
  const bucket = setting('dataBucket');
  const assets: AssetWork[] = [];
  for (const item of input.Items) {
    const started = Date.now();
    assets.push(withStageMs(await preprocessOne(bucket, item), 'Preprocess', started));
  }
  return { assets };
}

function storageFailure(item: WorkItem, doing: string, error: unknown): AssetWork {
  const summary = summarizeError(error, doing);
  logger.warn('asset failed on S3', { assetKey: item.assetKey, code: summary.code });
  return { item, early: { outcome: 'FAILED', reasons: ['PROCESSING_ERROR'], detail: summary.message, stage: 'Preprocess', error: summary } };
}

async function preprocessOne(bucket: string, item: WorkItem): Promise<AssetWork> {
  let bytes: Buffer;
  try {
    bytes = await getObjectBytes(bucket, item.stagedKey);
  } catch (error) {
    return storageFailure(item, `reading ${item.stagedKey}`, error);
  }
  let result: Awaited<ReturnType<typeof preprocessImage>>;
  try {
    result = await preprocessImage(bytes);
  } catch (error) {
    logger.error('preprocess failed', { assetKey: item.assetKey, error: error as Error });
    return {
      item,
      early: { outcome: 'FAILED', reasons: ['PROCESSING_ERROR'], detail: `preprocessing failed: ${(error as Error).message}`, stage: 'Preprocess' },
    };
  }
  if (!result.ok) {
    return { item, early: { outcome: 'REJECTED_INPUT', reasons: [result.problem], detail: `${item.file}: ${result.detail}`, stage: 'Preprocess' } };
  }
  const modelInputKey = `${MODEL_INPUT_PREFIX}${result.sha256}.jpg`;
  try {
    await putObject(bucket, modelInputKey, result.modelInput, 'image/jpeg');
  } catch (error) {
    return storageFailure(item, `writing ${modelInputKey}`, error);
  }
  return {
    item,
    image: {
      format: result.format,
      width: result.width,
      height: result.height,
      bytes: result.bytes,
      sha256: result.sha256,
      perceptualHash: result.perceptualHash,
      modelInputKey,
    },
  };
}
