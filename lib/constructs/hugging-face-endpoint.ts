import { createHash } from 'node:crypto';
import { Aws, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { HF_TASKS, PAYLOAD_LIMIT_BYTES, type HuggingFaceTask } from '../../lambdas/core/hf-contract';
import {
  HF_DLC_REGISTRY_ACCOUNTS,
  acceleratorForInstanceType,
  huggingFaceDlcImageUri,
  needsNeuronImage,
  parseEcrImageUri,
} from './hugging-face-dlc';

/** A model pulled from the Hugging Face Hub by the container at start-up, pinned to one revision. */
export interface HubModelSource {
  /**
   * Discriminator. Hub is the default kind, so it may be omitted.
   *
   * @default 'hub'
   */
  readonly kind?: 'hub';
  /** Hub model id, e.g. `openai/clip-vit-base-patch32` (env `HF_MODEL_ID`). */
  readonly modelId: string;
  /**
   * Pinned Hub revision (env `HF_MODEL_REVISION`): a commit SHA, or at least a tag. Moving branches (`main`,
   * `master`) are rejected so a redeploy can never silently change the model.
   */
  readonly revision: string;
}

/** The S3 location of a `model.tar.gz`. */
export interface S3ModelData {
  /** Bucket holding the archive. */
  readonly bucket: s3.IBucket;
  /** Object key of the archive; must end in `.tar.gz`. */
  readonly key: string;
}

/** A packaged model (`model.tar.gz`) that SageMaker copies from S3 into `/opt/ml/model` (`ModelDataUrl`). */
export interface S3ModelSource {
  /** Discriminator. */
  readonly kind: 's3';
  /** Where the archive is. The execution role is granted `s3:GetObject` on exactly this object. */
  readonly modelData: S3ModelData;
  /** Version label of the archive, e.g. `2024-06-01` or a training job id. */
  readonly version: string;
  /**
   * Human-readable id recorded by the pipeline next to each decision.
   *
   * @default - the `s3://bucket/key` URL of the archive
   */
  readonly modelId?: string;
}

/** Where the model weights come from. */
export type HuggingFaceModelSource = HubModelSource | S3ModelSource;

/** One model version kept on the endpoint: a label and its model source. */
export interface ModelVersion {
  /**
   * Version label, e.g. `clip-2024-06` or a revision: 1-128 letters, digits or `. _ - + /`. It names the version's
   * model and endpoint config, and the pipeline records it next to each decision while it is active. A label is
   * immutable once deployed: to change anything about a version (model, image, compute), list a new label.
   */
  readonly version: string;
  /** Where this version's weights come from. */
  readonly model: HuggingFaceModelSource;
}

/** Serverless inference: CPU only, scales to zero, 4 MiB request payload limit. */
export interface ServerlessCompute {
  /** Discriminator. */
  readonly mode: 'serverless';
  /**
   * Memory per concurrent invocation; one of 1024, 2048, 3072, 4096, 5120, 6144. vCPUs scale with memory.
   *
   * @default 6144
   */
  readonly memorySizeInMb?: number;
  /**
   * Maximum concurrent invocations (1-200). Requests beyond it are throttled.
   *
   * @default 5
   */
  readonly maxConcurrency?: number;
}

/** Real-time inference on provisioned instances, 6 MiB request payload limit. */
export interface InstanceCompute {
  /** Discriminator. */
  readonly mode: 'instance';
  /**
   * SageMaker hosting instance type. `ml.g*` / `ml.p*` types get the GPU build of the DLC, others the CPU build.
   * The default is a CPU type so the container image is the same as in serverless mode and the instance's EBS
   * storage volume can be encrypted with a customer-managed KMS key.
   *
   * @default 'ml.m5.xlarge'
   */
  readonly instanceType?: string;
  /**
   * Number of instances behind the variant.
   *
   * @default 1
   */
  readonly initialInstanceCount?: number;
  /**
   * Deployment guardrails applied when the endpoint moves to another endpoint config (a new `activeVersion`):
   * blue/green traffic shifting, a baking period, and automatic rollback when one of the construct's CloudWatch
   * alarms fires.
   *
   * @default - all at once, 10 min baking, 5 min termination wait, 1 h timeout, alarms on 5XX errors (>= 1 a minute
   * for 2 minutes) and p99 model latency (>= 3 s for 3 minutes)
   */
  readonly deployment?: InstanceDeploymentOptions;
}

/** Size of the canary fleet: a number of instances, or a percentage of the new fleet's capacity. */
export interface CanarySize {
  /** `INSTANCE_COUNT` or `CAPACITY_PERCENT`. */
  readonly type: 'INSTANCE_COUNT' | 'CAPACITY_PERCENT';
  /** Instances (at most half the fleet) or percent (1-50). */
  readonly value: number;
}

/** How traffic moves from the old (blue) fleet to the new (green) one. */
export type TrafficShifting =
  | { readonly type: 'ALL_AT_ONCE' }
  | { readonly type: 'CANARY'; readonly canarySize: CanarySize };

/** Blue/green deployment and auto-rollback settings of an instance endpoint. */
export interface InstanceDeploymentOptions {
  /**
   * Traffic shifting mode. A canary needs at least two instances (the canary may be at most half the new fleet).
   *
   * @default { type: 'ALL_AT_ONCE' }
   */
  readonly trafficShifting?: TrafficShifting;
  /**
   * Baking period (`WaitIntervalInSeconds`): how long the alarms watch the new fleet (after the canary step, or after
   * the all-at-once shift) before the deployment proceeds. 0-3600 s.
   *
   * @default Duration.minutes(10)
   */
  readonly bakingPeriod?: Duration;
  /**
   * Extra time the old fleet is kept after the deployment completes (`TerminationWaitInSeconds`). 0-3600 s.
   *
   * @default Duration.minutes(5)
   */
  readonly terminationWait?: Duration;
  /**
   * Limit for the whole deployment (`MaximumExecutionTimeoutInSeconds`), 600-28800 s, and longer than the baking
   * period plus the termination wait.
   *
   * @default Duration.hours(1)
   */
  readonly maximumExecutionTimeout?: Duration;
  /**
   * The 5XX alarm fires when `Invocation5XXErrors` (Sum over 1 minute) reaches this for 2 consecutive minutes.
   *
   * @default 1
   */
  readonly max5xxErrorsPerMinute?: number;
  /**
   * The latency alarm fires when the p99 of `ModelLatency` (1-minute periods) reaches this for 3 consecutive minutes.
   *
   * @default Duration.seconds(3)
   */
  readonly maxModelLatencyP99?: Duration;
}

/** How the endpoint is hosted. */
export type HuggingFaceEndpointCompute = ServerlessCompute | InstanceCompute;

/** Properties of {@link HuggingFaceEndpoint}. */
export interface HuggingFaceEndpointProps {
  /** Hugging Face inference-toolkit pipeline task (env `HF_TASK`). */
  readonly task: HuggingFaceTask;
  /**
   * Where the model weights come from: the Hub (pinned revision) or a `model.tar.gz` in S3. A single model is one
   * version, labelled `modelVersion`. Exactly one of `model` and `versions` must be given.
   *
   * @default - none; `versions` must be given instead
   */
  readonly model?: HuggingFaceModelSource;
  /**
   * Version label of `model` (single-model form only). Like every version label it names the model and endpoint
   * config (construct ids and the physical `EndpointConfigName`, see {@link endpointConfigNameFor}). Must be a
   * literal string.
   *
   * @default - the Hub `revision`, or the S3 source's `version`
   */
  readonly modelVersion?: string;
  /**
   * Model versions kept side by side: each gets its own `AWS::SageMaker::Model` and a named, retained
   * `AWS::SageMaker::EndpointConfig`, so switching `activeVersion` back is a fast endpoint update. Labels must be
   * unique literal strings. Exactly one of `model` and `versions` must be given.
   *
   * @default - none; `model` must be given instead
   */
  readonly versions?: readonly ModelVersion[];
  /**
   * The version the endpoint serves; must name a listed version.
   *
   * @default - the last listed version (the only one with `model`)
   */
  readonly activeVersion?: string;
  /**
   * Serverless or instance hosting.
   *
   * @default { mode: 'serverless', memorySizeInMb: 6144, maxConcurrency: 5 }
   */
  readonly compute?: HuggingFaceEndpointCompute;
  /**
   * Container image to run instead of the pinned Hugging Face PyTorch inference DLC.
   *
   * @default - the DLC for the stack's region (see `hugging-face-dlc.ts`); the stack region must then be a literal
   * region listed there
   */
  readonly imageUri?: string;
  /**
   * ARN of the ECR repository holding `imageUri`; the execution role may pull only from it. Needed only when
   * `imageUri` is not a literal ECR image URI (for instance a token from a `DockerImageAsset`).
   *
   * @default - derived from the image URI
   */
  readonly imageRepositoryArn?: string;
  /**
   * Name of the single production variant (the `VariantName` dimension of the endpoint's CloudWatch metrics).
   *
   * @default 'AllTraffic'
   */
  readonly variantName?: string;
  /**
   * Extra container environment variables. They cannot override the variables the construct sets itself (`HF_TASK`,
   * `HF_MODEL_ID`, `HF_MODEL_REVISION`, `SAGEMAKER_CONTAINER_LOG_LEVEL`). Never put secrets here: they are visible in
   * the template and in `DescribeModel`.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Run the container without outbound network access (`EnableNetworkIsolation`). A Hub model is downloaded by the
   * container at start-up, so isolation is impossible with `kind: 'hub'` and setting it to `true` then throws.
   *
   * @default - `true` for an S3 model, `false` for a Hub model
   */
  readonly networkIsolation?: boolean;
  /**
   * KMS key for the ML storage volume attached to the hosting instances (`KmsKeyId` of the endpoint config). Instance
   * mode only: serverless endpoints do not support `KmsKeyId`, and instance types with local NVMe instance storage
   * (`ml.g5`, `ml.g4dn`, `ml.p4d`, `ml.c5d`, ...) reject it because their volumes are hardware-encrypted.
   *
   * @default - instance mode on a type without instance storage: a new customer-managed key with yearly rotation;
   * otherwise no key
   */
  readonly storageEncryptionKey?: kms.IKey;
  /**
   * Physical name of the endpoint.
   *
   * @default - generated by CloudFormation
   */
  readonly endpointName?: string;
}

/** Default serverless memory, MB. */
export const DEFAULT_SERVERLESS_MEMORY_MB = 6144;
/** Default serverless max concurrency. */
export const DEFAULT_SERVERLESS_MAX_CONCURRENCY = 5;
/** Default hosting instance type in instance mode. */
export const DEFAULT_INSTANCE_TYPE = 'ml.m5.xlarge';
/** Default production variant name. */
export const DEFAULT_VARIANT_NAME = 'AllTraffic';
/** Defaults of {@link InstanceDeploymentOptions}. */
export const DEFAULT_DEPLOYMENT = {
  bakingPeriodSeconds: 600,
  terminationWaitSeconds: 300,
  maximumExecutionTimeoutSeconds: 3600,
  max5xxErrorsPerMinute: 1,
  maxModelLatencyP99Seconds: 3,
} as const;

const SERVERLESS_MEMORY_SIZES = [1024, 2048, 3072, 4096, 5120, 6144];
const RESERVED_ENVIRONMENT = ['HF_TASK', 'HF_MODEL_ID', 'HF_MODEL_REVISION', 'SAGEMAKER_CONTAINER_LOG_LEVEL'];
/** Log groups SageMaker endpoints write to (`/aws/sagemaker/Endpoints/<endpoint name>`). */
const ENDPOINT_LOG_GROUPS = '/aws/sagemaker/Endpoints/*';
const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** Python logging level INFO; the toolkit's default is too chatty at DEBUG and too quiet at WARNING. */
const CONTAINER_LOG_LEVEL = '20';
/** SageMaker resource names: at most 63 characters. */
const SAGEMAKER_NAME_MAX = 63;
const NAME_HASH_LENGTH = 8;

/**
 * Physical name of the endpoint config of one model version: `<stack>-<construct id>-<version>`, every run of
 * characters outside `[a-zA-Z0-9]` turned into one `-`, leading hyphens dropped, cut to 54 characters (trailing
 * hyphens dropped), then `-` and the first 8 hex digits of the SHA-256 of `JSON.stringify([stack, constructId,
 * version])`. At most 63 characters, SageMaker's name pattern, and unique per (stack, construct id, version) even
 * when two labels sanitize alike (`v1.0` / `v1_0`) or a long label is cut.
 *
 * Pure: the construct names its configs with it, and the rollback CLI (`lib/ops/model-rollback.ts`) finds a
 * version's config with it.
 *
 * @example endpointConfigNameFor('MediaTriage', 'CategoryModel', 'v1') === 'MediaTriage-CategoryModel-v1-865f87e2'
 */
export function endpointConfigNameFor(stackName: string, constructId: string, version: string): string {
  return hashedName('endpointConfigNameFor', { stackName, constructId, version });
}

/**
 * Physical endpoint name the construct gives an instance-mode endpoint when `endpointName` is not set:
 * `<stack>-<construct id>` sanitized and hashed by the same rule as {@link endpointConfigNameFor}. (The CloudWatch
 * alarms that gate its deployments need the name before the endpoint exists.)
 */
export function endpointNameFor(stackName: string, constructId: string): string {
  return hashedName('endpointNameFor', { stackName, constructId });
}

function hashedName(fn: string, parts: Record<string, string>): string {
  for (const [name, value] of Object.entries(parts)) {
    if (value.trim() === '') throw new Error(`${fn}: ${name} must not be empty.`);
    if (Token.isUnresolved(value)) throw new Error(`${fn}: ${name} must be a literal string, got a token.`);
  }
  const values = Object.values(parts);
  const hash = createHash('sha256').update(JSON.stringify(values)).digest('hex').slice(0, NAME_HASH_LENGTH);
  const readable = values
    .join('-')
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, SAGEMAKER_NAME_MAX - NAME_HASH_LENGTH - 1)
    .replace(/-+$/, '');
  return readable === '' ? hash : `${readable}-${hash}`;
}

