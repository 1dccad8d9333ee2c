import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { HF_DLC_CPU_TAG, HF_DLC_GPU_TAG, HF_DLC_REGISTRY_ACCOUNTS, parseEcrImageUri } from '../../lib/constructs/hugging-face-dlc';
import {
  HuggingFaceEndpoint,
  VERSION_TAG_KEYS,
  endpointConfigNamePrefix,
  endpointConfigNameStem,
  endpointNameFor,
  type HuggingFaceEndpointProps,
} from '../../lib/constructs/hugging-face-endpoint';

const CLIP = 'openai/clip-vit-base-patch32';
const CLIP_REVISION = '3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268';
const ACCOUNT = '123456789012';

const hubProps: HuggingFaceEndpointProps = {
  task: 'zero-shot-image-classification',
  model: { modelId: CLIP, revision: CLIP_REVISION },
};

function stackIn(region: string | undefined, app = new App()): Stack {
  return new Stack(app, 'TestStack', region ? { env: { account: ACCOUNT, region } } : {});
}

function dlc(region: string, tag = HF_DLC_CPU_TAG): string {
  return `${HF_DLC_REGISTRY_ACCOUNTS[region]}.dkr.ecr.${region}.amazonaws.com/huggingface-pytorch-inference:${tag}`;
}

