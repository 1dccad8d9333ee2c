/**
 * Validation of the `HuggingFaceEndpoint` construct's props, and their resolution into the settings the construct
 * uses: task, compute (with the deployment guardrails of instance mode), extra environment and storage encryption.
 */
import { Token, type Duration } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { HF_TASKS, type HuggingFaceTask } from '../../lambdas/core/hf-contract';
import {
  DEFAULT_DEPLOYMENT,
  DEFAULT_INSTANCE_TYPE,
  DEFAULT_SERVERLESS_MAX_CONCURRENCY,
  DEFAULT_SERVERLESS_MEMORY_MB,
  type HuggingFaceEndpointCompute,
  type InstanceDeploymentOptions,
  type TrafficShifting,
} from './hugging-face-endpoint-props';

const SERVERLESS_MEMORY_SIZES = [1024, 2048, 3072, 4096, 5120, 6144];
const RESERVED_ENVIRONMENT = ['HF_TASK', 'HF_MODEL_ID', 'HF_MODEL_REVISION', 'SAGEMAKER_CONTAINER_LOG_LEVEL'];

export interface ResolvedDeployment {
  readonly trafficShifting: TrafficShifting;
  readonly bakingPeriodSeconds: number;
  readonly terminationWaitSeconds: number;
  readonly maximumExecutionTimeoutSeconds: number;
  readonly max5xxErrorsPerMinute: number;
  readonly maxModelLatencyP99Microseconds: number;
}

export type ResolvedCompute =
  | { readonly mode: 'serverless'; readonly memorySizeInMb: number; readonly maxConcurrency: number }
  | {
      readonly mode: 'instance';
      readonly instanceType: string;
      readonly initialInstanceCount: number;
      readonly deployment: ResolvedDeployment;
    };

export function fail(scope: Construct, message: string): never {
  throw new Error(`HuggingFaceEndpoint ${scope.node.path}: ${message}`);
}

export function validateTask(scope: Construct, task: HuggingFaceTask): HuggingFaceTask {
  if (!(HF_TASKS as readonly string[]).includes(task)) {
    fail(scope, `task must be one of ${HF_TASKS.join(', ')}, got '${String(task)}'.`);
  }
  return task;
}

export function resolveCompute(scope: Construct, compute: HuggingFaceEndpointCompute | undefined): ResolvedCompute {
  if (compute?.mode === 'instance') {
    const instanceType = compute.instanceType ?? DEFAULT_INSTANCE_TYPE;
    const initialInstanceCount = compute.initialInstanceCount ?? 1;
    if (!Token.isUnresolved(instanceType) && !/^ml\.[a-z0-9-]+\.[a-z0-9]+$/.test(instanceType)) {
      fail(scope, `compute.instanceType must be a SageMaker instance type like 'ml.m5.xlarge', got '${instanceType}'.`);
    }
    if (!Number.isInteger(initialInstanceCount) || initialInstanceCount < 1) {
      fail(scope, `compute.initialInstanceCount must be a positive integer, got ${initialInstanceCount}.`);
    }
    const deployment = resolveDeployment(scope, compute.deployment ?? {}, initialInstanceCount);
    return { mode: 'instance', instanceType, initialInstanceCount, deployment };
  }
  if (compute !== undefined && 'deployment' in compute) {
    fail(
      scope,
      'compute.deployment (blue/green guardrails, auto-rollback alarms) is for instance endpoints only; a serverless ' +
        'endpoint is always updated all at once (see hugging-face-endpoint.md).',
    );
  }
  const memorySizeInMb = compute?.memorySizeInMb ?? DEFAULT_SERVERLESS_MEMORY_MB;
  const maxConcurrency = compute?.maxConcurrency ?? DEFAULT_SERVERLESS_MAX_CONCURRENCY;
  if (!SERVERLESS_MEMORY_SIZES.includes(memorySizeInMb)) {
    fail(scope, `compute.memorySizeInMb must be one of ${SERVERLESS_MEMORY_SIZES.join(', ')}, got ${memorySizeInMb}.`);
  }
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 200) {
    fail(scope, `compute.maxConcurrency must be an integer from 1 to 200, got ${maxConcurrency}.`);
  }
  return { mode: 'serverless', memorySizeInMb, maxConcurrency };
}