interface ResolvedDeployment {
  readonly trafficShifting: TrafficShifting;
  readonly bakingPeriodSeconds: number;
  readonly terminationWaitSeconds: number;
  readonly maximumExecutionTimeoutSeconds: number;
  readonly max5xxErrorsPerMinute: number;
  readonly maxModelLatencyP99Microseconds: number;
}

type ResolvedCompute =
  | { readonly mode: 'serverless'; readonly memorySizeInMb: number; readonly maxConcurrency: number }
  | {
      readonly mode: 'instance';
      readonly instanceType: string;
      readonly initialInstanceCount: number;
      readonly deployment: ResolvedDeployment;
    };

interface ResolvedVersion {
  readonly version: string;
  readonly modelId: string;
  readonly environment: Record<string, string>;
  readonly modelDataUrl?: string;
  readonly modelData?: S3ModelData;
  readonly networkIsolation: boolean;
  /** Physical `EndpointConfigName`. */
  readonly endpointConfigName: string;
}

/** Physical names already taken in a stack, so two endpoints can never share a config or endpoint name. */
const NAMES_IN_STACK = new WeakMap<Stack, Map<string, string>>();

/**
 * A SageMaker endpoint serving Hugging Face models with the Hugging Face PyTorch inference DLC, one version at a
 * time, with the other listed versions ready for a fast rollback.
 *
 * It creates:
 * - an IAM execution role assumed by `sagemaker.amazonaws.com` that may only pull the container image's ECR
 *   repository, write to `/aws/sagemaker/Endpoints/*` log groups and, for S3 models, read the listed `model.tar.gz`
 *   objects (no `AmazonSageMakerFullAccess`);
 * - per version, an `AWS::SageMaker::Model` whose container gets `HF_TASK` plus either `HF_MODEL_ID` /
 *   `HF_MODEL_REVISION` (Hub) or a `ModelDataUrl` (S3), and an `AWS::SageMaker::EndpointConfig` named by
 *   {@link endpointConfigNameFor} with one production variant, serverless (default) or on instances, whose instance
 *   storage is encrypted with a customer-managed KMS key where SageMaker allows one. Both are retained
 *   (`RemovalPolicy.RETAIN`), so a version dropped from the list never disappears under a running endpoint;
 * - an `AWS::SageMaker::Endpoint` on the active version's config; in instance mode with a blue/green
 *   `DeploymentConfig` whose auto-rollback alarms (5XX errors, p99 model latency) the construct creates too.
 *
 * Instantiate it once per model; give the pipeline `endpointName`, `variantName`, `payloadLimitBytes`, `modelId`
 * and `modelVersion` (the active version's), and call `grantInvoke` on whatever invokes it.
 */
