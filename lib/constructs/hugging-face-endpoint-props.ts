/**
 * Props of the `HuggingFaceEndpoint` construct (`hugging-face-endpoint.ts`, which re-exports everything here): model
 * sources, model versions, compute and deployment options, and the defaults the construct applies.
 */
import type { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { HuggingFaceTask } from '../../lambdas/core/hf-contract';

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
export type TrafficShifting = { readonly type: 'ALL_AT_ONCE' } | { readonly type: 'CANARY'; readonly canarySize: CanarySize };

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
   * config (construct ids, the physical `EndpointConfigName` and the config's `media-triage:version` tag; see
   * `endpointConfigNameStem` in hugging-face-naming.ts). Must be a literal string.
   *
   * @default - the Hub `revision`, or the S3 source's `version`
   */
  readonly modelVersion?: string;
  /**
   * Model versions kept side by side: each gets its own `AWS::SageMaker::Model` and a tagged, retained
   * (`RETAIN_ON_UPDATE_OR_DELETE`) `AWS::SageMaker::EndpointConfig`, so switching `activeVersion` back is a fast
   * endpoint update. Labels must be
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
