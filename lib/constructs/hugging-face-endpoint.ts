import { Aws, Duration, Fn, RemovalPolicy, Stack, Token, Validations, type CfnTag } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { PAYLOAD_LIMIT_BYTES, type HuggingFaceTask } from '../../lambdas/core/hf-contract';
import { HF_DLC_REGISTRY_ACCOUNTS, acceleratorForInstanceType, huggingFaceDlcImageUri, needsNeuronImage, parseEcrImageUri } from './hugging-face-dlc';
import {
  DEFAULT_VARIANT_NAME,
  type HuggingFaceEndpointProps,
  type HuggingFaceModelSource,
  type ModelVersion,
  type S3ModelData,
} from './hugging-face-endpoint-props';
import {
  VERSION_TAG_KEYS,
  constructIdSuffix,
  defaultVersionLabel,
  endpointConfigNameStem,
  endpointNameFor,
  validateEndpointName,
  validateVariantName,
  validateVersionLabel,
} from './hugging-face-naming';
import {
  fail,
  hasLocalInstanceStorage,
  resolveCompute,
  validateEnvironment,
  validateTask,
  type ResolvedCompute,
  type ResolvedDeployment,
} from './hugging-face-validation';

// The construct's public API, unchanged by the split into modules: importers keep using this file.
export * from './hugging-face-endpoint-props';
export { VERSION_TAG_KEYS, endpointConfigNamePrefix, endpointConfigNameStem, endpointNameFor } from './hugging-face-naming';

/** Log groups SageMaker endpoints write to (`/aws/sagemaker/Endpoints/<endpoint name>`). */
const ENDPOINT_LOG_GROUPS = '/aws/sagemaker/Endpoints/*';
/** Python logging level INFO; the toolkit's default is too chatty at DEBUG and too quiet at WARNING. */
const CONTAINER_LOG_LEVEL = '20';

interface ResolvedVersion {
  readonly version: string;
  readonly modelId: string;
  readonly environment: Record<string, string>;
  readonly modelDataUrl?: string;
  readonly modelData?: S3ModelData;
  readonly networkIsolation: boolean;
}

/**
 * The first 8 hex digits of the stack's UUID (`arn:…:stack/<name>/<uuid>`): new on every stack creation, so names
 * ending in it never collide with resources a deleted or rolled-back stack of the same name left behind.
 */