function logicalIdOf(template: Template, type: string): string {
  const ids = Object.keys(template.findResources(type));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

function ecrRepositoryArn(account: string, region: string, repository: string): object {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ecr:${region}:${account}:repository/${repository}`]] };
}

describe('HuggingFaceEndpoint, Hub model, serverless (defaults)', () => {
  const stack = stackIn('eu-west-1');
  const endpoint = new HuggingFaceEndpoint(stack, 'Clip', hubProps);
  const template = Template.fromStack(stack);

  it('runs the pinned CPU DLC of the region with the HF_* environment', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      EnableNetworkIsolation: false,
      PrimaryContainer: {
        Image: `763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-inference:${HF_DLC_CPU_TAG}`,
        Mode: 'SingleModel',
        Environment: {
          HF_TASK: 'zero-shot-image-classification',
          HF_MODEL_ID: CLIP,
          HF_MODEL_REVISION: CLIP_REVISION,
          SAGEMAKER_CONTAINER_LOG_LEVEL: '20',
        },
        ModelDataUrl: Match.absent(),
      },
    });
  });

  it('has one serverless AllTraffic variant with 6144 MB and concurrency 5, and no KmsKeyId', () => {
    const modelId = logicalIdOf(template, 'AWS::SageMaker::Model');
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      KmsKeyId: Match.absent(),
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: { 'Fn::GetAtt': [modelId, 'ModelName'] },
          InitialVariantWeight: 1,
          ServerlessConfig: { MemorySizeInMB: 6144, MaxConcurrency: 5 },
          InstanceType: Match.absent(),
          InitialInstanceCount: Match.absent(),
        },
      ],
    });
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  it('points the endpoint at the endpoint config', () => {
    const configId = logicalIdOf(template, 'AWS::SageMaker::EndpointConfig');
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointConfigName: { 'Fn::GetAtt': [configId, 'EndpointConfigName'] },
    });
  });

  it('names the model and endpoint config after the model version (the revision by default)', () => {
    expect(logicalIdOf(template, 'AWS::SageMaker::Model')).toContain(`ClipModel${CLIP_REVISION}`);
    expect(logicalIdOf(template, 'AWS::SageMaker::EndpointConfig')).toContain(`ClipEndpointConfig${CLIP_REVISION}`);
  });

  it('exposes the endpoint facts the pipeline needs', () => {
    const endpointId = logicalIdOf(template, 'AWS::SageMaker::Endpoint');
    expect(stack.resolve(endpoint.endpointName)).toEqual({ 'Fn::GetAtt': [endpointId, 'EndpointName'] });
    expect(stack.resolve(endpoint.endpointArn)).toEqual({ 'Fn::GetAtt': [endpointId, 'EndpointArn'] });
    expect(endpoint.task).toBe('zero-shot-image-classification');
    expect(endpoint.modelId).toBe(CLIP);
    expect(endpoint.modelVersion).toBe(CLIP_REVISION);
    expect(endpoint.variantName).toBe('AllTraffic');
    expect(endpoint.payloadLimitBytes).toBe(4 * 1024 * 1024);
  });

  it('gives the execution role only ECR pull on the DLC repository and endpoint logs', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } }],
      },
      ManagedPolicyArns: Match.absent(),
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
            Resource: ecrRepositoryArn('763104351884', 'eu-west-1', 'huggingface-pytorch-inference'),
          },
          { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
            Resource: {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:/aws/sagemaker/Endpoints/*'],
              ],
            },
          },
        ],
      },
    });
  });

  it('creates the model only after the role policy exists', () => {
    const policyId = logicalIdOf(template, 'AWS::IAM::Policy');
    template.hasResource('AWS::SageMaker::Model', { DependsOn: Match.arrayWith([policyId]) });
  });
});

describe('DLC image from the region table', () => {
  it.each([
    ['us-east-1', '763104351884'],
    ['eu-west-1', '763104351884'],
    ['eu-south-2', '503227376785'],
    ['ap-east-1', '871362719292'],
  ])('uses the %s registry account %s', (region, account) => {
    const stack = stackIn(region);
    new HuggingFaceEndpoint(stack, 'Clip', hubProps);
    Template.fromStack(stack).hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: {
        Image: `${account}.dkr.ecr.${region}.amazonaws.com/huggingface-pytorch-inference:${HF_DLC_CPU_TAG}`,
      },
    });
    expect(dlc(region)).toContain(account);
  });

  it('parses the DLC image URI back into account, region and repository', () => {
    expect(parseEcrImageUri(dlc('us-east-1'))).toEqual({
      account: '763104351884',
      region: 'us-east-1',
      repositoryName: 'huggingface-pytorch-inference',
    });
    expect(parseEcrImageUri('huggingface/transformers-inference:latest')).toBeUndefined();
  });
});

describe('S3 model source', () => {
  const stack = stackIn('us-east-1');
  const key = new kms.Key(stack, 'ModelsKey', { enableKeyRotation: true });
  const bucket = new s3.Bucket(stack, 'Models', { encryptionKey: key });
  const endpoint = new HuggingFaceEndpoint(stack, 'Nsfw', {
    task: 'image-classification',
    model: { kind: 's3', modelData: { bucket, key: 'models/nsfw/2024-06-01/model.tar.gz' }, version: '2024-06-01' },
  });
  const template = Template.fromStack(stack);
  const bucketId = stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
  const keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);

  it('sets ModelDataUrl, no Hub variables, and isolates the container from the network', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      EnableNetworkIsolation: true,
      PrimaryContainer: {
        Image: dlc('us-east-1'),
        ModelDataUrl: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/models/nsfw/2024-06-01/model.tar.gz']] },
        Environment: {
          HF_TASK: 'image-classification',
          SAGEMAKER_CONTAINER_LOG_LEVEL: '20',
          HF_MODEL_ID: Match.absent(),
          HF_MODEL_REVISION: Match.absent(),
        },
      },
    });
  });

  it('grants s3:GetObject on exactly the model object (and decrypt on its key), no bucket-wide read', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/models/nsfw/2024-06-01/model.tar.gz']] },
          },
          { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } },
        ]),
      },
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => (policy as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }).Properties.PolicyDocument.Statement,
    );
    const s3Actions = statements.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('s3:'));
    expect(s3Actions).toEqual(['s3:GetObject']);
  });

  it('labels the version and model after the S3 source', () => {
    expect(endpoint.modelVersion).toBe('2024-06-01');
    expect(stack.resolve(endpoint.modelId)).toEqual({
      'Fn::Join': ['', ['s3://', { Ref: bucketId }, '/models/nsfw/2024-06-01/model.tar.gz']],
    });
    expect(logicalIdOf(template, 'AWS::SageMaker::EndpointConfig')).toContain('NsfwEndpointConfig20240601');
  });

  it('rejects a key that is not a model.tar.gz', () => {
    const other = stackIn('us-east-1');
    const b = new s3.Bucket(other, 'B');
    expect(
      () =>
        new HuggingFaceEndpoint(other, 'E', {
          task: 'image-classification',
          model: { kind: 's3', modelData: { bucket: b, key: 'models/weights.bin' }, version: 'v1' },
        }),
    ).toThrow(/model\.tar\.gz/);
  });
});

describe('instance mode', () => {
  it('uses InstanceType and InitialInstanceCount, no ServerlessConfig, and a rotated KMS key for storage', () => {
    const stack = stackIn('eu-west-1');
    const endpoint = new HuggingFaceEndpoint(stack, 'Clip', {
      ...hubProps,
      compute: { mode: 'instance', initialInstanceCount: 2 },
    });
    const template = Template.fromStack(stack);
    const keyId = logicalIdOf(template, 'AWS::KMS::Key');
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          InstanceType: 'ml.m5.xlarge',
          InitialInstanceCount: 2,
          ServerlessConfig: Match.absent(),
        },
      ],
    });
    template.hasResourceProperties('AWS::SageMaker::Model', { PrimaryContainer: { Image: dlc('eu-west-1') } });
    expect(endpoint.payloadLimitBytes).toBe(6 * 1024 * 1024);
  });

  it('runs the GPU build on a GPU type and leaves KmsKeyId out where instance storage is local NVMe', () => {
    const stack = stackIn('us-east-1');
    new HuggingFaceEndpoint(stack, 'Clip', {
      ...hubProps,
      compute: { mode: 'instance', instanceType: 'ml.g5.xlarge' },
      variantName: 'clip-v1',
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { Image: dlc('us-east-1', HF_DLC_GPU_TAG) },
    });
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      KmsKeyId: Match.absent(),
      ProductionVariants: [{ VariantName: 'clip-v1', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1 }],
    });
    template.resourceCountIs('AWS::KMS::Key', 0);
  });

  it('refuses a storage key where SageMaker would reject it', () => {
    const stack = stackIn('us-east-1');
    const key = new kms.Key(stack, 'K', { enableKeyRotation: true });
    expect(
      () =>
        new HuggingFaceEndpoint(stack, 'Gpu', {
          ...hubProps,
          compute: { mode: 'instance', instanceType: 'ml.g5.xlarge' },
          storageEncryptionKey: key,
        }),
    ).toThrow(/local instance storage/);
    expect(() => new HuggingFaceEndpoint(stack, 'Sls', { ...hubProps, storageEncryptionKey: key })).toThrow(/not supported by serverless/);
  });
});

describe('imageUri override', () => {
  const override = '111122223333.dkr.ecr.eu-central-1.amazonaws.com/custom-hf-inference:1.2.3';

  it('replaces the DLC and scopes ECR pull to the override repository', () => {
    const stack = stackIn('eu-west-1');
    new HuggingFaceEndpoint(stack, 'Clip', { ...hubProps, imageUri: override });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SageMaker::Model', { PrimaryContainer: { Image: override } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
            Resource: ecrRepositoryArn('111122223333', 'eu-central-1', 'custom-hf-inference'),
          }),
        ]),
      },
    });
  });

  it('needs no stack region', () => {
    const stack = stackIn(undefined);
    new HuggingFaceEndpoint(stack, 'Clip', { ...hubProps, imageUri: override });
    Template.fromStack(stack).hasResourceProperties('AWS::SageMaker::Model', { PrimaryContainer: { Image: override } });
  });

  it('asks for imageRepositoryArn when the image is not a literal ECR URI', () => {
    const stack = stackIn('eu-west-1');
    expect(() => new HuggingFaceEndpoint(stack, 'Hub', { ...hubProps, imageUri: 'registry.example.com/hf:1' })).toThrow(/imageRepositoryArn/);
    const repositoryArn = 'arn:aws:ecr:eu-west-1:111122223333:repository/hf';
    new HuggingFaceEndpoint(stack, 'Ok', {
      ...hubProps,
      imageUri: 'registry.example.com/hf:1',
      imageRepositoryArn: repositoryArn,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Resource: repositoryArn })]) },
    });
  });
});

describe('region errors', () => {
  it('fails clearly when the stack region is unresolved and no imageUri is given', () => {
    const stack = stackIn(undefined);
    expect(() => new HuggingFaceEndpoint(stack, 'Clip', hubProps)).toThrow(/stack region is unresolved.*context 'region'.*imageUri/s);
  });

  it('fails clearly for a region outside the DLC table', () => {
    const stack = stackIn('cn-north-1');
    expect(() => new HuggingFaceEndpoint(stack, 'Clip', hubProps)).toThrow(/no Hugging Face DLC registry is known for region 'cn-north-1'.*imageUri/s);
  });
});

describe('prop validation', () => {
  const cases: [string, Partial<HuggingFaceEndpointProps>, RegExp][] = [
    ['a moving revision', { model: { modelId: CLIP, revision: 'main' } }, /pin a commit SHA/],
    ['an invalid serverless memory size', { compute: { mode: 'serverless', memorySizeInMb: 1000 } }, /memorySizeInMb/],
    ['too much concurrency', { compute: { mode: 'serverless', maxConcurrency: 500 } }, /maxConcurrency/],
    ['zero instances', { compute: { mode: 'instance', initialInstanceCount: 0 } }, /initialInstanceCount/],
    ['a reserved environment variable', { environment: { HF_TASK: 'x' } }, /cannot set HF_TASK/],
    ['network isolation for a Hub model', { networkIsolation: true }, /networkIsolation/],
    ['an invalid variant name', { variantName: 'All_Traffic' }, /variantName/],
    ['a Neuron instance without imageUri', { compute: { mode: 'instance', instanceType: 'ml.inf2.xlarge' } }, /Neuron/],
  ];
  it.each(cases)('rejects %s', (_name, overrides, message) => {
    const stack = stackIn('eu-west-1');
    expect(() => new HuggingFaceEndpoint(stack, 'Clip', { ...hubProps, ...overrides })).toThrow(message);
  });

  it('passes extra environment variables through', () => {
    const stack = stackIn('eu-west-1');
    new HuggingFaceEndpoint(stack, 'Clip', { ...hubProps, environment: { MMS_DEFAULT_WORKERS_PER_MODEL: '1' } });
    Template.fromStack(stack).hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { Environment: Match.objectLike({ MMS_DEFAULT_WORKERS_PER_MODEL: '1', HF_MODEL_ID: CLIP }) },
    });
  });
});

describe('grantInvoke', () => {
  it('grants sagemaker:InvokeEndpoint on exactly this endpoint ARN', () => {
    const stack = stackIn('eu-west-1');
    const clip = new HuggingFaceEndpoint(stack, 'Clip', hubProps);
    new HuggingFaceEndpoint(stack, 'Other', { ...hubProps, task: 'image-classification' });
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    clip.grantInvoke(caller);

    const template = Template.fromStack(stack);
    const clipEndpointId = stack.getLogicalId(clip.node.findChild('Endpoint') as CfnElement);
    const callerRoleId = stack.getLogicalId(caller.node.defaultChild as iam.CfnRole);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: callerRoleId }],
      PolicyDocument: {
        Statement: [{ Effect: 'Allow', Action: 'sagemaker:InvokeEndpoint', Resource: { 'Fn::GetAtt': [clipEndpointId, 'EndpointArn'] } }],
      },
    });
  });
});

/**
 * cdk-nag 3 is a policy-validation plugin: `Validations.of(app).addPlugins(new AwsSolutionsChecks(app))`. Findings
 * are not annotations any more; `app.synth()` collects them in `<assembly>/validation-report.json` and, when any
 * plugin reports an unacknowledged error, throws `ValidationFailed`. In "inmemory" app mode (forced here, and the
 * default under NODE_ENV=test) the exception message carries the whole report. Findings are acknowledged with
 * `Validations.of(construct).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason })`.
 */
function synthWithNag(build: (stack: Stack) => void): { report: NagReport } {
  const app = new App({ context: { [cxapi.CDK_APP_MODE_CONTEXT]: 'inmemory' } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  build(stackIn('eu-west-1', app));
  const assembly = app.synth();
  const report = JSON.parse(readFileSync(join(assembly.directory, cxapi.VALIDATION_REPORT_FILE), 'utf8')) as NagReport;
  return { report };
}

interface NagReport {
  readonly pluginReports: { readonly pluginName: string; readonly violations: { readonly ruleName: string }[] }[];
}

function twoEndpoints(stack: Stack): void {
  new HuggingFaceEndpoint(stack, 'Clip', hubProps);
  const models = new s3.Bucket(stack, 'Models', {
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    serverAccessLogsPrefix: 'access-logs/',
  });
  new HuggingFaceEndpoint(stack, 'Nsfw', {
    task: 'image-classification',
    model: { kind: 's3', modelData: { bucket: models, key: 'nsfw/model.tar.gz' }, version: 'v1' },
    compute: { mode: 'instance' },
  });
}

describe('cdk-nag AwsSolutions', () => {
  it('passes on a stack with two endpoints, with no unacknowledged findings', () => {
    const { report } = synthWithNag(twoEndpoints);
    const nagViolations = report.pluginReports.filter((plugin) => plugin.pluginName === 'AwsSolutions').flatMap((plugin) => plugin.violations);
    expect(nagViolations).toEqual([]);
  });

  it('fails synthesis on an unacknowledged AwsSolutions error (the harness really checks)', () => {
    expect(() =>
      synthWithNag((stack) => {
        twoEndpoints(stack);
        const sloppy = new iam.Role(stack, 'Sloppy', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
        sloppy.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
      }),
    ).toThrow(/AwsSolutions-IAM5\[Action::s3:\*\][\s\S]*Sloppy/);
  });

  it('gives every acknowledgement inside the construct a written reason', () => {
    const stack = stackIn('eu-west-1');
    twoEndpoints(stack);
    const acknowledgements = stack.node
      .findAll()
      .filter((c) => c instanceof HuggingFaceEndpoint || c.node.scopes.some((s) => s instanceof HuggingFaceEndpoint))
      .flatMap((c) => c.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledgements) {
      expect(id).toMatch(/AwsSolutions-IAM5\[/);
      expect(reason.length).toBeGreaterThan(40);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Model versions, rollback and deployment guardrails
// ---------------------------------------------------------------------------------------------------------------------

const CLIP_V1 = { modelId: CLIP, revision: 'a'.repeat(40) };
const CLIP_V2 = { modelId: CLIP, revision: CLIP_REVISION };
const twoVersions: HuggingFaceEndpointProps = {
  task: 'zero-shot-image-classification',
  versions: [
    { version: 'v1', model: CLIP_V1 },
    { version: 'v2', model: CLIP_V2 },
  ],
};

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly DependsOn?: string[];
}

function resourcesOf(template: Template, type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}

function only<T>(values: Record<string, T>): [string, T] {
  const entries = Object.entries(values);
  expect(entries).toHaveLength(1);
  return entries[0] as [string, T];
}

describe('endpointConfigNamePrefix / endpointConfigNameStem / endpointNameFor', () => {
  const sagemakerName = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
  /** The suffix the construct appends: `-` and 8 hex digits of the stack UUID. */
  const full = (stem: string): string => `${stem}-0123abcd`;

  it('is <stack>-<construct>-<version>-<8 hex of the content> for short, clean parts, and deterministic', () => {
    const stem = endpointConfigNameStem('MediaTriage', 'CategoryModel', 'v1', '{}');
    expect(stem).toMatch(/^MediaTriage-CategoryModel-v1-[0-9a-f]{8}$/);
    expect(endpointConfigNameStem('MediaTriage', 'CategoryModel', 'v1', '{}')).toBe(stem);
    expect(stem.startsWith(endpointConfigNamePrefix('MediaTriage', 'CategoryModel', 'v1'))).toBe(true);
    expect(endpointNameFor('MediaTriage', 'PolicyModel')).toMatch(/^MediaTriage-PolicyModel-[0-9a-f]{8}$/);
  });

  it('changes with the content, so a changed version gets a new config instead of a refused replacement', () => {
    expect(endpointConfigNameStem('S', 'C', 'v1', '{"a":1}')).not.toBe(endpointConfigNameStem('S', 'C', 'v1', '{"a":2}'));
  });

  it('sanitizes to SageMaker names of at most 63 characters with the suffix, unique per version', () => {
    const versions = ['v1.0', 'v1_0', 'v1-0', 'v1/0', 'V1.0', '+v1', CLIP_REVISION, `${CLIP_REVISION}-and-more`, 'x'.repeat(128)];
    const names = versions.map((v) => full(endpointConfigNameStem('MediaTriage', 'CategoryModel', v, '{}')));
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(sagemakerName);
    }
    expect(new Set(names).size).toBe(versions.length);
    expect(names[0]).toMatch(/^MediaTriage-CategoryModel-v1-0-[0-9a-f]{8}-0123abcd$/);
    for (const [index, v] of versions.entries()) {
      expect(names[index]!.startsWith(endpointConfigNamePrefix('MediaTriage', 'CategoryModel', v)), v).toBe(true);
    }
  });

  it('does not let parts run into each other', () => {
    expect(endpointConfigNameStem('Stack', 'A-B', 'v1', '')).not.toBe(endpointConfigNameStem('Stack-A', 'B', 'v1', ''));
    expect(() => endpointConfigNameStem('Stack', 'A', '', '')).toThrow(/version must not be empty/);
    expect(() => endpointConfigNamePrefix('Stack', '', 'v1')).toThrow(/constructId must not be empty/);
  });
});

describe('versions: one retained, named endpoint config per version', () => {
  const stack = stackIn('eu-west-1');
  const endpoint = new HuggingFaceEndpoint(stack, 'Clip', twoVersions);
  const template = Template.fromStack(stack);
  const configs = resourcesOf(template, 'AWS::SageMaker::EndpointConfig');
  const models = resourcesOf(template, 'AWS::SageMaker::Model');

  /** The config's name as `<stem>-${suffix}`, the suffix being the stack UUID's first segment. */
  const nameParts = (config: Resource): { stem: string; suffix: unknown } => {
    const [separator, [stem, suffix]] = (config.Properties['EndpointConfigName'] as { 'Fn::Join': [string, [string, unknown]] })['Fn::Join'];
    expect(separator).toBe('-');
    return { stem, suffix };
  };
  const configOf = (version: string): [string, Resource] =>
    Object.entries(configs).find(
      ([, c]) => JSON.stringify(c.Properties['EndpointConfigName']) === JSON.stringify(stack.resolve(endpoint.endpointConfigNameOf(version))),
    )!;

  it('creates a model and an endpoint config per version, each named <stem>-<first 8 hex of the stack UUID>', () => {
    expect(Object.keys(models)).toHaveLength(2);
    expect(Object.keys(configs)).toHaveLength(2);
    for (const config of Object.values(configs)) {
      const { stem, suffix } = nameParts(config);
      expect(stem).toMatch(/^TestStack-Clip-v[12]-[0-9a-f]{8}$/);
      expect(suffix).toEqual({ 'Fn::Select': [0, { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] }] });
    }
    expect(new Set(Object.values(configs).map((c) => nameParts(c).stem)).size).toBe(2);
    for (const [version, revision] of [
      ['v1', CLIP_V1.revision],
      ['v2', CLIP_V2.revision],
    ] as const) {
      const [configId, config] = configOf(version);
      expect(nameParts(config).stem.startsWith(endpointConfigNamePrefix('TestStack', 'Clip', version))).toBe(true);
      expect(configId).toContain(`ClipEndpointConfig${version}`);
      const modelId = (config.Properties['ProductionVariants'] as { ModelName: { 'Fn::GetAtt': string[] } }[])[0]!.ModelName['Fn::GetAtt'][0]!;
      expect(models[modelId]?.Properties['PrimaryContainer']).toMatchObject({ Environment: { HF_MODEL_REVISION: revision } });
    }
  });

  it('retains every model and config on update and delete, but not when a create rolls back', () => {
    for (const resource of [...Object.values(configs), ...Object.values(models)]) {
      expect(resource.DeletionPolicy).toBe('RetainExceptOnCreate');
      expect(resource.UpdateReplacePolicy).toBe('Retain');
    }
    // Models are CloudFormation-named, so a retained one never blocks a create.
    for (const model of Object.values(models)) expect(model.Properties['ModelName']).toBeUndefined();
  });

  it('tags each config with stack, construct id, version and stack id, and the endpoint with the stack id', () => {
    for (const version of ['v1', 'v2']) {
      // CDK sorts tags by key.
      expect(configOf(version)[1].Properties['Tags']).toEqual([
        { Key: VERSION_TAG_KEYS.construct, Value: 'Clip' },
        { Key: VERSION_TAG_KEYS.stack, Value: 'TestStack' },
        { Key: VERSION_TAG_KEYS.stackId, Value: { Ref: 'AWS::StackId' } },
        { Key: VERSION_TAG_KEYS.version, Value: version },
      ]);
    }
    const [, ep] = only(resourcesOf(template, 'AWS::SageMaker::Endpoint'));
    expect(ep.Properties['Tags']).toContainEqual({ Key: VERSION_TAG_KEYS.stackId, Value: { Ref: 'AWS::StackId' } });
  });

  it('renames a config whose model changes (CloudFormation cannot replace a custom-named resource in place)', () => {
    const build = (revision: string): string => {
      const s = stackIn('eu-west-1');
      new HuggingFaceEndpoint(s, 'Clip', { ...hubProps, model: { modelId: CLIP, revision }, modelVersion: 'v1' });
      const [, config] = only(resourcesOf(Template.fromStack(s), 'AWS::SageMaker::EndpointConfig'));
      return nameParts(config).stem;
    };
    expect(build('a'.repeat(40))).not.toBe(build('b'.repeat(40)));
    expect(build('a'.repeat(40))).toBe(build('a'.repeat(40)));
  });

  it('points the endpoint at the last listed version by default and exposes the active model', () => {
    const [, ep] = only(resourcesOf(template, 'AWS::SageMaker::Endpoint'));
    const [v2Id] = configOf('v2');
    expect(ep.Properties['EndpointConfigName']).toEqual({ 'Fn::GetAtt': [v2Id, 'EndpointConfigName'] });
    expect(endpoint.activeVersion).toBe('v2');
    expect(endpoint.modelVersion).toBe('v2');
    expect(endpoint.versions).toEqual(['v1', 'v2']);
    expect(endpoint.modelId).toBe(CLIP);
    expect(endpoint.modelIdFor('v1')).toBe(CLIP);
    expect(() => endpoint.modelIdFor('v9')).toThrow(/unknown version 'v9'; listed: v1, v2/);
  });

  it('serverless: no DeploymentConfig, no alarms, a CloudFormation-generated endpoint name', () => {
    const [, ep] = only(resourcesOf(template, 'AWS::SageMaker::Endpoint'));
    expect(ep.Properties['DeploymentConfig']).toBeUndefined();
    expect(ep.Properties['EndpointName']).toBeUndefined();
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(endpoint.rollbackAlarms).toEqual([]);
  });

  it("switching activeVersion changes only the endpoint's EndpointConfigName", () => {
    const build = (activeVersion: string) => {
      const s = stackIn('eu-west-1');
      new HuggingFaceEndpoint(s, 'Clip', { ...twoVersions, activeVersion });
      return Template.fromStack(s).toJSON() as { Resources: Record<string, Resource> };
    };
    const onV1 = build('v1');
    const onV2 = build('v2');
    const differing = Object.keys({ ...onV1.Resources, ...onV2.Resources }).filter(
      (id) => JSON.stringify(onV1.Resources[id]) !== JSON.stringify(onV2.Resources[id]),
    );
    expect(differing).toHaveLength(1);
    const endpointId = differing[0]!;
    expect(onV1.Resources[endpointId]?.Type).toBe('AWS::SageMaker::Endpoint');
    const { EndpointConfigName: a, ...restV1 } = onV1.Resources[endpointId]!.Properties;
    const { EndpointConfigName: b, ...restV2 } = onV2.Resources[endpointId]!.Properties;
    expect(restV1).toEqual(restV2);
    expect(a).not.toEqual(b);
    expect((a as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]).toContain('ClipEndpointConfigv1');
  });

  it('keeps the single-model form: one named, retained config under the same logical ids as before', () => {
    const s = stackIn('eu-west-1');
    const single = new HuggingFaceEndpoint(s, 'Clip', hubProps);
    const t = Template.fromStack(s);
    const [configId, config] = only(resourcesOf(t, 'AWS::SageMaker::EndpointConfig'));
    expect(configId).toContain(`ClipEndpointConfig${CLIP_REVISION}`);
    expect(nameParts(config).stem.startsWith(endpointConfigNamePrefix('TestStack', 'Clip', CLIP_REVISION))).toBe(true);
    expect(config.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(single.versions).toEqual([CLIP_REVISION]);
    expect(single.activeVersion).toBe(CLIP_REVISION);
  });

  it("grants s3:GetObject on each S3 version's archive, and isolates only the S3 versions from the network", () => {
    const s = stackIn('eu-west-1');
    const bucket = new s3.Bucket(s, 'Models');
    new HuggingFaceEndpoint(s, 'Nsfw', {
      task: 'image-classification',
      versions: [
        { version: 'hub-1', model: { modelId: 'Falconsai/nsfw_image_detection', revision: 'b'.repeat(40) } },
        { version: 's3-1', model: { kind: 's3', modelData: { bucket, key: 'nsfw/1/model.tar.gz' }, version: '1' } },
        { version: 's3-2', model: { kind: 's3', modelData: { bucket, key: 'nsfw/2/model.tar.gz' }, version: '2' } },
      ],
      activeVersion: 's3-1',
    });
    const t = Template.fromStack(s);
    const bucketId = s.getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    const statements = Object.values(resourcesOf(t, 'AWS::IAM::Policy')).flatMap(
      (p) => (p.Properties['PolicyDocument'] as { Statement: { Action: string; Resource: unknown }[] }).Statement,
    );
    expect(statements.filter((st) => st.Action === 's3:GetObject').map((st) => st.Resource)).toEqual(
      ['nsfw/1/model.tar.gz', 'nsfw/2/model.tar.gz'].map((key) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${key}`]] })),
    );
    const isolation = Object.values(resourcesOf(t, 'AWS::SageMaker::Model')).map((m) => m.Properties['EnableNetworkIsolation']);
    expect(isolation.sort()).toEqual([false, true, true]);
  });
});