export class HuggingFaceEndpoint extends Construct {
  /** Name of the endpoint (a token unless `endpointName` was given; in instance mode see {@link endpointNameFor}). */
  public readonly endpointName: string;
  /** ARN of the endpoint. */
  public readonly endpointArn: string;
  /** Hugging Face task the endpoint serves. */
  public readonly task: HuggingFaceTask;
  /** Model id of the active version: Hub id, or for an S3 model its `modelId` label (default: the `s3://` URL). */
  public readonly modelId: string;
  /** Version label of the active version (same as `activeVersion`). */
  public readonly modelVersion: string;
  /** Version label the endpoint serves. */
  public readonly activeVersion: string;
  /** All version labels, in the order listed (a single `model` is one version). */
  public readonly versions: readonly string[];
  /** Name of the production variant. */
  public readonly variantName: string;
  /** Largest request body the endpoint accepts, in bytes: 4 MiB serverless, 6 MiB on instances. */
  public readonly payloadLimitBytes: number;
  /** Name of the active version's endpoint config (a `Fn::GetAtt`, which orders the endpoint after the config). */
  public readonly endpointConfigName: string;
  /** Execution role of the models' containers. */
  public readonly executionRole: iam.IRole;
  /** KMS key of the instance storage volume, when one is used. */
  public readonly storageEncryptionKey?: kms.IKey;
  /** Alarms whose firing rolls a deployment back (instance mode: 5XX errors, p99 model latency; serverless: none). */
  public readonly rollbackAlarms: readonly cloudwatch.IAlarm[];

