/**
 * A minimal local stand-in for the SageMaker control plane (the `sagemaker` API, not the runtime), enough for the
 * model rollback command: DescribeEndpoint, DescribeEndpointConfig, ListEndpointConfigs (NameContains, paged, newest
 * first), ListTags (paged) and UpdateEndpoint, over endpoints and endpoint configs (with their tags) seeded by the
 * caller. Point the real `@aws-sdk/client-sagemaker` client at it with `endpoint: url`.
 *
 * Wire format (what the SDK's AwsJson1_1Protocol sends and reads, `@aws-sdk/core` protocols/json): `POST /` with
 * `Content-Type: application/x-amz-json-1.1` and `X-Amz-Target: SageMaker.<Operation>`, a JSON body of the input
 * members; replies are JSON with timestamps as epoch seconds. Errors are HTTP 400 with `{"__type": "<Code>",
 * "message": "…"}` (also in `x-amzn-errortype`), which the SDK raises as an exception named `<Code>`. Like the real
 * service, a missing endpoint or config is a `ValidationException` ("Could not find endpoint …"), not a modelled
 * ResourceNotFound, and UpdateEndpoint on an endpoint that is still creating or updating is refused.
 *
 * UpdateEndpoint puts the endpoint in `Updating` (the new config in `PendingDeploymentSummary`) and it becomes
 * `InService` on the new config once `updateDelayMs` has passed (checked lazily on the next request; 0 = at once).
 */
import { listenOnLoopback } from '../listen';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { buffer } from 'node:stream/consumers';

export const LOCAL_CONTROL_PLANE_REGION = 'us-east-1';
export const LOCAL_CONTROL_PLANE_ACCOUNT = '000000000000';

/** Endpoint statuses during which SageMaker refuses UpdateEndpoint. */
const BUSY_STATUSES = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']);

export interface SeedVariant {
  readonly variantName: string;
  /** @default `<config name>-model` */
  readonly modelName?: string;
  /** Serverless variant when set; otherwise an instance variant. */
  readonly serverless?: { readonly memorySizeInMb: number; readonly maxConcurrency: number };
  /** @default 'ml.m5.xlarge' (instance variants) */
  readonly instanceType?: string;
  /** @default 1 (instance variants) */
  readonly initialInstanceCount?: number;
}

export interface SeedEndpointConfig {
  readonly name: string;
  /** @default one serverless `AllTraffic` variant */
  readonly variants?: readonly SeedVariant[];
  /** Tags, as ListTags returns them. @default none */
  readonly tags?: Readonly<Record<string, string>>;
  /** Milliseconds before the stand-in's start at which the config was created (older configs first). @default 0 */
  readonly ageMs?: number;
}

export interface SeedEndpoint {
  readonly name: string;
  readonly configName: string;
  /** @default 'InService' */
  readonly status?: string;
  /** Returned as `LastDeploymentConfig` (the API's PascalCase shape), e.g. a BlueGreenUpdatePolicy with alarms. */
  readonly lastDeploymentConfig?: Record<string, unknown>;
  /** Tags, as ListTags returns them. @default none */
  readonly tags?: Readonly<Record<string, string>>;
}

export interface ControlPlaneStandInOptions {
  readonly endpoints?: readonly SeedEndpoint[];
  readonly endpointConfigs?: readonly SeedEndpointConfig[];
  /** How long an update stays `Updating`. @default 0 */
  readonly updateDelayMs?: number;
  /**
   * Decides how an update ends: return a failure reason to make it fail (the endpoint goes back to `InService` on its
   * old config with that `FailureReason`, as SageMaker does after a failed or rolled-back update).
   */
  readonly updateOutcome?: (endpointName: string, configName: string) => string | undefined;
  /** 0 (the default) picks a free port. The server listens on 127.0.0.1 only. */
  readonly port?: number;
  /**
   * Most items a List page holds, whatever MaxResults asks (the API allows shorter pages; tests use it to exercise
   * NextToken). @default 100
   */
  readonly maxPageSize?: number;
}

