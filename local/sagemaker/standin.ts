/**
 * A local stand-in for the SageMaker runtime's InvokeEndpoint (`POST /endpoints/{EndpointName}/invocations`), answering
 * the Hugging Face inference toolkit's request/response shapes with small real models whose weights ship in npm
 * packages. Point `@aws-sdk/client-sagemaker-runtime` at it with `endpoint: url`; responses and errors are shaped so the
 * SDK surfaces them as it would the real service's (ModelError, ValidationError, ThrottlingException, variant header).
 *
 * - `image-classification`: raw image/jpeg or image/png body -> nsfwjs MobileNetV2 policy scores.
 * - `zero-shot-image-classification`: JSON `{inputs: base64 image, parameters: {candidate_labels}}` -> CenterNet COCO-80
 *   detections -> zeroShotFromDetections (a detector-based stand-in for CLIP; see that file for what it can't do).
 */
import { listenOnLoopback } from '../listen';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { PAYLOAD_LIMIT_BYTES, zeroShotRequestSchema, type HuggingFaceTask, type LabelScores } from '../../lambdas/core/hf-contract';
import type { Taxonomy } from '../../lambdas/core/taxonomy';
import type { StandInVariant } from '../../lambdas/core/model-variants';
import { sharedModelPool, type ModelPool } from './model-pool';
import { modelServerEnabled, sharedRemoteModelPool } from './model-server-client';
import { ImageDecodeError } from './image-decode-error';
import { zeroShotFromDetections } from './zero-shot-from-detections';

export interface StandInEndpoint {
  task: HuggingFaceTask;
  /** Reported as the InvokedProductionVariant; defaults name the local model so records show who answered. */
  variant?: string;
}

export interface InvocationRequest {
  endpointName: string;
  contentType: string;
  body: Buffer;
}

/** What a test hook answers instead of the model: scores, a model failure, or throttling. */
export type InterceptResult = { labels: Array<{ label: string; score: number }> } | { modelError: string } | { throttle: true } | undefined;

export interface SageMakerStandInOptions {
  endpoints: Record<string, StandInEndpoint>;
  taxonomy: Taxonomy;
  /** 0 (the default) picks a free port. The server listens on 127.0.0.1 only. */
  port?: number;
  /** Called for every well-formed invocation of a configured endpoint; a non-undefined result replaces the model (a promise delays the answer). */
  intercept?: (request: InvocationRequest) => InterceptResult | Promise<InterceptResult>;
  /** Request bodies above this are refused; defaults to the real-time endpoint limit (6 MB). */
  payloadLimitBytes?: number;
  /** Worker threads the models run in (each loads both models); default one per core (model-pool.ts). */
  modelWorkers?: number;
}

export interface SageMakerStandIn {
  url: string;
  port: number;
  /** InvokeEndpoint requests received so far (any outcome, SDK retries included). */
  readonly invocations: number;
  /** Starts the model workers and loads the models in each (a run calls it at start-up, without waiting on it). */
  warmUp(): Promise<void>;
  stop(): Promise<void>;
}

/** The variant each local model answers under; records name the model behind it (lambdas/core/model-variants.ts). */
export const DEFAULT_VARIANTS: Record<HuggingFaceTask, StandInVariant> = {
  'zero-shot-image-classification': 'local-centernet-coco80',
  'image-classification': 'local-nsfwjs-mobilenetv2',
};

/**
 * Loads the models behind the given tasks (both by default) in this thread, for code that calls the models directly;
 * the stand-in itself runs them in its worker pool (see `SageMakerStandIn.warmUp`).
 */
export async function warmUpModels(tasks: readonly HuggingFaceTask[] = ['zero-shot-image-classification', 'image-classification']): Promise<void> {
  // Imported here, not at the top: the stand-in itself never loads TensorFlow.js into the session's thread.
  const [{ loadObjectDetector }, { loadPolicyModel }] = await Promise.all([import('./object-detector'), import('./policy-model')]);
  await Promise.all(tasks.map((task) => (task === 'zero-shot-image-classification' ? loadObjectDetector() : loadPolicyModel())));
}

const INVOCATIONS_PATH = /^\/endpoints\/([^/]+)\/invocations$/;
const IMAGE_CONTENT_TYPES = new Set(['image/jpeg', 'image/png']);