function resolveDeployment(scope: Construct, options: InstanceDeploymentOptions, instanceCount: number): ResolvedDeployment {
  const seconds = (value: Duration | undefined, fallback: number, name: string, min: number, max: number): number => {
    const s = value === undefined ? fallback : value.toSeconds({ integral: false });
    if (!Number.isInteger(s) || s < min || s > max) {
      fail(scope, `compute.deployment.${name} must be a whole number of seconds from ${min} to ${max}, got ${s}.`);
    }
    return s;
  };
  const trafficShifting = options.trafficShifting ?? { type: 'ALL_AT_ONCE' };
  if (trafficShifting.type === 'CANARY') {
    const { type, value } = trafficShifting.canarySize;
    if (instanceCount < 2) {
      fail(
        scope,
        `a CANARY deployment needs at least 2 instances (the canary is at most half the new fleet); ` +
          `initialInstanceCount is ${instanceCount}. Use ALL_AT_ONCE or more instances.`,
      );
    }
    if (type === 'INSTANCE_COUNT' && (!Number.isInteger(value) || value < 1 || value > Math.floor(instanceCount / 2))) {
      fail(scope, `canarySize INSTANCE_COUNT must be 1 to ${Math.floor(instanceCount / 2)} (half the fleet), got ${value}.`);
    }
    if (type === 'CAPACITY_PERCENT' && (!Number.isInteger(value) || value < 1 || value > 50)) {
      fail(scope, `canarySize CAPACITY_PERCENT must be an integer from 1 to 50, got ${value}.`);
    }
    if (type !== 'INSTANCE_COUNT' && type !== 'CAPACITY_PERCENT') {
      fail(scope, `canarySize.type must be INSTANCE_COUNT or CAPACITY_PERCENT, got '${String(type)}'.`);
    }
  } else if (trafficShifting.type !== 'ALL_AT_ONCE') {
    fail(scope, `trafficShifting.type must be ALL_AT_ONCE or CANARY, got '${String((trafficShifting as { type: unknown }).type)}'.`);
  }
  const bakingPeriodSeconds = seconds(options.bakingPeriod, DEFAULT_DEPLOYMENT.bakingPeriodSeconds, 'bakingPeriod', 0, 3600);
  const terminationWaitSeconds = seconds(options.terminationWait, DEFAULT_DEPLOYMENT.terminationWaitSeconds, 'terminationWait', 0, 3600);
  const maximumExecutionTimeoutSeconds = seconds(
    options.maximumExecutionTimeout,
    DEFAULT_DEPLOYMENT.maximumExecutionTimeoutSeconds,
    'maximumExecutionTimeout',
    600,
    28800,
  );
  if (maximumExecutionTimeoutSeconds <= bakingPeriodSeconds + terminationWaitSeconds) {
    fail(
      scope,
      `compute.deployment.maximumExecutionTimeout (${maximumExecutionTimeoutSeconds} s) must be longer than the baking ` +
        `period plus the termination wait (${bakingPeriodSeconds + terminationWaitSeconds} s).`,
    );
  }
  const max5xxErrorsPerMinute = options.max5xxErrorsPerMinute ?? DEFAULT_DEPLOYMENT.max5xxErrorsPerMinute;
  if (!Number.isInteger(max5xxErrorsPerMinute) || max5xxErrorsPerMinute < 1) {
    fail(scope, `compute.deployment.max5xxErrorsPerMinute must be a positive integer, got ${max5xxErrorsPerMinute}.`);
  }
  const latencyMs = options.maxModelLatencyP99?.toMilliseconds() ?? DEFAULT_DEPLOYMENT.maxModelLatencyP99Seconds * 1000;
  if (!(latencyMs > 0)) fail(scope, `compute.deployment.maxModelLatencyP99 must be positive, got ${latencyMs} ms.`);
  return {
    trafficShifting,
    bakingPeriodSeconds,
    terminationWaitSeconds,
    maximumExecutionTimeoutSeconds,
    max5xxErrorsPerMinute,
    maxModelLatencyP99Microseconds: latencyMs * 1000,
  };
}

export function validateEnvironment(scope: Construct, environment: Record<string, string> | undefined): Record<string, string> {
  const env = environment ?? {};
  const clash = Object.keys(env).filter((name) => RESERVED_ENVIRONMENT.includes(name));
  if (clash.length > 0) {
    fail(scope, `environment cannot set ${clash.join(', ')}; the construct sets them from its props.`);
  }
  return env;
}

/**
 * Instance families with local NVMe instance storage, for which SageMaker rejects a `KmsKeyId` (the volumes are
 * hardware-encrypted): the `d`/`dn`/`de` variants (`c5d`, `m5d`, `r5d`, `c6id`, `g4dn`, `p3dn`, `p4d`, `p4de`, ...)
 * plus `g5`, `g6`, `g6e`, `p5*` and `trn1*`.
 */
export function hasLocalInstanceStorage(instanceType: string): boolean {
  const family = instanceType.split('.')[1] ?? '';
  return /^[a-z]+\d+[a-z]*d[a-z]?$/.test(family) || /^(g5|g6|g6e|gr6|p5|p5e|p5en|trn1|trn1n)$/.test(family);
}