export interface ControlPlaneRequest {
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

export interface EndpointSnapshot {
  readonly name: string;
  readonly configName: string;
  readonly status: string;
  readonly pendingConfigName?: string;
  readonly failureReason?: string;
}

export interface ControlPlaneStandIn {
  readonly url: string;
  readonly port: number;
  /** Every request received, in order (SDK retries included). */
  readonly requests: readonly ControlPlaneRequest[];
  /** The endpoint's current state (settling a finished update first), or undefined. */
  endpoint(name: string): EndpointSnapshot | undefined;
  stop(): Promise<void>;
}

interface EndpointState {
  name: string;
  configName: string;
  status: string;
  creationTime: number;
  lastModifiedTime: number;
  lastDeploymentConfig?: Record<string, unknown>;
  failureReason?: string;
  pending?: { configName: string; settlesAt: number; startTime: number; deploymentConfig?: Record<string, unknown> };
}

interface ConfigState {
  name: string;
  variants: readonly SeedVariant[];
  creationTime: number;
}

/** Maximum MaxResults of ListEndpointConfigs and ListTags. */
const MAX_PAGE = 100;

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly errorType?: string;
}

class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const endpointArn = (name: string): string => `arn:aws:sagemaker:${LOCAL_CONTROL_PLANE_REGION}:${LOCAL_CONTROL_PLANE_ACCOUNT}:endpoint/${name.toLowerCase()}`;
const configArn = (name: string): string =>
  `arn:aws:sagemaker:${LOCAL_CONTROL_PLANE_REGION}:${LOCAL_CONTROL_PLANE_ACCOUNT}:endpoint-config/${name.toLowerCase()}`;
const epochSeconds = (ms: number): number => ms / 1000;