  private readonly compute: ResolvedCompute;
  private readonly imageUri: string;
  private readonly resolvedVersions: ReadonlyMap<string, ResolvedVersion>;

  constructor(scope: Construct, id: string, props: HuggingFaceEndpointProps) {
    super(scope, id);

    this.task = validateTask(this, props.task);
    this.compute = resolveCompute(this, props.compute);
    this.resolvedVersions = this.resolveVersions(props);
    this.versions = [...this.resolvedVersions.keys()];
    this.activeVersion = this.resolveActiveVersion(props.activeVersion);
    this.modelVersion = this.activeVersion;
    this.modelId = this.modelIdFor(this.activeVersion);
    this.variantName = validateVariantName(this, props.variantName ?? DEFAULT_VARIANT_NAME);
    this.payloadLimitBytes =
      this.compute.mode === 'serverless' ? PAYLOAD_LIMIT_BYTES.serverless : PAYLOAD_LIMIT_BYTES.realtime;
    this.imageUri = this.resolveImageUri(props.imageUri);
    this.storageEncryptionKey = this.resolveStorageKey(props.storageEncryptionKey);

    const endpointName = validateEndpointName(
      this,
      props.endpointName ??
        (this.compute.mode === 'instance' ? this.claimName(endpointNameFor(this.stackName(), id)) : undefined),
    );
    this.rollbackAlarms = this.compute.mode === 'instance' && endpointName !== undefined
      ? this.createRollbackAlarms(endpointName, this.compute.deployment)
      : [];

    this.executionRole = this.createExecutionRole(props);

    const configs = new Map([...this.resolvedVersions.values()].map((v) => [v.version, this.createVersion(v)]));
    const activeConfig = configs.get(this.activeVersion) as sagemaker.CfnEndpointConfig;
    this.endpointConfigName = activeConfig.attrEndpointConfigName;

    const endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointConfigName: this.endpointConfigName,
      endpointName,
      deploymentConfig: this.compute.mode === 'instance' ? this.deploymentConfig(this.compute.deployment) : undefined,
    });
    this.node.defaultChild = endpoint;
    this.endpointName = endpoint.attrEndpointName;
    this.endpointArn = endpoint.attrEndpointArn;
  }

  /** Allows `grantee` to call `sagemaker:InvokeEndpoint` on this endpoint, and nothing else. */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:InvokeEndpoint'],
      resourceArns: [this.endpointArn],
    });
  }

  /** Model id of a listed version (Hub id, or the S3 source's `modelId` label / `s3://` URL). */
  public modelIdFor(version: string): string {
    return this.versionOf(version).modelId;
  }

  /** Physical endpoint config name of a listed version ({@link endpointConfigNameFor}). */
  public endpointConfigNameOf(version: string): string {
    return this.versionOf(version).endpointConfigName;
  }

  private versionOf(version: string): ResolvedVersion {
    const resolved = this.resolvedVersions.get(version);
    if (!resolved) fail(this, `unknown version '${version}'; listed: ${[...this.resolvedVersions.keys()].join(', ')}.`);
    return resolved;
  }

  /**
   * Model plus endpoint config of one version. The construct ids include the label (as they always have, so a
   * single `model` keeps its logical ids); the config's physical name comes from {@link endpointConfigNameFor}.
   * Both are retained: a config dropped from the list stays usable for an emergency rollback, and its model with it.
   */
  private createVersion(resolved: ResolvedVersion): sagemaker.CfnEndpointConfig {
    const idSuffix = constructIdSuffix(resolved.version);
    const model = new sagemaker.CfnModel(this, `Model-${idSuffix}`, {
      executionRoleArn: this.executionRole.roleArn,
      enableNetworkIsolation: resolved.networkIsolation,
      primaryContainer: {
        image: this.imageUri,
        mode: 'SingleModel',
        environment: resolved.environment,
        modelDataUrl: resolved.modelDataUrl,
      },
    });
    // The container starts with the role's permissions, so the role's policy must exist first.
    model.node.addDependency(this.executionRole);
    model.applyRemovalPolicy(RemovalPolicy.RETAIN);

    const config = new sagemaker.CfnEndpointConfig(this, `EndpointConfig-${idSuffix}`, {
      endpointConfigName: resolved.endpointConfigName,
      productionVariants: [this.productionVariant(model)],
      kmsKeyId: this.storageEncryptionKey?.keyArn,
    });
    config.applyRemovalPolicy(RemovalPolicy.RETAIN);
    return config;
  }

  private productionVariant(model: sagemaker.CfnModel): sagemaker.CfnEndpointConfig.ProductionVariantProperty {
    const common = { variantName: this.variantName, modelName: model.attrModelName, initialVariantWeight: 1 };
    if (this.compute.mode === 'serverless') {
      return {
        ...common,
        serverlessConfig: {
          memorySizeInMb: this.compute.memorySizeInMb,
          maxConcurrency: this.compute.maxConcurrency,
        },
      };
    }
    return {
      ...common,
      instanceType: this.compute.instanceType,
      initialInstanceCount: this.compute.initialInstanceCount,
    };
  }

  /**
   * CloudWatch alarms on the variant's metrics (`AWS/SageMaker`, dimensions `EndpointName` + `VariantName`; the
   * variant name is the same in every version, so the alarms watch whichever fleet serves). Missing data (no
   * traffic) is not breaching.
   */
  private createRollbackAlarms(endpointName: string, deployment: ResolvedDeployment): cloudwatch.Alarm[] {
    const metric = (metricName: string, statistic: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: 'AWS/SageMaker',
        metricName,
        dimensionsMap: { EndpointName: endpointName, VariantName: this.variantName },
        statistic,
        period: Duration.minutes(1),
      });
    const errors = new cloudwatch.Alarm(this, 'Invocation5xxAlarm', {
      alarmDescription:
        `Rolls back a deployment of ${this.node.path}: the model answered with 5XX errors ` +
        `(>= ${deployment.max5xxErrorsPerMinute} a minute for 2 minutes).`,
      metric: metric('Invocation5XXErrors', 'Sum'),
      threshold: deployment.max5xxErrorsPerMinute,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const latency = new cloudwatch.Alarm(this, 'ModelLatencyP99Alarm', {
      alarmDescription:
        `Rolls back a deployment of ${this.node.path}: p99 ModelLatency >= ` +
        `${deployment.maxModelLatencyP99Microseconds / 1e6} s for 3 minutes.`,
      metric: metric('ModelLatency', 'p99'),
      // ModelLatency is reported in microseconds.
      threshold: deployment.maxModelLatencyP99Microseconds,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return [errors, latency];
  }

  private deploymentConfig(deployment: ResolvedDeployment): sagemaker.CfnEndpoint.DeploymentConfigProperty {
    const shifting = deployment.trafficShifting;
    return {
      blueGreenUpdatePolicy: {
        trafficRoutingConfiguration: {
          type: shifting.type,
          canarySize: shifting.type === 'CANARY' ? { ...shifting.canarySize } : undefined,
          waitIntervalInSeconds: deployment.bakingPeriodSeconds,
        },
        terminationWaitInSeconds: deployment.terminationWaitSeconds,
        maximumExecutionTimeoutInSeconds: deployment.maximumExecutionTimeoutSeconds,
      },
      autoRollbackConfiguration: {
        alarms: this.rollbackAlarms.map((alarm) => ({ alarmName: alarm.alarmName })),
      },
    };
  }

  private stackName(): string {
    const stackName = Stack.of(this).stackName;
    if (Token.isUnresolved(stackName)) {
      fail(this, 'the stack name is a token; endpoint config names are derived from it and must be literal.');
    }
    return stackName;
  }

  /** Fails when another construct in the stack already uses `name` (same construct id under another parent). */
  private claimName(name: string): string {
    const stack = Stack.of(this);
    const taken = NAMES_IN_STACK.get(stack) ?? new Map<string, string>();
    NAMES_IN_STACK.set(stack, taken);
    const owner = taken.get(name);
    if (owner !== undefined && owner !== this.node.path) {
      fail(
        this,
        `physical name '${name}' is already used by ${owner}: names are derived from the stack name and the ` +
          'construct id, so give the two endpoints different construct ids.',
      );
    }
    taken.set(name, this.node.path);
    return name;
  }

  private resolveVersions(props: HuggingFaceEndpointProps): Map<string, ResolvedVersion> {
    let listed: readonly ModelVersion[];
    if (props.model !== undefined && props.versions !== undefined) {
      fail(this, 'pass either model (one version) or versions, not both.');
    } else if (props.model !== undefined) {
      listed = [{ version: props.modelVersion ?? defaultVersionLabel(props.model), model: props.model }];
    } else if (props.versions !== undefined) {
      if (props.modelVersion !== undefined) {
        fail(this, 'modelVersion labels a single model; with versions, each entry names its own version.');
      }
      if (props.versions.length === 0) fail(this, 'versions is empty: list at least one { version, model }.');
      listed = props.versions;
    } else {
      fail(this, 'pass model, or versions with at least one { version, model }.');
    }

    const extra = validateEnvironment(this, props.environment);
    const stackName = this.stackName();
    const resolved = new Map<string, ResolvedVersion>();
    const idSuffixes = new Map<string, string>();
    const single = props.model !== undefined;
    for (const { version, model } of listed) {
      const where = single ? '' : `versions['${version}']: `;
      const source = this.resolveSource(model, version, extra, props.networkIsolation, where);
      const label = validateVersionLabel(this, version, single ? 'modelVersion' : 'a version label');
      if (resolved.has(label)) fail(this, `versions lists '${label}' more than once; version labels must be unique.`);
      const clash = idSuffixes.get(constructIdSuffix(label));
      if (clash !== undefined) {
        fail(this, `versions '${clash}' and '${label}' differ only by '/' vs '-'; their construct ids would collide.`);
      }
      idSuffixes.set(constructIdSuffix(label), label);
      const endpointConfigName = this.claimName(endpointConfigNameFor(stackName, this.node.id, label));
      resolved.set(label, { ...source, endpointConfigName });
    }
    return resolved;
  }

  private resolveActiveVersion(activeVersion: string | undefined): string {
    const versions = [...this.resolvedVersions.keys()];
    const active = activeVersion ?? versions[versions.length - 1];
    if (active === undefined || !this.resolvedVersions.has(active)) {
      fail(this, `activeVersion '${String(active)}' is not a listed version (listed: ${versions.join(', ')}).`);
    }
    return active;
  }

  private resolveSource(
    source: HuggingFaceModelSource,
    version: string,
    extra: Record<string, string>,
    networkIsolation: boolean | undefined,
    where: string,
  ): Omit<ResolvedVersion, 'endpointConfigName'> {
    const base = { ...extra, HF_TASK: this.task, SAGEMAKER_CONTAINER_LOG_LEVEL: CONTAINER_LOG_LEVEL };

    if (source.kind === 's3') {
      const { bucket, key } = source.modelData;
      if (!Token.isUnresolved(key) && !key.endsWith('.tar.gz')) {
        fail(this, `${where}model.modelData.key must point at a model.tar.gz archive, got '${key}'.`);
      }
      const modelDataUrl = `s3://${bucket.bucketName}/${key}`;
      return {
        version,
        modelId: source.modelId ?? modelDataUrl,
        environment: base,
        modelDataUrl,
        modelData: source.modelData,
        networkIsolation: networkIsolation ?? true,
      };
    }

    if (!Token.isUnresolved(source.modelId) && !/^[\w.-]+(\/[\w.-]+)?$/.test(source.modelId)) {
      fail(this, `${where}model.modelId must be a Hugging Face Hub id like 'org/name', got '${source.modelId}'.`);
    }
    const revision = source.revision.trim();
    if (revision === '' || (!Token.isUnresolved(revision) && ['main', 'master'].includes(revision))) {
      fail(this, `${where}model.revision must pin a commit SHA or tag of '${source.modelId}', got '${source.revision}'.`);
    }
    if (networkIsolation === true) {
      fail(this, `${where}networkIsolation cannot be true for a Hub model: the container downloads it from the Hub.`);
    }
    return {
      version,
      modelId: source.modelId,
      environment: { ...base, HF_MODEL_ID: source.modelId, HF_MODEL_REVISION: revision },
      networkIsolation: false,
    };
  }

  private resolveImageUri(imageUri: string | undefined): string {
    if (imageUri !== undefined) return imageUri;

    const accelerator = this.compute.mode === 'instance' ? acceleratorForInstanceType(this.compute.instanceType) : 'cpu';
    if (this.compute.mode === 'instance' && needsNeuronImage(this.compute.instanceType)) {
      fail(this, `${this.compute.instanceType} needs a Neuron build of the Hugging Face DLC; pass imageUri.`);
    }
    const region = Stack.of(this).region;
    if (Token.isUnresolved(region)) {
      fail(
        this,
        'cannot pick the Hugging Face DLC image: the stack region is unresolved. Set the stack region ' +
          "(env: { region } on the Stack, or cdk context 'region', e.g. `cdk synth -c region=eu-west-1`) " +
          'or pass imageUri.',
      );
    }
    const uri = huggingFaceDlcImageUri(region, accelerator);
    if (uri === undefined) {
      fail(
        this,
        `no Hugging Face DLC registry is known for region '${region}' (known: ` +
          `${Object.keys(HF_DLC_REGISTRY_ACCOUNTS).join(', ')}). Set the stack region (env or context 'region') ` +
          'to one of them or pass imageUri.',
      );
    }
    return uri;
  }

  private resolveStorageKey(key: kms.IKey | undefined): kms.IKey | undefined {
    if (this.compute.mode === 'serverless') {
      if (key) fail(this, 'storageEncryptionKey is not supported by serverless endpoints (no KmsKeyId).');
      return undefined;
    }
    if (hasLocalInstanceStorage(this.compute.instanceType)) {
      if (key) {
        fail(this, `${this.compute.instanceType} has local instance storage, for which SageMaker rejects a KmsKeyId.`);
      }
      return undefined;
    }
    return (
      key ??
      new kms.Key(this, 'StorageKey', {
        description: `Encrypts the ML storage volume of SageMaker endpoint ${this.node.path}`,
        enableKeyRotation: true,
      })
    );
  }

  private createExecutionRole(props: HuggingFaceEndpointProps): iam.Role {
    const role = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Execution role of the SageMaker model behind ${this.node.path}`,
    });
    this.grantImagePull(role, props.imageRepositoryArn);
    this.grantLogs(role);
    for (const version of this.resolvedVersions.values()) {
      if (version.modelData) this.grantModelDataRead(role, version.modelData);
    }
    if (this.rollbackAlarms.length > 0) {
      // Deployment guardrails read the alarms' state with the endpoint's execution role (SageMaker developer guide,
      // "Auto-Rollback Configuration and Monitoring"); exactly these alarms, nothing else.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['cloudwatch:DescribeAlarms'],
          resources: this.rollbackAlarms.map((alarm) => alarm.alarmArn),
        }),
      );
    }
    return role;
  }

  private grantImagePull(role: iam.Role, repositoryArn: string | undefined): void {
    const arn = repositoryArn ?? this.imageRepositoryArn();
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: [arn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken does not support resource-level permissions and must be granted on "*"; image ' +
        'pulls themselves are limited to the one ECR repository of the container image.',
    });
  }

  private imageRepositoryArn(): string {
    if (Token.isUnresolved(this.imageUri)) {
      fail(this, 'imageUri is a token, so its ECR repository cannot be derived: pass imageRepositoryArn as well.');
    }
    const image = parseEcrImageUri(this.imageUri);
    if (!image) {
      fail(
        this,
        `imageUri '${this.imageUri}' is not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>); ` +
          'pass imageRepositoryArn so the execution role can be limited to that repository.',
      );
    }
    return Stack.of(this).formatArn({
      service: 'ecr',
      region: image.region,
      account: image.account,
      resource: 'repository',
      resourceName: image.repositoryName,
    });
  }

  private grantLogs(role: iam.Role): void {
    // Pseudo parameters rather than the stack's env, so the resource (and the cdk-nag finding id acknowledged
    // below) is the same whether or not the stack has a concrete account and region.
    const endpointLogGroups = `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:${ENDPOINT_LOG_GROUPS}`;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        resources: [endpointLogGroups],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${ENDPOINT_LOG_GROUPS}]`,
      reason:
        'SageMaker writes container logs to /aws/sagemaker/Endpoints/<endpoint name>, and the endpoint name is only ' +
        'known after the endpoint (which needs this role first) is created; the wildcard is limited to SageMaker ' +
        'endpoint log groups of this account and region.',
    });
  }

  private grantModelDataRead(role: iam.Role, modelData: S3ModelData): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [modelData.bucket.arnForObjects(modelData.key)],
      }),
    );
    modelData.bucket.encryptionKey?.grantDecrypt(role);
  }
}

