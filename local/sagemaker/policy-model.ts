/**
 * Policy (content-safety) classifier for local runs: nsfwjs' MobileNetV2, whose weights ship inside the nsfwjs npm
 * package as base64 bundles, so loading needs no network. Runs on the shared tfjs wasm runtime.
 */
import { load, type NSFWJS } from 'nsfwjs';
import { decodeToTensor, tensorflow } from './tf-runtime';

export const POLICY_LABELS = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;

let policyModel: Promise<NSFWJS> | undefined;

/** Loads the model once per process (well under a second; nsfwjs logs one "You're using the model" line). */
export function loadPolicyModel(): Promise<NSFWJS> {
  policyModel ??= tensorflow().then(() => quietly(() => load('MobileNetV2')));
  return policyModel;
}

/** Scores of the five nsfwjs classes (lower-cased, summing to 1), highest first. Throws ImageDecodeError on non-images. */
export async function classifyPolicy(image: Uint8Array): Promise<Array<{ label: string; score: number }>> {
  const model = await loadPolicyModel();
  const pixels = await decodeToTensor(image);
  try {
    // nsfwjs scales 0..255 to 0..1 and resizes to 224x224 itself.
    const predictions = await model.classify(pixels, POLICY_LABELS.length);
    return predictions.map((prediction) => ({ label: prediction.className.toLowerCase(), score: prediction.probability })).sort((a, b) => b.score - a.score);
  } finally {
    pixels.dispose();
  }
}

/** nsfwjs announces on console.info that it uses its bundled model; that is the point here, so keep the CLI quiet. */
async function quietly<T>(task: () => Promise<T>): Promise<T> {
  const info = console.info;
  console.info = () => undefined;
  try {
    return await task();
  } finally {
    console.info = info;
  }
}
