import { Aws, Stack, Token, Validations } from 'aws-cdk-lib';
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
}

/** How the endpoint is hosted. */
export type HuggingFaceEndpointCompute = ServerlessCompute | InstanceCompute;

/** Properties of {@link HuggingFaceEndpoint}. */
export interface HuggingFaceEndpointProps {
  /** Hugging Face inference-toolkit pipeline task (env `HF_TASK`). */
  readonly task: HuggingFaceTask;
  /** Where the model weights come from: the Hub (pinned revision) or a `model.tar.gz` in S3. */
  readonly model: HuggingFaceModelSource;
  /**
   * Version label of the deployed model. It names the `AWS::SageMaker::Model` and `AWS::SageMaker::EndpointConfig`
   * (their construct ids, hence logical ids), so deploying a new version creates a new model and endpoint config and
   * switches the endpoint over to it. Must be a literal string.
   *
   * @default - the Hub `revision`, or the S3 source's `version`
   */
  readonly modelVersion?: string;
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

const SERVERLESS_MEMORY_SIZES = [1024, 2048, 3072, 4096, 5120, 6144];
const RESERVED_ENVIRONMENT = ['HF_TASK', 'HF_MODEL_ID', 'HF_MODEL_REVISION', 'SAGEMAKER_CONTAINER_LOG_LEVEL'];
/** Log groups SageMaker endpoints write to (`/aws/sagemaker/Endpoints/<endpoint name>`). */
const ENDPOINT_LOG_GROUPS = '/aws/sagemaker/Endpoints/*';
const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** Python logging level INFO; the toolkit's default is too chatty at DEBUG and too quiet at WARNING. */
const CONTAINER_LOG_LEVEL = '20';

type ResolvedCompute =
  | { readonly mode: 'serverless'; readonly memorySizeInMb: number; readonly maxConcurrency: number }
  | { readonly mode: 'instance'; readonly instanceType: string; readonly initialInstanceCount: number };

interface ResolvedModel {
  readonly modelId: string;
  readonly modelVersion: string;
  readonly environment: Record<string, string>;
  readonly modelDataUrl?: string;
  readonly networkIsolation: boolean;
}

/**
 * A SageMaker endpoint serving one Hugging Face model with the Hugging Face PyTorch inference DLC.
 *
 * It creates:
 * - an IAM execution role assumed by `sagemaker.amazonaws.com` that may only pull the container image's ECR
 *   repository, write to `/aws/sagemaker/Endpoints/*` log groups and, for an S3 model, read the one `model.tar.gz`
 *   object (no `AmazonSageMakerFullAccess`);
 * - an `AWS::SageMaker::Model` whose container gets `HF_TASK` plus either `HF_MODEL_ID` / `HF_MODEL_REVISION` (Hub)
 *   or a `ModelDataUrl` (S3);
 * - an `AWS::SageMaker::EndpointConfig` with one production variant, serverless (default) or on instances, whose
 *   instance storage is encrypted with a customer-managed KMS key where SageMaker allows one;
 * - an `AWS::SageMaker::Endpoint`.
 *
 * The model and endpoint config are named after `modelVersion`: a new version creates a new pair and the endpoint
 * switches over. Keeping several versions side by side (for rollback through an `activeVersion`) means calling
 * `createVersion` once per listed version and pointing the endpoint at the active one.
 *
 * Instantiate it once per model; give the pipeline `endpointName`, `variantName` and `payloadLimitBytes`, and call
 * `grantInvoke` on whatever invokes it.
 */
export class HuggingFaceEndpoint extends Construct {
  /** Name of the endpoint (a token unless `endpointName` was given). */
  public readonly endpointName: string;
  /** ARN of the endpoint. */
  public readonly endpointArn: string;
  /** Hugging Face task the endpoint serves. */
  public readonly task: HuggingFaceTask;
  /** Hub model id, or for an S3 model its `modelId` label (default: the `s3://` URL of the archive). */
  public readonly modelId: string;
  /** Version label of the deployed model. */
  public readonly modelVersion: string;
  /** Name of the production variant. */
  public readonly variantName: string;
  /** Largest request body the endpoint accepts, in bytes: 4 MiB serverless, 6 MiB on instances. */
  public readonly payloadLimitBytes: number;
  /** Name of the endpoint config of the deployed version. */
  public readonly endpointConfigName: string;
  /** Execution role of the model's container. */
  public readonly executionRole: iam.IRole;
  /** KMS key of the instance storage volume, when one is used. */
  public readonly storageEncryptionKey?: kms.IKey;

  private readonly compute: ResolvedCompute;
  private readonly imageUri: string;
  private readonly resolvedModel: ResolvedModel;