describe('version validation', () => {
  const cases: [string, Partial<HuggingFaceEndpointProps>, RegExp][] = [
    ['an empty version list', { model: undefined, versions: [] }, /versions is empty: list at least one \{ version, model \}/],
    [
      'a duplicate version',
      {
        model: undefined,
        versions: [
          { version: 'v1', model: CLIP_V1 },
          { version: 'v1', model: CLIP_V2 },
        ],
      },
      /versions lists 'v1' more than once/,
    ],
    [
      'versions that differ only by / and -',
      {
        model: undefined,
        versions: [
          { version: 'a/b', model: CLIP_V1 },
          { version: 'a-b', model: CLIP_V2 },
        ],
      },
      /versions 'a\/b' and 'a-b' differ only by/,
    ],
    ['an unknown activeVersion', { ...twoVersions, model: undefined, activeVersion: 'v3' }, /activeVersion 'v3' is not a listed version \(listed: v1, v2\)/],
    ["an activeVersion that is not the single model's label", { activeVersion: 'v3' }, /activeVersion 'v3' is not a listed version/],
    ['both model and versions', { versions: twoVersions.versions }, /either model \(one version\) or versions, not both/],
    ['neither model nor versions', { model: undefined }, /pass model, or versions/],
    ['modelVersion with versions', { ...twoVersions, model: undefined, modelVersion: 'x' }, /modelVersion labels a single model/],
    ['an invalid version label', { model: undefined, versions: [{ version: 'v 1', model: CLIP_V1 }] }, /a version label must be 1-128/],
    [
      'a moving revision in a listed version',
      { model: undefined, versions: [{ version: 'v1', model: { modelId: CLIP, revision: 'main' } }] },
      /versions\['v1'\]: model\.revision must pin a commit SHA/,
    ],
  ];
  it.each(cases)('rejects %s', (_name, overrides, message) => {
    const stack = stackIn('eu-west-1');
    expect(() => new HuggingFaceEndpoint(stack, 'Clip', { ...hubProps, ...overrides })).toThrow(message);
  });

  it('refuses two endpoints whose derived names would collide (same construct id under different parents)', () => {
    const stack = stackIn('eu-west-1');
    new HuggingFaceEndpoint(new Construct(stack, 'A'), 'Clip', twoVersions);
    expect(() => new HuggingFaceEndpoint(new Construct(stack, 'B'), 'Clip', twoVersions)).toThrow(
      /physical name 'TestStack-Clip-v1-[0-9a-f]{8}' is already used by TestStack\/A\/Clip/,
    );
  });
});

