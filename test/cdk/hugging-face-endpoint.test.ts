import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import {
  HF_DLC_CPU_TAG,
  HF_DLC_GPU_TAG,
  HF_DLC_REGISTRY_ACCOUNTS,
  parseEcrImageUri,
} from '../../lib/constructs/hugging-face-dlc';
import { HuggingFaceEndpoint, type HuggingFaceEndpointProps } from '../../lib/constructs/hugging-face-endpoint';

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
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':logs:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':log-group:/aws/sagemaker/Endpoints/*',
                ],
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
      (policy) => (policy as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } })
        .Properties.PolicyDocument.Statement,
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
    expect(() => new HuggingFaceEndpoint(stack, 'Sls', { ...hubProps, storageEncryptionKey: key })).toThrow(
      /not supported by serverless/,
    );
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
    expect(
      () => new HuggingFaceEndpoint(stack, 'Hub', { ...hubProps, imageUri: 'registry.example.com/hf:1' }),
    ).toThrow(/imageRepositoryArn/);
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
    expect(() => new HuggingFaceEndpoint(stack, 'Clip', hubProps)).toThrow(
      /stack region is unresolved.*context 'region'.*imageUri/s,
    );
  });

  it('fails clearly for a region outside the DLC table', () => {
    const stack = stackIn('cn-north-1');
    expect(() => new HuggingFaceEndpoint(stack, 'Clip', hubProps)).toThrow(
      /no Hugging Face DLC registry is known for region 'cn-north-1'.*imageUri/s,
    );
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
        Statement: [
          { Effect: 'Allow', Action: 'sagemaker:InvokeEndpoint', Resource: { 'Fn::GetAtt': [clipEndpointId, 'EndpointArn'] } },
        ],
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
    const nagViolations = report.pluginReports
      .filter((plugin) => plugin.pluginName === 'AwsSolutions')
      .flatMap((plugin) => plugin.violations);
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