export async function startControlPlaneStandIn(options: ControlPlaneStandInOptions = {}): Promise<ControlPlaneStandIn> {
  const started = Date.now();
  const updateDelayMs = options.updateDelayMs ?? 0;
  const requests: ControlPlaneRequest[] = [];
  // SageMaker names are case-insensitive on lookup (the ARN is lower-cased); keep the name as created.
  const configs = new Map<string, ConfigState>();
  const endpoints = new Map<string, EndpointState>();
  // Keyed by ARN, as ListTags is.
  const tags = new Map<string, Readonly<Record<string, string>>>();
  for (const seed of options.endpointConfigs ?? []) {
    configs.set(seed.name.toLowerCase(), {
      name: seed.name,
      variants: seed.variants ?? [{ variantName: 'AllTraffic', serverless: { memorySizeInMb: 6144, maxConcurrency: 5 } }],
      creationTime: started - (seed.ageMs ?? 0),
    });
    tags.set(configArn(seed.name), seed.tags ?? {});
  }
  for (const seed of options.endpoints ?? []) {
    if (!configs.has(seed.configName.toLowerCase())) {
      throw new Error(`seed endpoint ${seed.name}: its config ${seed.configName} is not among endpointConfigs`);
    }
    endpoints.set(seed.name.toLowerCase(), {
      name: seed.name,
      configName: seed.configName,
      status: seed.status ?? 'InService',
      creationTime: started,
      lastModifiedTime: started,
      lastDeploymentConfig: seed.lastDeploymentConfig,
    });
    tags.set(endpointArn(seed.name), seed.tags ?? {});
  }

  function settle(endpoint: EndpointState): EndpointState {
    const pending = endpoint.pending;
    if (pending !== undefined && Date.now() >= pending.settlesAt) {
      const failure = options.updateOutcome?.(endpoint.name, pending.configName);
      endpoint.pending = undefined;
      endpoint.status = 'InService';
      endpoint.lastModifiedTime = Date.now();
      if (failure === undefined) {
        endpoint.configName = pending.configName;
        endpoint.failureReason = undefined;
        // The deployment that just ran is now the last one (none given and none retained: SageMaker's default).
        endpoint.lastDeploymentConfig = pending.deploymentConfig;
      } else {
        endpoint.failureReason = failure;
      }
    }
    return endpoint;
  }

  function findEndpoint(name: unknown): EndpointState {
    const key = requiredName(name, 'EndpointName');
    const endpoint = endpoints.get(key.toLowerCase());
    if (endpoint === undefined) throw new ApiError('ValidationException', `Could not find endpoint "${endpointArn(key)}".`);
    return settle(endpoint);
  }

  function findConfig(name: unknown): ConfigState {
    const key = requiredName(name, 'EndpointConfigName');
    const config = configs.get(key.toLowerCase());
    if (config === undefined) {
      throw new ApiError('ValidationException', `Could not find endpoint configuration "${configArn(key)}".`);
    }
    return config;
  }

  function describeEndpoint(input: Record<string, unknown>): unknown {
    const endpoint = findEndpoint(input['EndpointName']);
    const variants = findConfig(endpoint.configName).variants;
    const pending = endpoint.pending;
    return {
      EndpointName: endpoint.name,
      EndpointArn: endpointArn(endpoint.name),
      EndpointConfigName: endpoint.configName,
      ProductionVariants: variants.map((variant) => variantSummary(variant)),
      EndpointStatus: endpoint.status,
      ...(endpoint.failureReason !== undefined ? { FailureReason: endpoint.failureReason } : {}),
      CreationTime: epochSeconds(endpoint.creationTime),
      LastModifiedTime: epochSeconds(endpoint.lastModifiedTime),
      ...(endpoint.lastDeploymentConfig !== undefined ? { LastDeploymentConfig: endpoint.lastDeploymentConfig } : {}),
      ...(pending !== undefined
        ? {
            PendingDeploymentSummary: {
              EndpointConfigName: pending.configName,
              ProductionVariants: findConfig(pending.configName).variants.map((variant) => ({
                ...variantSummary(variant),
                VariantStatus: [{ Status: 'Creating', StartTime: epochSeconds(pending.startTime) }],
              })),
              StartTime: epochSeconds(pending.startTime),
            },
          }
        : {}),
    };
  }

  function describeEndpointConfig(input: Record<string, unknown>): unknown {
    const config = findConfig(input['EndpointConfigName']);
    return {
      EndpointConfigName: config.name,
      EndpointConfigArn: configArn(config.name),
      ProductionVariants: config.variants.map((variant) => ({
        VariantName: variant.variantName,
        ModelName: variant.modelName ?? `${config.name}-model`,
        InitialVariantWeight: 1,
        ...(variant.serverless !== undefined
          ? { ServerlessConfig: { MemorySizeInMB: variant.serverless.memorySizeInMb, MaxConcurrency: variant.serverless.maxConcurrency } }
          : { InstanceType: variant.instanceType ?? 'ml.m5.xlarge', InitialInstanceCount: variant.initialInstanceCount ?? 1 }),
      })),
      CreationTime: epochSeconds(config.creationTime),
    };
  }

  function updateEndpoint(input: Record<string, unknown>): unknown {
    const endpoint = findEndpoint(input['EndpointName']);
    const config = findConfig(input['EndpointConfigName']);
    if (BUSY_STATUSES.has(endpoint.status)) {
      throw new ApiError('ValidationException', `Cannot update in-progress endpoint "${endpointArn(endpoint.name)}".`);
    }
    const retain = input['RetainDeploymentConfig'] === true;
    const given = input['DeploymentConfig'] as Record<string, unknown> | undefined;
    if (retain && given !== undefined) {
      throw new ApiError('ValidationException', 'RetainDeploymentConfig cannot be true when DeploymentConfig is given.');
    }
    const now = Date.now();
    endpoint.status = 'Updating';
    endpoint.failureReason = undefined;
    endpoint.lastModifiedTime = now;
    const deploymentConfig = retain ? endpoint.lastDeploymentConfig : given;
    endpoint.pending = { configName: config.name, settlesAt: now + updateDelayMs, startTime: now, deploymentConfig };
    return { EndpointArn: endpointArn(endpoint.name) };
  }

  /** One page of `items` after the opaque `NextToken` (here: the offset), as the List operations page. */
  function page<T>(items: readonly T[], input: Record<string, unknown>): { items: T[]; NextToken?: string } {
    // SageMaker's default page is 10 items.
    const asked = typeof input['MaxResults'] === 'number' ? input['MaxResults'] : 10;
    if (!Number.isInteger(asked) || asked < 1 || asked > MAX_PAGE) {
      throw new ApiError(
        'ValidationException',
        `Value ${String(asked)} at 'maxResults' failed to satisfy constraint: Member must have value between 1 and ${MAX_PAGE}`,
      );
    }
    const size = Math.min(asked, options.maxPageSize ?? MAX_PAGE);
    const start = typeof input['NextToken'] === 'string' ? Number(input['NextToken']) : 0;
    const end = start + size;
    return { items: items.slice(start, end), ...(end < items.length ? { NextToken: String(end) } : {}) };
  }

  function listEndpointConfigs(input: Record<string, unknown>): unknown {
    const contains = typeof input['NameContains'] === 'string' ? input['NameContains'].toLowerCase() : '';
    // SageMaker's default order: CreationTime, Descending.
    const matching = [...configs.values()].filter((config) => config.name.toLowerCase().includes(contains)).sort((a, b) => b.creationTime - a.creationTime);
    const { items, NextToken } = page(matching, input);
    return {
      EndpointConfigs: items.map((config) => ({
        EndpointConfigName: config.name,
        EndpointConfigArn: configArn(config.name),
        CreationTime: epochSeconds(config.creationTime),
      })),
      ...(NextToken !== undefined ? { NextToken } : {}),
    };
  }

  function listTags(input: Record<string, unknown>): unknown {
    const arn = requiredName(input['ResourceArn'], 'ResourceArn').toLowerCase();
    const known = tags.get(arn);
    if (known === undefined) throw new ApiError('ValidationException', `Could not find resource "${arn}".`);
    const { items, NextToken } = page(Object.entries(known), input);
    return { Tags: items.map(([Key, Value]) => ({ Key, Value })), ...(NextToken !== undefined ? { NextToken } : {}) };
  }

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    DescribeEndpoint: describeEndpoint,
    DescribeEndpointConfig: describeEndpointConfig,
    ListEndpointConfigs: listEndpointConfigs,
    ListTags: listTags,
    UpdateEndpoint: updateEndpoint,
  };

  async function handle(request: IncomingMessage): Promise<Reply> {
    const raw = await buffer(request);
    const target = String(request.headers['x-amz-target'] ?? '');
    const contentType = String(request.headers['content-type'] ?? '');
    if (request.method !== 'POST' || !target.startsWith('SageMaker.')) {
      return error(new ApiError('UnknownOperationException', `no operation at ${request.method} ${request.url} (target "${target}")`, 404));
    }
    const operation = target.slice('SageMaker.'.length);
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      return error(new ApiError('SerializationException', 'request body is not a JSON object'));
    }
    requests.push({ operation, input });
    if (!contentType.startsWith('application/x-amz-json-1.1')) {
      return error(new ApiError('UnsupportedMediaType', `expected application/x-amz-json-1.1, got "${contentType}"`, 415));
    }
    const run = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
    if (run === undefined) {
      return error(new ApiError('UnknownOperationException', `the local SageMaker control plane does not implement ${operation}`));
    }
    try {
      return { status: 200, body: run(input) };
    } catch (thrown) {
      if (thrown instanceof ApiError) return error(thrown);
      throw thrown;
    }
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    handle(request)
      .catch((thrown: unknown) => error(new ApiError('InternalFailure', thrown instanceof Error ? thrown.message : String(thrown), 500)))
      .then((reply) => send(response, reply));
  });
  const port = await listenOnLoopback(server, options.port);

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    endpoint(name: string): EndpointSnapshot | undefined {
      const state = endpoints.get(name.toLowerCase());
      if (state === undefined) return undefined;
      const { configName, status, pending, failureReason } = settle(state);
      return { name: state.name, configName, status, pendingConfigName: pending?.configName, failureReason };
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((closeError) => (closeError ? reject(closeError) : resolve()));
        // The SDK keeps connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
      }),
  };
}