  constructor(scope: Construct, id: string, props: HuggingFaceEndpointProps) {
    super(scope, id);

    this.task = validateTask(this, props.task);
    this.compute = resolveCompute(this, props.compute);
    this.resolvedModel = this.resolveModel(props);
    this.modelId = this.resolvedModel.modelId;
    this.modelVersion = this.resolvedModel.modelVersion;
    this.variantName = validateVariantName(this, props.variantName ?? DEFAULT_VARIANT_NAME);
    this.payloadLimitBytes =
      this.compute.mode === 'serverless' ? PAYLOAD_LIMIT_BYTES.serverless : PAYLOAD_LIMIT_BYTES.realtime;
    this.imageUri = this.resolveImageUri(props.imageUri);
    this.storageEncryptionKey = this.resolveStorageKey(props.storageEncryptionKey);

    this.executionRole = this.createExecutionRole(props);

    const endpointConfig = this.createVersion(this.modelVersion);
    this.endpointConfigName = endpointConfig.attrEndpointConfigName;

    const endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointConfigName: this.endpointConfigName,
      endpointName: validateEndpointName(this, props.endpointName),
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

  /**
   * Model plus endpoint config of one model version, both named after it. Today it is called once, for
   * `modelVersion`; keeping one endpoint config per listed version is a loop over this.
   */
  private createVersion(version: string): sagemaker.CfnEndpointConfig {
    const idSuffix = version.replace(/\//g, '-');
    const model = new sagemaker.CfnModel(this, `Model-${idSuffix}`, {
      executionRoleArn: this.executionRole.roleArn,
      enableNetworkIsolation: this.resolvedModel.networkIsolation,
      primaryContainer: {
        image: this.imageUri,
        mode: 'SingleModel',
        environment: this.resolvedModel.environment,
        modelDataUrl: this.resolvedModel.modelDataUrl,
      },
    });
    // The container starts with the role's permissions, so the role's policy must exist first.
    model.node.addDependency(this.executionRole);

    return new sagemaker.CfnEndpointConfig(this, `EndpointConfig-${idSuffix}`, {
      productionVariants: [this.productionVariant(model)],
      kmsKeyId: this.storageEncryptionKey?.keyArn,
    });
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

  private resolveModel(props: HuggingFaceEndpointProps): ResolvedModel {
    const source = props.model;
    const extra = validateEnvironment(this, props.environment);
    const base = { ...extra, HF_TASK: this.task, SAGEMAKER_CONTAINER_LOG_LEVEL: CONTAINER_LOG_LEVEL };

    if (source.kind === 's3') {
      const { bucket, key } = source.modelData;
      if (!Token.isUnresolved(key) && !key.endsWith('.tar.gz')) {
        fail(this, `model.modelData.key must point at a model.tar.gz archive, got '${key}'.`);
      }
      const modelDataUrl = `s3://${bucket.bucketName}/${key}`;
      return {
        modelId: source.modelId ?? modelDataUrl,
        modelVersion: validateVersionLabel(this, props.modelVersion ?? source.version),
        environment: base,
        modelDataUrl,
        networkIsolation: props.networkIsolation ?? true,
      };
    }

    if (!Token.isUnresolved(source.modelId) && !/^[\w.-]+(\/[\w.-]+)?$/.test(source.modelId)) {
      fail(this, `model.modelId must be a Hugging Face Hub id like 'org/name', got '${source.modelId}'.`);
    }
    const revision = source.revision.trim();
    if (revision === '' || (!Token.isUnresolved(revision) && ['main', 'master'].includes(revision))) {
      fail(this, `model.revision must pin a commit SHA or tag of '${source.modelId}', got '${source.revision}'.`);
    }
    if (props.networkIsolation === true) {
      fail(this, 'networkIsolation cannot be true for a Hub model: the container downloads it from the Hub.');
    }
    return {
      modelId: source.modelId,
      modelVersion: validateVersionLabel(this, props.modelVersion ?? revision),
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
    if (props.model.kind === 's3') this.grantModelDataRead(role, props.model.modelData);
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
    return { mode: 'instance', instanceType, initialInstanceCount };
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

function validateVersionLabel(scope: Construct, version: string): string {
  if (Token.isUnresolved(version)) {
    fail(scope, 'modelVersion must be a literal string (it names the model and endpoint config); pass modelVersion.');
  }
  if (!/^[\w.+/-]{1,128}$/.test(version)) {
    fail(scope, `modelVersion must be 1-128 letters, digits or . _ - + /, got '${version}'.`);
  }
  return version;
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