function fail(scope: Construct, message: string): never {
  throw new Error(`HuggingFaceEndpoint ${scope.node.path}: ${message}`);
}

function validateTask(scope: Construct, task: HuggingFaceTask): HuggingFaceTask {
  if (!(HF_TASKS as readonly string[]).includes(task)) {
    fail(scope, `task must be one of ${HF_TASKS.join(', ')}, got '${String(task)}'.`);
  }
  return task;
}

function resolveCompute(scope: Construct, compute: HuggingFaceEndpointCompute | undefined): ResolvedCompute {
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

function resolveDeployment(
  scope: Construct,
  options: InstanceDeploymentOptions,
  instanceCount: number,
): ResolvedDeployment {
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
  const terminationWaitSeconds = seconds(
    options.terminationWait,
    DEFAULT_DEPLOYMENT.terminationWaitSeconds,
    'terminationWait',
    0,
    3600,
  );
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

function validateVariantName(scope: Construct, name: string): string {
  if (!SAGEMAKER_NAME.test(name)) {
    fail(scope, `variantName must be 1-63 letters, digits or hyphens (not first or last), got '${name}'.`);
  }
  return name;
}

function validateEndpointName(scope: Construct, name: string | undefined): string | undefined {
  if (name !== undefined && !Token.isUnresolved(name) && !SAGEMAKER_NAME.test(name)) {
    fail(scope, `endpointName must be 1-63 letters, digits or hyphens (not first or last), got '${name}'.`);
  }
  return name;
}

function validateVersionLabel(scope: Construct, version: string, what: string): string {
  if (Token.isUnresolved(version)) {
    fail(scope, `${what} must be a literal string (it names the model and endpoint config), got a token.`);
  }
  if (!/^[\w.+/-]{1,128}$/.test(version)) {
    fail(scope, `${what} must be 1-128 letters, digits or . _ - + /, got '${version}'.`);
  }
  return version;
}

/** Label of a single `model` when `modelVersion` is not given. */
function defaultVersionLabel(source: HuggingFaceModelSource): string {
  return source.kind === 's3' ? source.version : source.revision.trim();
}

/** Construct-id suffix of a version (ids cannot contain '/'); unchanged from the single-version construct. */
function constructIdSuffix(version: string): string {
  return version.replace(/\//g, '-');
}

function validateEnvironment(scope: Construct, environment: Record<string, string> | undefined): Record<string, string> {
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
function hasLocalInstanceStorage(instanceType: string): boolean {
  const family = instanceType.split('.')[1] ?? '';
  return /^[a-z]+\d+[a-z]*d[a-z]?$/.test(family) || /^(g5|g6|g6e|gr6|p5|p5e|p5en|trn1|trn1n)$/.test(family);
}