/** The model container rejected the request (SageMaker relays it as ModelError with the container's status). */
class ModelRejection extends Error {
  constructor(
    message: string,
    readonly originalStatusCode = 400,
  ) {
    super(message);
  }
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export async function startSageMakerStandIn(options: SageMakerStandInOptions): Promise<SageMakerStandIn> {
  const payloadLimit = options.payloadLimitBytes ?? PAYLOAD_LIMIT_BYTES.realtime;
  // In the checkout's background model server (loaded once for many commands), or in this process's own threads.
  const models = modelServerEnabled() ? sharedRemoteModelPool(options.modelWorkers) : sharedModelPool(options.modelWorkers);
  let invocations = 0;

  async function invoke(request: IncomingMessage): Promise<Reply> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const match = request.method === 'POST' ? INVOCATIONS_PATH.exec(url.pathname) : null;
    if (match === null) {
      await drain(request, 0);
      return awsError(404, 'UnknownOperationException', `no operation at ${request.method} ${url.pathname}`);
    }
    invocations += 1;
    const endpointName = decodeURIComponent(match[1] ?? '');
    const body = await drain(request, payloadLimit);
    const endpoint = Object.hasOwn(options.endpoints, endpointName) ? options.endpoints[endpointName] : undefined;
    if (endpoint === undefined) {
      return awsError(400, 'ValidationError', `Endpoint ${endpointName} of account 000000000000 not found.`);
    }
    if (body === undefined) {
      // Real-time endpoints answer an oversize body with HTTP 413; serverless ones with a ValidationError
      // ("Request ... has oversize body"). Both at once: a 413 the SDK raises as a named ValidationError.
      return awsError(413, 'ValidationError', `Request body exceeds the ${payloadLimit} byte InvokeEndpoint payload limit.`);
    }
    const variant = endpoint.variant ?? DEFAULT_VARIANTS[endpoint.task];
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

    try {
      const intercepted = await options.intercept?.({ endpointName, contentType, body });
      let labels: LabelScores;
      if (intercepted !== undefined && 'throttle' in intercepted) {
        return awsError(429, 'ThrottlingException', 'Rate exceeded');
      } else if (intercepted !== undefined && 'modelError' in intercepted) {
        throw new ModelRejection(intercepted.modelError);
      } else if (intercepted !== undefined) {
        labels = intercepted.labels;
      } else {
        labels = await runModel(models, endpoint.task, contentType, body, options.taxonomy);
      }
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'x-amzn-invoked-production-variant': variant },
        body: labels,
      };
    } catch (error) {
      if (error instanceof ModelRejection) return modelError(variant, error.originalStatusCode, error.message);
      if (error instanceof ImageDecodeError) return modelError(variant, 400, error.message);
      // Anything else failed inside the "container": SageMaker relays a 5xx from the model as ModelError too.
      return modelError(variant, 500, error instanceof Error ? error.message : String(error));
    }
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    invoke(request)
      .catch((error: unknown) => awsError(500, 'InternalFailure', error instanceof Error ? error.message : String(error)))
      .then((reply) => send(response, reply));
  });
  const port = await listenOnLoopback(server, options.port);

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get invocations() {
      return invocations;
    },
    warmUp: () => models.warmUp(),
    async stop() {
      try {
        await new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          // The SDK keeps connections alive; without this close() would wait for them to time out.
          server.closeAllConnections();
        });
      } finally {
        // The pool outlives the stand-in (the next session of this process reuses its loaded models).
        models.release();
      }
    },
  };
}

async function runModel(models: ModelPool, task: HuggingFaceTask, contentType: string, body: Buffer, taxonomy: Taxonomy): Promise<LabelScores> {
  if (task === 'image-classification') {
    if (!IMAGE_CONTENT_TYPES.has(contentType)) {
      throw new ModelRejection(`content type "${contentType}" is not supported; send image/jpeg or image/png bytes`);
    }
    return models.run('policy', body);
  }
  if (contentType !== 'application/json') {
    throw new ModelRejection(`content type "${contentType}" is not supported; send application/json`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ModelRejection('request body is not valid JSON');
  }
  const parsed = zeroShotRequestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ModelRejection(`invalid zero-shot request: ${problems.join('; ')}`);
  }
  const detections = await models.run('detector', Buffer.from(parsed.data.inputs, 'base64'));
  return zeroShotFromDetections(detections, parsed.data.parameters.candidate_labels, taxonomy);
}

/** Reads the whole body, or returns undefined once it exceeds `limit` (still draining it, so the client gets the reply). */
function drain(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else chunks.length = 0;
    });
    request.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
    request.on('error', reject);
  });
}

function awsError(status: number, errorType: string, message: string): Reply {
  // The SDK reads the error's type from x-amzn-errortype and its message from the body's `message`/`Message`.
  return { status, headers: { 'x-amzn-errortype': errorType }, body: { message } };
}

/** The 424 SageMaker returns when the model container answers with an error status. */
function modelError(variant: string, originalStatusCode: number, originalMessage: string): Reply {
  const kind = originalStatusCode >= 500 ? 'server' : 'client';
  const message = `Received ${kind} error (${originalStatusCode}) from ${variant} with message "${originalMessage}".`;
  return {
    status: 424,
    headers: { 'x-amzn-errortype': 'ModelError' },
    body: {
      ErrorCode: `${kind.toUpperCase()}_ERROR_FROM_MODEL`,
      // `Message` is the modelled member (the real service's casing); `message` kept for plain-HTTP readers.
      Message: message,
      message,
      OriginalMessage: originalMessage,
      OriginalStatusCode: originalStatusCode,
    },
  };
}

function send(response: ServerResponse, reply: Reply): void {
  const payload = Buffer.from(JSON.stringify(reply.body));
  response.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': String(payload.length),
    'x-amzn-requestid': randomUUID(),
    ...reply.headers,
  });
  response.end(payload);
}