const STACK_CREATION_SUFFIX = Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', Aws.STACK_ID))));

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
 * - per version, an `AWS::SageMaker::Model` (CloudFormation-named) whose container gets `HF_TASK` plus either
 *   `HF_MODEL_ID` / `HF_MODEL_REVISION` (Hub) or a `ModelDataUrl` (S3), and an `AWS::SageMaker::EndpointConfig` named
 *   {@link endpointConfigNameStem} + `-` + 8 hex of the stack's UUID and tagged with {@link VERSION_TAG_KEYS} (stack,
 *   construct id, version, stack id), with one production variant, serverless (default) or on instances, whose
 *   instance storage is encrypted with a customer-managed KMS key where SageMaker allows one. Both use
 *   `RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE`: a version dropped from the list, replaced, or left by a deleted stack
 *   stays usable for a rollback, while a create that rolls back removes what it made, and the per-creation name
 *   suffix keeps a repeated create from tripping over leftovers ("already exists");
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
  /**
   * Invocations the endpoint serves at once before it throttles: serverless `maxConcurrency`; undefined for instance
   * endpoints, which queue requests rather than refuse them.
   */
  public readonly maxConcurrentInvocations?: number;
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
  private readonly configNames = new Map<string, string>();

  constructor(scope: Construct, id: string, props: HuggingFaceEndpointProps) {
    super(scope, id);

    this.task = validateTask(this, props.task);
    this.compute = resolveCompute(this, props.compute);
    this.maxConcurrentInvocations = this.compute.mode === 'serverless' ? this.compute.maxConcurrency : undefined;
    this.resolvedVersions = this.resolveVersions(props);
    this.versions = [...this.resolvedVersions.keys()];
    this.activeVersion = this.resolveActiveVersion(props.activeVersion);
    this.modelVersion = this.activeVersion;
    this.modelId = this.modelIdFor(this.activeVersion);
    this.variantName = validateVariantName(this, props.variantName ?? DEFAULT_VARIANT_NAME);
    this.payloadLimitBytes = this.compute.mode === 'serverless' ? PAYLOAD_LIMIT_BYTES.serverless : PAYLOAD_LIMIT_BYTES.realtime;
    this.imageUri = this.resolveImageUri(props.imageUri);
    this.storageEncryptionKey = this.resolveStorageKey(props.storageEncryptionKey);

    const endpointName = validateEndpointName(
      this,
      props.endpointName ?? (this.compute.mode === 'instance' ? this.claimName(endpointNameFor(this.stackName(), id)) : undefined),
    );
    this.rollbackAlarms =
      this.compute.mode === 'instance' && endpointName !== undefined ? this.createRollbackAlarms(endpointName, this.compute.deployment) : [];

    this.executionRole = this.createExecutionRole(props);

    const configs = new Map([...this.resolvedVersions.values()].map((v) => [v.version, this.createVersion(v)]));
    const activeConfig = configs.get(this.activeVersion) as sagemaker.CfnEndpointConfig;
    this.endpointConfigName = activeConfig.attrEndpointConfigName;

    const endpoint = new sagemaker.CfnEndpoint(this, 'Endpoint', {
      endpointConfigName: this.endpointConfigName,
      endpointName,
      // The rollback CLI reads the stack id from the endpoint to pick this stack's configs among same-named leftovers.
      tags: this.identityTags(),
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

  /**
   * Physical endpoint config name of a listed version (a token: {@link endpointConfigNameStem} joined with the
   * stack's creation suffix). Operators find it through the config's tags (`media-triage model rollback`).
   */
  public endpointConfigNameOf(version: string): string {
    this.versionOf(version);
    return this.configNames.get(version) as string;
  }

  private versionOf(version: string): ResolvedVersion {
    const resolved = this.resolvedVersions.get(version);
    if (!resolved) fail(this, `unknown version '${version}'; listed: ${[...this.resolvedVersions.keys()].join(', ')}.`);
    return resolved;
  }

  /**
   * Model plus endpoint config of one version. The construct ids include the label (as they always have, so a
   * single `model` keeps its logical ids); the config's physical name is {@link endpointConfigNameStem} over the
   * version's content, plus the stack's creation suffix.
   *
   * Removal policy `RETAIN_ON_UPDATE_OR_DELETE` (DeletionPolicy `RetainExceptOnCreate`, UpdateReplacePolicy
   * `Retain`): a config dropped from the list, replaced, or left by a deleted stack stays usable for an emergency
   * rollback, and its model with it; a first create that rolls back deletes them, so the retry starts clean.
   */
  private createVersion(resolved: ResolvedVersion): sagemaker.CfnEndpointConfig {
    const idSuffix = constructIdSuffix(resolved.version);
    const primaryContainer: sagemaker.CfnModel.ContainerDefinitionProperty = {
      image: this.imageUri,
      mode: 'SingleModel',
      environment: resolved.environment,
      modelDataUrl: resolved.modelDataUrl,
    };
    const model = new sagemaker.CfnModel(this, `Model-${idSuffix}`, {
      executionRoleArn: this.executionRole.roleArn,
      enableNetworkIsolation: resolved.networkIsolation,
      primaryContainer,
    });
    // The container starts with the role's permissions, so the role's policy must exist first.
    model.node.addDependency(this.executionRole);
    model.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);

    const kmsKeyId = this.storageEncryptionKey?.keyArn;
    const productionVariant = this.productionVariant(model);
    // Everything the config and its model are made of, with tokens in their stable CloudFormation form: a change
    // makes CloudFormation replace the (immutable) config, which it only does under a new name.
    const content = JSON.stringify(
      Stack.of(this).resolve({
        primaryContainer,
        networkIsolation: resolved.networkIsolation,
        productionVariant: { ...productionVariant, modelName: undefined },
        kmsKeyId,
      }),
    );
    const stem = this.claimName(endpointConfigNameStem(this.stackName(), this.node.id, resolved.version, content));
    const endpointConfigName = Fn.join('-', [stem, STACK_CREATION_SUFFIX]);
    this.configNames.set(resolved.version, endpointConfigName);

    const config = new sagemaker.CfnEndpointConfig(this, `EndpointConfig-${idSuffix}`, {
      endpointConfigName,
      productionVariants: [productionVariant],
      kmsKeyId,
      tags: [...this.identityTags(), { key: VERSION_TAG_KEYS.version, value: resolved.version }],
    });
    config.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
    return config;
  }

  /** Stack name, construct id and stack id, on the endpoint and every config ({@link VERSION_TAG_KEYS}). */
  private identityTags(): CfnTag[] {
    return [
      { key: VERSION_TAG_KEYS.stack, value: this.stackName() },
      { key: VERSION_TAG_KEYS.construct, value: this.node.id },
      { key: VERSION_TAG_KEYS.stackId, value: Aws.STACK_ID },
    ];
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
        `Rolls back a deployment of ${this.node.path}: p99 ModelLatency >= ` + `${deployment.maxModelLatencyP99Microseconds / 1e6} s for 3 minutes.`,
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
      resolved.set(label, source);
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
  ): ResolvedVersion {
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
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
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
