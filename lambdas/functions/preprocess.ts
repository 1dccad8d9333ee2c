/**
 * Preprocess: per asset, header check, decode, hash and downscale with jimp; the model input JPEG goes to S3
 * (content-addressed, so identical images are stored once) and only its key travels on.
 */
import { preprocessImage } from '../core/image';
import { withStageMs } from '../core/kpis/stage-timings';
import { MODEL_INPUT_PREFIX, type AssetBatch, type AssetWork, type ItemBatch, type WorkItem } from '../core/work-items';
import { getObjectBytes, putObject } from '../adapters/object-store';
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

async function preprocessOne(bucket: string, item: WorkItem): Promise<AssetWork> {
  const bytes = await getObjectBytes(bucket, item.stagedKey);
  let result: Awaited<ReturnType<typeof preprocessImage>>;
  try {
    result = await preprocessImage(bytes);
  } catch (error) {
    logger.error('preprocess failed', { assetKey: item.assetKey, error: error as Error });
    return { item, early: { outcome: 'FAILED', reasons: ['PROCESSING_ERROR'], detail: `preprocessing failed: ${(error as Error).message}`, stage: 'Preprocess' } };
  }
  if (!result.ok) {
    return { item, early: { outcome: 'REJECTED_INPUT', reasons: [result.problem], detail: `${item.file}: ${result.detail}`, stage: 'Preprocess' } };
  }
  const modelInputKey = `${MODEL_INPUT_PREFIX}${result.sha256}.jpg`;
  await putObject(bucket, modelInputKey, result.modelInput, 'image/jpeg');
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