describe('instance mode: blue/green deployment with alarm-driven auto-rollback', () => {
  const stack = stackIn('eu-west-1');
  const endpoint = new HuggingFaceEndpoint(stack, 'Clip', { ...twoVersions, compute: { mode: 'instance', initialInstanceCount: 2 } });
  const template = Template.fromStack(stack);
  const [endpointId, ep] = only(resourcesOf(template, 'AWS::SageMaker::Endpoint'));
  const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
  const expectedName = endpointNameFor('TestStack', 'Clip');

  it('gives the endpoint a deterministic name (the alarms need it before the endpoint exists)', () => {
    expect(ep.Properties['EndpointName']).toBe(expectedName);
    expect(stack.resolve(endpoint.endpointName)).toEqual({ 'Fn::GetAtt': [endpointId, 'EndpointName'] });
  });

  it('has a BlueGreenUpdatePolicy: all at once, 10 min baking, 5 min termination wait, 1 h timeout', () => {
    expect(ep.Properties['DeploymentConfig']).toMatchObject({
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 600 },
        TerminationWaitInSeconds: 300,
        MaximumExecutionTimeoutInSeconds: 3600,
      },
    });
    expect(ep.Properties['DeploymentConfig']).not.toHaveProperty('RollingUpdatePolicy');
  });

  it('rolls back on two alarms that exist in the template, on the endpoint and variant', () => {
    const rollbackAlarms = (ep.Properties['DeploymentConfig'] as { AutoRollbackConfiguration: { Alarms: { AlarmName: { Ref: string } }[] } })
      .AutoRollbackConfiguration.Alarms;
    expect(rollbackAlarms).toHaveLength(2);
    const referenced = rollbackAlarms.map((alarm) => alarm.AlarmName.Ref).sort();
    expect(referenced).toEqual(Object.keys(alarms).sort());
    expect(endpoint.rollbackAlarms.map((a) => stack.resolve(a.alarmName).Ref).sort()).toEqual(referenced);

    const dimensions = [
      { Name: 'EndpointName', Value: expectedName },
      { Name: 'VariantName', Value: 'AllTraffic' },
    ];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SageMaker',
      MetricName: 'Invocation5XXErrors',
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SageMaker',
      MetricName: 'ModelLatency',
      Dimensions: dimensions,
      ExtendedStatistic: 'p99',
      Period: 60,
      Threshold: 3_000_000, // microseconds
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      TreatMissingData: 'notBreaching',
    });
  });

  it('lets the execution role read exactly those alarms', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: 'cloudwatch:DescribeAlarms',
            Resource: Object.keys(alarms)
              .sort()
              .map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
          },
        ]),
      },
    });
  });

  it('keeps per-version configs on instances, each with the storage key, and the endpoint on the active one', () => {
    const configs = resourcesOf(template, 'AWS::SageMaker::EndpointConfig');
    expect(Object.keys(configs)).toHaveLength(2);
    for (const config of Object.values(configs)) {
      expect(config.Properties).toMatchObject({
        KmsKeyId: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
        ProductionVariants: [{ VariantName: 'AllTraffic', InstanceType: 'ml.m5.xlarge', InitialInstanceCount: 2 }],
      });
      expect(config.DeletionPolicy).toBe('RetainExceptOnCreate');
    }
    expect((ep.Properties['EndpointConfigName'] as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]).toContain('ClipEndpointConfigv2');
  });

  it('takes a canary, the timings and the thresholds as props', () => {
    const s = stackIn('eu-west-1');
    new HuggingFaceEndpoint(s, 'Clip', {
      ...hubProps,
      variantName: 'clip',
      compute: {
        mode: 'instance',
        initialInstanceCount: 4,
        deployment: {
          trafficShifting: { type: 'CANARY', canarySize: { type: 'INSTANCE_COUNT', value: 1 } },
          bakingPeriod: Duration.minutes(15),
          terminationWait: Duration.minutes(0),
          maximumExecutionTimeout: Duration.hours(2),
          max5xxErrorsPerMinute: 5,
          maxModelLatencyP99: Duration.millis(1500),
        },
      },
    });
    const t = Template.fromStack(s);
    t.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 }, WaitIntervalInSeconds: 900 },
          TerminationWaitInSeconds: 0,
          MaximumExecutionTimeoutInSeconds: 7200,
        },
      },
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Invocation5XXErrors', Threshold: 5 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ModelLatency',
      Threshold: 1_500_000,
      Dimensions: Match.arrayWith([{ Name: 'VariantName', Value: 'clip' }]),
    });
  });

  it('uses a given endpointName in the alarms', () => {
    const s = stackIn('eu-west-1');
    new HuggingFaceEndpoint(s, 'Clip', { ...hubProps, endpointName: 'clip-prod', compute: { mode: 'instance' } });
    const t = Template.fromStack(s);
    t.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'clip-prod' });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Dimensions: Match.arrayWith([{ Name: 'EndpointName', Value: 'clip-prod' }]) });
  });

  const invalid: [string, HuggingFaceEndpointProps['compute'], RegExp][] = [
    [
      'a canary on one instance',
      { mode: 'instance', deployment: { trafficShifting: { type: 'CANARY', canarySize: { type: 'CAPACITY_PERCENT', value: 25 } } } },
      /CANARY deployment needs at least 2 instances/,
    ],
    [
      'a canary larger than half the fleet',
      { mode: 'instance', initialInstanceCount: 4, deployment: { trafficShifting: { type: 'CANARY', canarySize: { type: 'INSTANCE_COUNT', value: 3 } } } },
      /INSTANCE_COUNT must be 1 to 2/,
    ],
    [
      'a canary over 50 percent',
      { mode: 'instance', initialInstanceCount: 4, deployment: { trafficShifting: { type: 'CANARY', canarySize: { type: 'CAPACITY_PERCENT', value: 60 } } } },
      /CAPACITY_PERCENT must be an integer from 1 to 50/,
    ],
    [
      'a baking period over an hour',
      { mode: 'instance', deployment: { bakingPeriod: Duration.hours(2) } },
      /bakingPeriod must be a whole number of seconds from 0 to 3600/,
    ],
    [
      'a timeout under 10 minutes',
      { mode: 'instance', deployment: { maximumExecutionTimeout: Duration.minutes(5) } },
      /maximumExecutionTimeout must be .* from 600 to 28800/,
    ],
    [
      'a timeout shorter than baking plus termination wait',
      { mode: 'instance', deployment: { bakingPeriod: Duration.minutes(50), terminationWait: Duration.minutes(20) } },
      /must be longer than the baking period plus the termination wait \(4200 s\)/,
    ],
    ['a zero error threshold', { mode: 'instance', deployment: { max5xxErrorsPerMinute: 0 } }, /max5xxErrorsPerMinute must be a positive integer/],
    [
      'deployment settings on a serverless endpoint',
      { mode: 'serverless', deployment: {} } as unknown as HuggingFaceEndpointProps['compute'],
      /compute.deployment .* is for instance endpoints only/,
    ],
  ];
  it.each(invalid)('rejects %s', (_name, compute, message) => {
    expect(() => new HuggingFaceEndpoint(stackIn('eu-west-1'), 'Clip', { ...hubProps, compute })).toThrow(message);
  });
});

describe('cdk-nag AwsSolutions with versions and guardrails', () => {
  it('passes on a stack with a versioned instance endpoint and a versioned serverless one', () => {
    const { report } = synthWithNag((stack) => {
      new HuggingFaceEndpoint(stack, 'Clip', { ...twoVersions, compute: { mode: 'instance', initialInstanceCount: 2 } });
      new HuggingFaceEndpoint(stack, 'ClipServerless', { ...twoVersions, activeVersion: 'v1' });
    });
    const nagViolations = report.pluginReports.filter((plugin) => plugin.pluginName === 'AwsSolutions').flatMap((plugin) => plugin.violations);
    expect(nagViolations).toEqual([]);
  });
});