function variantSummary(variant: SeedVariant): Record<string, unknown> {
  return variant.serverless !== undefined
    ? {
        VariantName: variant.variantName,
        CurrentWeight: 1,
        DesiredWeight: 1,
        CurrentServerlessConfig: { MemorySizeInMB: variant.serverless.memorySizeInMb, MaxConcurrency: variant.serverless.maxConcurrency },
        DesiredServerlessConfig: { MemorySizeInMB: variant.serverless.memorySizeInMb, MaxConcurrency: variant.serverless.maxConcurrency },
      }
    : {
        VariantName: variant.variantName,
        CurrentWeight: 1,
        DesiredWeight: 1,
        CurrentInstanceCount: variant.initialInstanceCount ?? 1,
        DesiredInstanceCount: variant.initialInstanceCount ?? 1,
      };
}

function requiredName(value: unknown, member: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new ApiError('ValidationException', `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

function error(apiError: ApiError): Reply {
  return { status: apiError.status, errorType: apiError.code, body: { __type: apiError.code, message: apiError.message } };
}

function send(response: ServerResponse, reply: Reply): void {
  const payload = Buffer.from(JSON.stringify(reply.body));
  response.writeHead(reply.status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': String(payload.length),
    'x-amzn-requestid': randomUUID(),
    ...(reply.errorType !== undefined ? { 'x-amzn-errortype': reply.errorType } : {}),
  });
  response.end(payload);
}
