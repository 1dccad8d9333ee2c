/**
 * The WebP/AVIF decoders' `.wasm` files ship in the Lambda bundle of every stage that decodes images (a bundle has no
 * node_modules to load them from), and the bundled code is told to look there. (That the bundled Preprocess really
 * decodes WebP and AVIF this way is shown by test/corpus/corpus.test.ts: the local sandboxes bundle alike.)
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_CODEC_WASM } from '../../lambdas/core/image-codecs';
import { COMMON_SETTINGS, STAGES } from '../../lambdas/stages';
import { StageFunction } from '../../lib/constructs/stage-function';

let outdir: string;
let assetDir: string;

beforeAll(async () => {
  outdir = await mkdtemp(path.join(tmpdir(), 'media-triage-bundle-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'BundleProbe');
  // Every setting the stage asks for (its own and the common ones), with a probe value: only the bundle matters here.
  const probeSettings = Object.fromEntries([...COMMON_SETTINGS, ...STAGES.Preprocess.settings].map((key) => [key, 'probe']));
  new StageFunction(stack, 'Preprocess', { stageName: 'Preprocess', stage: STAGES.Preprocess, settings: probeSettings });
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }> };
  const fn = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::Lambda::Function')!;
  const hash = fn.Properties.Code!.S3Key!.replace(/\.zip$/, '');
  app.synth();
  assetDir = path.join(outdir, `asset.${hash}`);
}, 120_000);

afterAll(async () => {
  await rm(outdir, { recursive: true, force: true });
});

describe('the Preprocess bundle', () => {
  it('carries the decoders beside index.mjs, and only the stages that decode images ask for them', async () => {
    const files = await readdir(assetDir);
    expect(files).toContain('index.mjs');
    for (const specifier of Object.values(IMAGE_CODEC_WASM)) expect(files).toContain(path.basename(specifier));
    expect(
      Object.entries(STAGES)
        .filter(([, stage]) => 'wasmCodecs' in stage && stage.wasmCodecs === true)
        .map(([name]) => name),
    ).toEqual(['Preprocess']);
  });

  it('is told to look beside itself (the define is applied), so it never resolves the decoders from node_modules', async () => {
    const code = await readFile(path.join(assetDir, 'index.mjs'), 'utf8');
    expect(code).not.toContain('__MEDIA_TRIAGE_WASM_BESIDE_BUNDLE__');
    expect(code).toContain(path.basename(IMAGE_CODEC_WASM.webp));
  });
});
