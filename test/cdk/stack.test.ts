/**
 * The whole media-triage stack, synthesized once (bundling skipped) the way `cdk synth -c region=eu-west-1` builds it:
 * `buildApp` plus the context of cdk.json (feature flags), which the CDK CLI passes to the app through CDK_CONTEXT_JSON.
 *
 * cdk-nag 3 runs as a CDK validation plugin: in "inmemory" app mode `app.synth()` throws `ValidationFailed` with the
 * whole report in the message when a finding is not acknowledged, and the report also lands in
 * `<assembly>/validation-report.json` (see test/cdk/hugging-face-endpoint.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import packageJson from '../../package.json';
import { semaphorePk } from '../../lambdas/adapters/endpoint-guard';
import { SETTING_NAMES, type SettingKey } from '../../lambdas/adapters/settings';
import {
  CLASSIFY_MODEL_CALL_BUDGET_MS,
  CLASSIFY_SAFETY_SECONDS,
  COMMON_SETTINGS,
  DEFAULT_MODEL_RETRY_BASE_DELAY_MS,
  PIPELINE_STAGE_NAMES,
  STAGES,
  STAGE_NAMES,
  type Access,
  type StageName,
} from '../../lambdas/stages';
import { buildApp, RegionMissingError, resolveRegion } from '../../lib/app';
import { PROJECT_ROOT } from '../../lib/constructs/stage-function';
import { DEFAULT_MAX_INPUT_BYTES_PER_BATCH, MAP_RESULTS_PREFIX } from '../../lib/constructs/triage-state-machine';
import { REVIEW_KEY_PREFIXES } from '../../lib/constructs/reviewer-access';
import { DEFAULT_METRICS_NAMESPACE } from '../../lib/constructs/monitoring';
import { MODEL_INPUT_PREFIX } from '../../lambdas/core/work-items';
import { MediaTriageStack } from '../../lib/media-triage-stack';
import { expressChildWorstCase, type CfnTemplateJson } from './express-worst-case';

const REGION = 'eu-west-1';
const DLC_ACCOUNT = '763104351884';
const CLIP = 'openai/clip-vit-base-patch32';
const CLIP_REVISION = '3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268';
const NSFW = 'Falconsai/nsfw_image_detection';
const NSFW_REVISION = '96cb0d0342c7afb80cab76ecc58b265fa44da256';
const SERVERLESS_PAYLOAD_LIMIT = String(4 * 1024 * 1024);
/** Express executions stop at 5 minutes, retries and waits included. */
const EXPRESS_LIMIT_SECONDS = 300;
/**
 * What the child's worst case must leave of the 300 s: Lambda cold starts (the init phase, up to 10 s, runs outside
 * the function timeout; a few seconds for these bundles) and Step Functions' own transitions.
 */
const EXPRESS_MARGIN_SECONDS = 30;
/** The Lambda memory new and low-quota accounts allow (CloudFormation refuses more). */
const LOW_QUOTA_LAMBDA_MEMORY_MB = 3008;

// ---------------------------------------------------------------------------------------------------------------------
// Synthesis
// ---------------------------------------------------------------------------------------------------------------------

interface NagViolation {
  readonly ruleName: string;
  readonly violatingConstructs: { readonly constructPath: string }[];
}
interface NagSuppressedViolation extends NagViolation {
  readonly acknowledgedId: string;
  readonly reason: string;
  readonly acknowledgedAt: string;
}
interface ValidationReport {
  readonly pluginReports: {
    readonly pluginName: string;
    readonly conclusion: string;
    readonly violations: NagViolation[];
    readonly suppressedViolations?: NagSuppressedViolation[];
  }[];
}

interface Synthesized {
  readonly stack: MediaTriageStack;
  readonly template: Template;
  readonly report: ValidationReport;
  /** The `ValidationFailed` error of the normal (throwing) synth, if a finding was not acknowledged. */
  readonly validationError?: Error;
}

const outdirs: string[] = [];

/** Builds the app as `cdk synth` does (cdk.json context) with bundling skipped, and synthesizes it once. */
function synthesize(options: { account?: string; failOnFindings?: boolean } = {}): Synthesized {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const context = {
    ...cdkJson.context,
    [cxapi.CDK_APP_MODE_CONTEXT]: 'inmemory',
    [cxapi.FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: options.failOnFindings ?? true,
  };
  const outdir = mkdtempSync(join(tmpdir(), 'media-triage-stack-test-'));
  outdirs.push(outdir);

  // The App reads CDK_CONTEXT_JSON in its constructor; the ambient account/region must not leak into the template.
  const saved = {
    [cxapi.CONTEXT_ENV]: process.env[cxapi.CONTEXT_ENV],
    [cxapi.DEFAULT_ACCOUNT_ENV]: process.env[cxapi.DEFAULT_ACCOUNT_ENV],
    [cxapi.DEFAULT_REGION_ENV]: process.env[cxapi.DEFAULT_REGION_ENV],
  };
  process.env[cxapi.CONTEXT_ENV] = JSON.stringify(context);
  delete process.env[cxapi.DEFAULT_ACCOUNT_ENV];
  delete process.env[cxapi.DEFAULT_REGION_ENV];
  let built: ReturnType<typeof buildApp>;
  try {
    built = buildApp({ skipBundling: true, outdir, account: options.account, region: REGION });
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }

  try {
    const assembly = built.app.synth();
    const report = JSON.parse(readFileSync(join(assembly.directory, cxapi.VALIDATION_REPORT_FILE), 'utf8')) as ValidationReport;
    // Template.fromStack reuses the assembly synthesized above.
    return { stack: built.stack, template: Template.fromStack(built.stack), report };
  } catch (error) {
    if (options.failOnFindings === false) throw error;
    // Keep the template assertions running: synthesize again without failing on findings, and keep the error (whose
    // message is the full report) for the cdk-nag test.
    return { ...synthesize({ ...options, failOnFindings: false }), validationError: error as Error };
  }
}

function awsSolutions(report: ValidationReport): ValidationReport['pluginReports'][number] {
  const plugin = report.pluginReports.find((p) => p.pluginName === 'AwsSolutions');
  if (!plugin) throw new Error(`no AwsSolutions plugin report; plugins: ${report.pluginReports.map((p) => p.pluginName).join(', ')}`);
  return plugin;
}

// ---------------------------------------------------------------------------------------------------------------------
// Template helpers
// ---------------------------------------------------------------------------------------------------------------------

interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DependsOn?: string[];
}

/**
 * Renders a CloudFormation value as a string, intrinsics as placeholders: `{Ref: X}` → `${X}`,
 * `{Fn::GetAtt: [X, Arn]}` → `${X.Arn}`, `Fn::Join` joined, `Fn::Select`/`Fn::Split` spelled out. The placeholders
 * need no escaping inside JSON strings, so a joined state machine definition still parses.
 */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if (typeof v['Ref'] === 'string') return `\${${v['Ref']}}`;
    if (Array.isArray(v['Fn::GetAtt'])) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
    if (Array.isArray(v['Fn::Join'])) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    if (Array.isArray(v['Fn::Select'])) {
      const [index, list] = v['Fn::Select'] as [number, unknown];
      return `\${Select(${index},${render(list)})}`;
    }
    if (Array.isArray(v['Fn::Split'])) {
      const [separator, source] = v['Fn::Split'] as [string, unknown];
      return `Split(${separator},${render(source)})`;
    }
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** IAM wildcard match (`*` = any run of characters) of an action or resource pattern. */
function wildcardMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(value);
}

interface Statement {
  readonly effect: string;
  readonly actions: string[];
  readonly resources: string[];
  /** A `ForAllValues:StringLike` `dynamodb:LeadingKeys` condition: the partition keys the statement is limited to. */
  readonly leadingKeys?: string[];
}

// ---------------------------------------------------------------------------------------------------------------------
// State machine definition (Amazon States Language)
// ---------------------------------------------------------------------------------------------------------------------

interface AslRetrier {
  readonly ErrorEquals: string[];
  readonly MaxAttempts?: number;
}
interface AslCatcher {
  readonly ErrorEquals: string[];
  readonly Next: string;
  readonly ResultPath?: string;
}
interface AslState {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Default?: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly Retry?: AslRetrier[];
  readonly Catch?: AslCatcher[];
  readonly Choices?: Record<string, unknown>[];
  readonly ItemProcessor?: AslGraph & { readonly ProcessorConfig?: Record<string, unknown> };
  readonly ItemReader?: Record<string, unknown>;
  readonly ItemBatcher?: Record<string, unknown>;
  readonly ResultWriter?: { readonly Resource: string; readonly Parameters: { readonly Bucket: string; readonly Prefix: string } };
  readonly MaxConcurrency?: number;
  readonly ToleratedFailurePercentage?: number;
  readonly ResultPath?: string | null;
  readonly QueryLanguage?: string;
}
interface AslGraph {
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
  readonly QueryLanguage?: string;
}

function stateOf(graph: AslGraph, name: string): AslState {
  const state = graph.States[name];
  if (!state) throw new Error(`no state ${name}; states: ${Object.keys(graph.States).join(', ')}`);
  return state;
}

/** All states, including those of Map item processors, with the graph each belongs to. */
function allStates(graph: AslGraph): [string, AslState, AslGraph][] {
  return Object.entries(graph.States).flatMap(([name, state]): [string, AslState, AslGraph][] => [
    [name, state, graph],
    ...(state.ItemProcessor ? allStates(state.ItemProcessor) : []),
  ]);
}

// ---------------------------------------------------------------------------------------------------------------------

let synthesized: Synthesized;
let template: Template;
let stack: MediaTriageStack;
let resources: Record<string, CfnResource>;

const logicalId = (construct: IConstruct): string => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const resource = (id: string): CfnResource => {
  const found = resources[id];
  if (!found) throw new Error(`no resource ${id}`);
  return found;
};
const functionId = (stage: StageName): string => logicalId(stack.pipeline.functions[stage]);
const roleIdOfFunction = (stage: StageName): string => {
  const role = resource(functionId(stage)).Properties['Role'] as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
};

function statementsOfRole(roleId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) } });
  return Object.values(policies).flatMap((policy) =>
    (
      policy['Properties'].PolicyDocument.Statement as {
        Effect: string;
        Action: unknown;
        Resource: unknown;
        Condition?: Record<string, Record<string, unknown>>;
      }[]
    ).map((s) => {
      const leadingKeys = s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
      return {
        effect: s.Effect,
        actions: asArray(s.Action).map(render),
        resources: asArray(s.Resource).map(render),
        ...(leadingKeys === undefined ? {} : { leadingKeys: asArray(leadingKeys).map(render) }),
      };
    }),
  );
}

/** Whether an Allow statement covers the action on the resource (for DynamoDB items: with this partition key). */
function allows(statements: Statement[], action: string, resourceArn: string, leadingKey = 'BATCH#batch-1'): boolean {
  return statements.some(
    (s) =>
      s.effect === 'Allow' &&
      s.actions.some((a) => wildcardMatches(a, action)) &&
      s.resources.some((r) => wildcardMatches(r, resourceArn)) &&
      (s.leadingKeys === undefined || s.leadingKeys.some((key) => wildcardMatches(key, leadingKey))),
  );
}

/** The serverless MaxConcurrency of the endpoint config the endpoint points at, read from the template. */
function serverlessMaxConcurrency(endpoint: IConstruct): number {
  const cfnEndpoint = resource(stack.getLogicalId(endpoint.node.findChild('Endpoint') as CfnElement));
  const configRef = cfnEndpoint.Properties['EndpointConfigName'] as { 'Fn::GetAtt': [string, string] };
  const config = resource(configRef['Fn::GetAtt'][0]);
  const variants = config.Properties['ProductionVariants'] as Array<{ ServerlessConfig?: { MaxConcurrency?: number } }>;
  const limit = variants[0]?.ServerlessConfig?.MaxConcurrency;
  if (limit === undefined) throw new Error(`${endpoint.node.path} is not serverless`);
  return limit;
}

function definition(): AslGraph {
  const sm = resource(logicalId(stack.stateMachine.stateMachine));
  const asl = render(sm.Properties['DefinitionString']).replaceAll('${AWS::Partition}', 'aws');
  return JSON.parse(asl) as AslGraph;
}

beforeAll(() => {
  synthesized = synthesize();
  ({ template, stack } = synthesized);
  resources = template.toJSON()['Resources'] as Record<string, CfnResource>;
});

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('the app', () => {
  it(`synthesizes the stack in the region it is given (${REGION})`, () => {
    expect(stack.region).toBe(REGION);
  });

  it('refuses to build the stack without a region', () => {
    expect(() => new MediaTriageStack(new App(), 'X')).toThrow(/region/);
  });

  it("cdk.json pins no region, so the credentials' region (CDK_DEFAULT_REGION) is not overridden", () => {
    const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
    expect(cdkJson.context ?? {}).not.toHaveProperty('region');
  });

  it('takes -c region first, then CDK_DEFAULT_REGION, and otherwise refuses naming both ways', () => {
    const noConfig = (): boolean => false;
    expect(resolveRegion('ap-southeast-2', { CDK_DEFAULT_REGION: 'us-west-2' }, noConfig)).toBe('ap-southeast-2');
    expect(resolveRegion(undefined, { CDK_DEFAULT_REGION: 'us-west-2' }, noConfig)).toBe('us-west-2');
    expect(() => resolveRegion(undefined, {}, noConfig)).toThrow(RegionMissingError);
    expect(() => resolveRegion(' ', { CDK_DEFAULT_REGION: '' }, noConfig)).toThrow(/-c region=.*CDK_DEFAULT_REGION/s);
  });

  it("treats the CDK CLI's us-east-1 fallback (nothing configured a region) as no region", () => {
    const fallback = { CDK_DEFAULT_REGION: 'us-east-1' };
    expect(() => resolveRegion(undefined, fallback, () => false)).toThrow(RegionMissingError);
    // Chosen by the environment, a profile or a config file: it is the user's region.
    expect(resolveRegion(undefined, { ...fallback, AWS_REGION: 'us-east-1' }, () => false)).toBe('us-east-1');
    expect(resolveRegion(undefined, { ...fallback, AWS_PROFILE: 'prod' }, () => false)).toBe('us-east-1');
    expect(resolveRegion(undefined, fallback, (file) => file.endsWith('/.aws/config'))).toBe('us-east-1');
    expect(() => resolveRegion(undefined, { ...fallback, AWS_CONFIG_FILE: '/nowhere' }, (file) => file === '/etc/aws-config')).toThrow(RegionMissingError);
    expect(resolveRegion(undefined, { ...fallback, AWS_CONFIG_FILE: '/etc/aws-config' }, (file) => file === '/etc/aws-config')).toBe('us-east-1');
    expect(resolveRegion('us-east-1', fallback, () => false)).toBe('us-east-1');
  });
});

describe('storage', () => {
  const dataId = (): string => logicalId(stack.storage.dataBucket);
  const reportsId = (): string => logicalId(stack.storage.reportsBucket);
  const logsId = (): string => logicalId(stack.storage.accessLogsBucket);

  const secureBucket = {
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    },
    BucketEncryption: {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    },
    VersioningConfiguration: { Status: 'Enabled' },
    OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
  };

  it('data bucket: public access blocked, SSE, versioned, access-logged under data/', () => {
    expect(resource(dataId()).Type).toBe('AWS::S3::Bucket');
    template.hasResourceProperties('AWS::S3::Bucket', {
      ...secureBucket,
      LoggingConfiguration: { DestinationBucketName: { Ref: logsId() }, LogFilePrefix: 'data/' },
    });
    expect(resource(dataId()).Properties).toMatchObject({
      ...secureBucket,
      LoggingConfiguration: { DestinationBucketName: { Ref: logsId() } },
    });
  });

  it('data bucket sends its events to EventBridge (and nothing else), the reports bucket does not', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: dataId() },
      NotificationConfiguration: Match.exact({ EventBridgeConfiguration: {} }),
    });
    expect(template.findResources('Custom::S3BucketNotifications', { Properties: { BucketName: { Ref: reportsId() } } })).toEqual({});
  });

  it('reports bucket: public access blocked, SSE, versioned, access-logged under reports/', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      ...secureBucket,
      LoggingConfiguration: { DestinationBucketName: { Ref: logsId() }, LogFilePrefix: 'reports/' },
    });
    expect(resource(reportsId()).Properties).toMatchObject(secureBucket);
  });

  it('access-log bucket blocks public access, is encrypted, and lets only S3 log delivery write (bucket policy)', () => {
    expect(resource(logsId()).Properties).toMatchObject({
      PublicAccessBlockConfiguration: secureBucket.PublicAccessBlockConfiguration,
      BucketEncryption: secureBucket.BucketEncryption,
    });
    // With @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy (cdk.json) log delivery is a bucket-policy grant, not an ACL.
    expect(resource(logsId()).Properties['AccessControl']).toBeUndefined();
    for (const [source, prefix] of [
      [dataId(), 'data/'],
      [reportsId(), 'reports/'],
    ] as const) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logsId() },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Action: 's3:PutObject',
              Principal: { Service: 'logging.s3.amazonaws.com' },
              Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [source, 'Arn'] } } },
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logsId(), 'Arn'] }, `/${prefix}*`]] },
            }),
          ]),
        },
      });
    }
  });

  it.each([
    ['data', (): string => logicalId(stack.storage.dataBucket)],
    ['reports', (): string => logicalId(stack.storage.reportsBucket)],
    ['access-log', (): string => logicalId(stack.storage.accessLogsBucket)],
  ])('%s bucket policy denies every request without TLS', (_name, id) => {
    const bucketId = id();
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] }],
          },
        ]),
      },
    });
  });
});

describe('EventBridge trigger', () => {
  interface RuleTarget {
    Arn: unknown;
    RoleArn: unknown;
    InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string };
    DeadLetterConfig: unknown;
    RetryPolicy: unknown;
  }
  const rule = (): CfnResource => {
    const rules = template.findResources('AWS::Events::Rule');
    expect(Object.keys(rules)).toHaveLength(1);
    return Object.values(rules)[0] as CfnResource;
  };

  it('matches Object Created events of the data bucket for incoming/*.zip', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      State: 'ENABLED',
      EventPattern: Match.exact({
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [{ Ref: logicalId(stack.storage.dataBucket) }] },
          object: { key: [{ wildcard: 'incoming/*.zip' }] },
        },
      }),
    });
  });

  it('starts the state machine with {bucket, key, receivedAt} taken from the event', () => {
    const targets = rule().Properties['Targets'] as RuleTarget[];
    expect(targets).toHaveLength(1);
    const target = targets[0] as RuleTarget;
    expect(target.Arn).toEqual({ Ref: logicalId(stack.stateMachine.stateMachine) });
    // Resolve the template's <placeholders> through InputPathsMap.
    const { InputPathsMap: paths, InputTemplate: inputTemplate } = target.InputTransformer;
    const input = JSON.parse(inputTemplate.replace(/<([\w-]+)>/g, '"<$1>"')) as Record<string, string>;
    const resolved = Object.fromEntries(Object.entries(input).map(([field, placeholder]) => [field, paths[placeholder.slice(1, -1)]]));
    expect(resolved).toEqual({ bucket: '$.detail.bucket.name', key: '$.detail.object.key', receivedAt: '$.time' });
  });

  it('retries for a day and dead-letters what it cannot deliver to an encrypted, TLS-only queue', () => {
    const target = (rule().Properties['Targets'] as RuleTarget[])[0] as RuleTarget;
    const dlqId = logicalId(stack.triggerDeadLetterQueue);
    expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [dlqId, 'Arn'] } });
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 24 * 3600 });
    expect(resource(dlqId).Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    // EventBridge may send to the DLQ, for this rule only.
    const ruleId = Object.keys(template.findResources('AWS::Events::Rule'))[0] as string;
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlqId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
            Resource: { 'Fn::GetAtt': [dlqId, 'Arn'] },
          }),
        ]),
      },
    });
  });

  it("the rule's role may start exactly this state machine", () => {
    const target = (rule().Properties['Targets'] as RuleTarget[])[0] as RuleTarget;
    const roleId = (target.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect(statementsOfRole(roleId)).toEqual([
      { effect: 'Allow', actions: ['states:StartExecution'], resources: [`\${${logicalId(stack.stateMachine.stateMachine)}}`] },
    ]);
  });
});

describe('state machine', () => {
  it('is a STANDARD state machine with X-Ray tracing and ALL-level logging to its log group', () => {
    const smId = logicalId(stack.stateMachine.stateMachine);
    expect(resource(smId).Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalId(stack.stateMachine.node.findChild('Logs')), 'Arn'] } } }],
      },
    });
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
  });

  it('is written in JSONPath, not JSONata (the local runner executes the same definition)', () => {
    const asl = definition();
    expect([undefined, 'JSONPath']).toContain(asl.QueryLanguage);
    for (const [name, state] of allStates(asl)) {
      expect([undefined, 'JSONPath'], name).toContain(state.QueryLanguage);
      // JSONata-only fields.
      expect(state, name).not.toHaveProperty('Arguments');
      expect(state, name).not.toHaveProperty('Output');
      expect(state, name).not.toHaveProperty('Assign');
    }
    expect(render(resource(logicalId(stack.stateMachine.stateMachine)).Properties['DefinitionString'])).not.toMatch(/\{%/);
  });

  it('starts with PrepareBatch, which runs the PrepareBatch function and fails the batch when it gives up', () => {
    const asl = definition();
    expect(asl.StartAt).toBe('PrepareBatch');
    const prepare = stateOf(asl, 'PrepareBatch');
    expect(prepare).toMatchObject({ Type: 'Task', Resource: `\${${functionId('PrepareBatch')}.Arn}` });
    expect(prepare.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'BatchFailed' }]);
    expect(stateOf(asl, 'BatchFailed').Type).toBe('Fail');
  });

  it('hands PrepareBatch every field of the rule’s input plus the execution’s ARN, which it keeps on the batch record', () => {
    const prepare = stateOf(definition(), 'PrepareBatch');
    const rule = Object.values(template.findResources('AWS::Events::Rule'))[0] as CfnResource;
    const inputTemplate = (rule.Properties['Targets'] as Array<{ InputTransformer: { InputTemplate: string } }>)[0]!.InputTransformer.InputTemplate;
    const ruleFields = Object.keys(JSON.parse(inputTemplate.replace(/<([\w-]+)>/g, '"<$1>"')) as Record<string, unknown>);
    expect(prepare.Parameters).toEqual({
      ...Object.fromEntries(ruleFields.map((field) => [`${field}.$`, `$.${field}`])),
      'executionArn.$': '$$.Execution.Id',
    });
  });

  it('routes a REFUSED batch to the BatchRefused Succeed state, an empty one straight to Report', () => {
    const asl = definition();
    const refusedChoice = stateOf(asl, stateOf(asl, 'PrepareBatch').Next ?? '');
    expect(refusedChoice.Type).toBe('Choice');
    expect(refusedChoice.Choices).toEqual([{ Variable: '$.status', StringEquals: 'REFUSED', Next: 'BatchRefused' }]);
    expect(stateOf(asl, 'BatchRefused')).toEqual({ Type: 'Succeed' });

    const anyItems = stateOf(asl, refusedChoice.Default ?? '');
    expect(anyItems.Type).toBe('Choice');
    expect(anyItems.Choices).toEqual([{ Variable: '$.itemsToProcess', NumericGreaterThan: 0, Next: 'ProcessAssets' }]);
    expect(anyItems.Default).toBe('Report');
  });

  it('runs ProcessAssets as a Distributed Map over items.jsonl with Express children in batches of 5 and 64 KiB', () => {
    const map = stateOf(definition(), 'ProcessAssets');
    expect(map.Type).toBe('Map');
    expect(map.ItemProcessor?.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
    expect(map.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSONL' },
      Parameters: { Bucket: `\${${logicalId(stack.storage.dataBucket)}}`, 'Key.$': '$.itemsKey' },
    });
    expect(map.ItemBatcher).toEqual({ MaxItemsPerBatch: 5, MaxInputBytesPerBatch: DEFAULT_MAX_INPUT_BYTES_PER_BATCH });
    // Read back: well under the 256 KiB a child's state may hold, leaving room for what the stages add per asset.
    expect(map.ItemBatcher?.['MaxInputBytesPerBatch']).toBeLessThanOrEqual((256 * 1024) / 2);
    expect(map.MaxConcurrency).toBe(5);
    expect(map.ToleratedFailurePercentage).toBe(100);
    expect(map).toHaveProperty('ResultPath', null);
    // The children's results go to the data bucket, not into the map's (256 KiB) result.
    expect(map.ResultWriter).toEqual({
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: { Bucket: `\${${logicalId(stack.storage.dataBucket)}}`, Prefix: MAP_RESULTS_PREFIX },
    });
    expect(map.Next).toBe('CrossCheck');
    expect(map.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.mapError', Next: 'CrossCheck' }]);
    // CrossCheck is best effort: success and failure both lead to Report.
    const crossCheck = stateOf(definition(), 'CrossCheck');
    expect(crossCheck.Next).toBe('Report');
    expect(crossCheck.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.crossCheckError', Next: 'Report' }]);
    expect(crossCheck.Parameters).toEqual({ 'batchId.$': '$.batchId' });
  });

  it('each child runs Preprocess → Classify → Triage → Persist, each a Task on its own function', () => {
    const child = stateOf(definition(), 'ProcessAssets').ItemProcessor;
    if (!child) throw new Error('ProcessAssets has no ItemProcessor');
    expect(child.StartAt).toBe('Preprocess');
    const chain: StageName[] = ['Preprocess', 'Classify', 'Triage', 'Persist'];
    expect(Object.keys(child.States).sort()).toEqual([...chain].sort());
    chain.forEach((name, index) => {
      const state = stateOf(child, name);
      expect(state.Type, name).toBe('Task');
      expect(state.Resource, name).toBe(`\${${functionId(name)}.Arn}`);
      const next = chain[index + 1];
      if (next) expect(state.Next, name).toBe(next);
      else expect(state.End, name).toBe(true);
    });
  });

  it('retries Preprocess, Triage and Persist once on any task failure (Lambda errors included); Classify retries itself', () => {
    const child = stateOf(definition(), 'ProcessAssets').ItemProcessor!;
    for (const name of ['Preprocess', 'Triage', 'Persist']) {
      // States.TaskFailed matches every error but States.Timeout: Lambda.ServiceException, throttling, a crash.
      expect(stateOf(child, name).Retry, name).toEqual([{ ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 2, MaxAttempts: 1 }]);
    }
    expect(stateOf(child, 'Classify').Retry).toBeUndefined();
  });

  describe('the Express child fits in 5 minutes in the worst case', () => {
    const worst = (json: CfnTemplateJson = template.toJSON() as CfnTemplateJson) => expressChildWorstCase(json, 'ProcessAssets');
    const describeWorst = (w: ReturnType<typeof worst>): string =>
      w.tasks.map((t) => `${t.state}: ${t.secondsPerAttempt} s × ${t.attempts} + ${t.waitSeconds} s waits = ${t.seconds} s`).join('; ');

    it(`every attempt of every task at its timeout, plus all retry waits, is at most ${EXPRESS_LIMIT_SECONDS} - ${EXPRESS_MARGIN_SECONDS} s`, () => {
      const w = worst();
      expect(w.tasks.map((t) => t.state)).toEqual(['Preprocess', 'Classify', 'Triage', 'Persist']);
      expect(w.tasks.map((t) => t.functionLogicalId)).toEqual(['Preprocess', 'Classify', 'Triage', 'Persist'].map((s) => functionId(s as StageName)));
      expect(w.seconds, describeWorst(w)).toBeLessThanOrEqual(EXPRESS_LIMIT_SECONDS - EXPRESS_MARGIN_SECONDS);
    });

    it('reads the timeouts from the template: a longer Preprocess timeout breaks the budget', () => {
      const json = structuredClone(template.toJSON()) as CfnTemplateJson;
      const preprocess = json.Resources[functionId('Preprocess')]!.Properties!;
      const before = worst(json);
      preprocess['Timeout'] = Number(preprocess['Timeout']) + 20;
      const after = worst(json);
      // Two attempts, each 20 s longer.
      expect(after.seconds - before.seconds).toBe(40);
      expect(after.seconds).toBeGreaterThan(EXPRESS_LIMIT_SECONDS - EXPRESS_MARGIN_SECONDS);
    });

    it('counts every retrier that could match, its backoff and its MaxDelaySeconds, and a Task TimeoutSeconds below the function timeout', () => {
      const json = structuredClone(template.toJSON()) as CfnTemplateJson;
      const machine = Object.values(json.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')!;
      const parts = (machine.Properties!['DefinitionString'] as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      const classify = '"Classify":{"Next":"Triage","Type":"Task",';
      const index = parts.findIndex((p) => typeof p === 'string' && p.includes(classify));
      expect(index, 'the Classify state in the definition').toBeGreaterThanOrEqual(0);
      const retry =
        '"Retry":[{"ErrorEquals":["Lambda.ServiceException"],"IntervalSeconds":2,"MaxAttempts":3,"BackoffRate":2},' +
        '{"ErrorEquals":["States.TaskFailed"],"IntervalSeconds":10,"MaxAttempts":2,"BackoffRate":3,"MaxDelaySeconds":15}],"TimeoutSeconds":100,';
      parts[index] = (parts[index] as string).replace(classify, `${classify}${retry}`);
      const task = worst(json).tasks.find((t) => t.state === 'Classify')!;
      // min(140, 100) s × (1 + 3 + 2) attempts + (2 + 4 + 8) + (10 + min(30, 15)) s of waits.
      expect(task).toMatchObject({ secondsPerAttempt: 100, attempts: 6, waitSeconds: 14 + 25, seconds: 639 });
    });
  });

  it('Report gets batchId.$ only, retries, and ends in BatchReported (or BatchFailed)', () => {
    const asl = definition();
    const report = stateOf(asl, 'Report');
    expect(report).toMatchObject({
      Type: 'Task',
      Resource: `\${${functionId('Report')}.Arn}`,
      Parameters: { 'batchId.$': '$.batchId' },
      Next: 'BatchReported',
    });
    expect(report.Parameters).toEqual({ 'batchId.$': '$.batchId' });
    expect((report.Retry ?? []).flatMap((r) => r.ErrorEquals)).toContain('States.TaskFailed');
    expect(report.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'BatchFailed' }]);
    expect(stateOf(asl, 'BatchReported').Type).toBe('Succeed');
  });

  it('every transition points at a state of the same graph', () => {
    for (const [name, state, graph] of allStates(definition())) {
      const targets = [state.Next, state.Default, ...(state.Catch ?? []).map((c) => c.Next), ...(state.Choices ?? []).map((c) => c['Next'] as string)];
      for (const target of targets.filter((t): t is string => t !== undefined)) {
        expect(Object.keys(graph.States), `${name} → ${target}`).toContain(target);
      }
    }
  });

  describe('its role', () => {
    const smStatements = (): Statement[] => {
      const roleArn = resource(logicalId(stack.stateMachine.stateMachine)).Properties['RoleArn'] as { 'Fn::GetAtt': [string, string] };
      return statementsOfRole(roleArn['Fn::GetAtt'][0]);
    };
    const smRef = (): string => `\${${logicalId(stack.stateMachine.stateMachine)}}`;
    const smExecution = (name: string): string =>
      `arn:\${AWS::Partition}:states:${REGION}:\${AWS::AccountId}:execution:\${Select(6,Split(:,${smRef()}))}:${name}`;

    it('may start executions of itself (Distributed Map children; aws/aws-cdk#28820)', () => {
      const statements = smStatements();
      expect(allows(statements, 'states:StartExecution', smRef())).toBe(true);
      // ...and of nothing else.
      const start = statements.filter((s) => s.actions.some((a) => wildcardMatches(a, 'states:StartExecution')));
      expect(start.flatMap((s) => s.resources)).toEqual([smRef()]);
    });

    it('may describe and stop its own executions (aws/aws-cdk#32144), not those of other state machines', () => {
      const statements = smStatements();
      for (const action of ['states:DescribeExecution', 'states:StopExecution']) {
        expect(allows(statements, action, smExecution('0d5c3c9e-child')), action).toBe(true);
        expect(allows(statements, action, `arn:\${AWS::Partition}:states:${REGION}:\${AWS::AccountId}:execution:Other:x`), action).toBe(false);
      }
    });

    it('may read items.jsonl from the data bucket (ItemReader)', () => {
      const dataArn = `\${${logicalId(stack.storage.dataBucket)}.Arn}`;
      expect(allows(smStatements(), 's3:GetObject', `${dataArn}/staging/batch-1/items.jsonl`)).toBe(true);
      expect(allows(smStatements(), 's3:GetObject', `\${${logicalId(stack.storage.reportsBucket)}.Arn}/reports/x.csv`)).toBe(false);
      expect(allows(smStatements(), 's3:PutObject', `\${${logicalId(stack.storage.reportsBucket)}.Arn}/reports/x.csv`)).toBe(false);
    });

    it('may write the Map Run results where the ResultWriter puts them', () => {
      const map = stateOf(definition(), 'ProcessAssets');
      const writer = map.ResultWriter!;
      // The statement names the bucket by name (arn:${Partition}:s3:::${bucket}/*), as CDK's ResultWriterV2 writes it.
      const object = `arn:\${AWS::Partition}:s3:::\${${logicalId(stack.storage.dataBucket)}}/${writer.Parameters.Prefix}/run-1/manifest.json`;
      expect(allows(smStatements(), 's3:PutObject', object)).toBe(true);
    });

    it.each(STAGE_NAMES)('may invoke the %s function only if it is one of its stages', (stage) => {
      expect(allows(smStatements(), 'lambda:InvokeFunction', `\${${functionId(stage)}.Arn}`)).toBe(PIPELINE_STAGE_NAMES.includes(stage));
    });
  });
});

describe('Lambda stages', () => {
  interface LambdaProps {
    Runtime: string;
    Architectures: string[];
    TracingConfig: unknown;
    MemorySize: number;
    Timeout: number;
    Environment: { Variables: Record<string, unknown> };
    LoggingConfig: { LogGroup: { Ref: string } };
  }
  const lambdaProps = (stage: StageName): LambdaProps => resource(functionId(stage)).Properties as unknown as LambdaProps;

  /** What each setting resolves to in the template. */
  const settingValues = (): Record<Exclude<SettingKey, 'stage'>, unknown> => ({
    pipelineVersion: packageJson.version,
    tableName: { Ref: logicalId(stack.records.table) },
    dataBucket: { Ref: logicalId(stack.storage.dataBucket) },
    reportsBucket: { Ref: logicalId(stack.storage.reportsBucket) },
    reviewQueueUrl: { Ref: logicalId(stack.review.queue) },
    categoryEndpoint: { 'Fn::GetAtt': [stack.getLogicalId(stack.categoryEndpoint.node.findChild('Endpoint') as CfnElement), 'EndpointName'] },
    categoryModelId: CLIP,
    categoryModelVersion: CLIP_REVISION,
    categoryPayloadLimit: SERVERLESS_PAYLOAD_LIMIT,
    policyEndpoint: { 'Fn::GetAtt': [stack.getLogicalId(stack.policyEndpoint.node.findChild('Endpoint') as CfnElement), 'EndpointName'] },
    policyModelId: NSFW,
    policyModelVersion: NSFW_REVISION,
    policyPayloadLimit: SERVERLESS_PAYLOAD_LIMIT,
    modelCallBudgetMs: String((lambdaProps('Classify').Timeout - CLASSIFY_SAFETY_SECONDS) * 1000),
    modelRetryBaseDelayMs: String(DEFAULT_MODEL_RETRY_BASE_DELAY_MS),
    metricsNamespace: DEFAULT_METRICS_NAMESPACE,
    metricsService: stack.stackName,
    stateMachineArn: { Ref: logicalId(stack.stateMachine.stateMachine) },
    categoryEndpointConcurrency: String(serverlessMaxConcurrency(stack.categoryEndpoint)),
    policyEndpointConcurrency: String(serverlessMaxConcurrency(stack.policyEndpoint)),
  });

  it('gives Classify a model-call deadline below its timeout', () => {
    expect(CLASSIFY_MODEL_CALL_BUDGET_MS).toBeLessThan(lambdaProps('Classify').Timeout * 1000);
    expect(lambdaProps('Classify').Environment.Variables[SETTING_NAMES.modelCallBudgetMs]).toBe(String(CLASSIFY_MODEL_CALL_BUDGET_MS));
  });

  it(`fits a new account: no function asks for more than ${LOW_QUOTA_LAMBDA_MEMORY_MB} MB`, () => {
    const functions = Object.entries(template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThan(STAGE_NAMES.length);
    for (const [id, fn] of functions) {
      const memory = Number(fn['Properties'].MemorySize ?? 128);
      expect(memory, id).toBeLessThanOrEqual(LOW_QUOTA_LAMBDA_MEMORY_MB);
    }
  });

  it('has exactly one function per stage registry entry (plus the bucket-notifications handler of aws-cdk-lib)', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const stageNames = Object.values(functions)
      .map((fn) => (fn['Properties'].Environment?.Variables as Record<string, unknown> | undefined)?.[SETTING_NAMES.stage])
      .filter((name) => name !== undefined);
    expect([...stageNames].sort()).toEqual([...STAGE_NAMES].sort());
    const others = Object.keys(functions).filter((id) => !STAGE_NAMES.some((stage) => functionId(stage) === id));
    expect(others).toHaveLength(1);
    expect(others[0]).toMatch(/^BucketNotificationsHandler/);
  });

  it.each(STAGE_NAMES)('%s: Node 24 on arm64, active tracing, memory and timeout from the registry', (stage) => {
    const props = lambdaProps(stage);
    expect(props).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      MemorySize: STAGES[stage].memorySizeMb,
      Timeout: STAGES[stage].timeoutSeconds,
    });
    expect(resource(props.LoggingConfig.LogGroup.Ref)).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
  });

  it.each(STAGE_NAMES)('%s: environment is STAGE_NAME, NODE_OPTIONS and exactly its declared settings, correctly wired', (stage) => {
    const values = settingValues();
    const expected: Record<string, unknown> = { [SETTING_NAMES.stage]: stage, NODE_OPTIONS: '--enable-source-maps' };
    for (const key of [...COMMON_SETTINGS, ...STAGES[stage].settings] as readonly SettingKey[]) {
      if (key === 'stage') continue;
      expected[SETTING_NAMES[key]] = values[key];
    }
    expect(lambdaProps(stage).Environment.Variables).toEqual(expected);
  });

  describe('roles', () => {
    const statementsOf = (stage: StageName): Statement[] => statementsOfRole(roleIdOfFunction(stage));
    const dataObject = (): string => `\${${logicalId(stack.storage.dataBucket)}.Arn}/staging/batch-1/photo.jpg`;
    const reportsObject = (): string => `\${${logicalId(stack.storage.reportsBucket)}.Arn}/reports/assets/dt=2026-01-01/batch_id=b/assets.csv`;
    const tableArn = (): string => `\${${logicalId(stack.records.table)}.Arn}`;
    const queueArn = (): string => `\${${logicalId(stack.review.queue)}.Arn}`;
    const endpointArn = (endpoint: IConstruct): string => `\${${stack.getLogicalId(endpoint.node.findChild('Endpoint') as CfnElement)}.EndpointArn}`;

    /** One or more (action, resource[, partition key]) probes per access kind of the registry. */
    const probes = (): Record<Access, Array<[string, string, string?]>> => ({
      'data:read': [['s3:GetObject', dataObject()]],
      'data:write': [['s3:PutObject', dataObject()]],
      'reports:read': [
        ['s3:GetObject', reportsObject()],
        ['s3:ListBucket', `\${${logicalId(stack.storage.reportsBucket)}.Arn}`],
      ],
      'reports:write': [['s3:PutObject', reportsObject()]],
      'records:read': [
        ['dynamodb:GetItem', tableArn()],
        ['dynamodb:Query', tableArn()],
      ],
      'records:write': [
        ['dynamodb:PutItem', tableArn()],
        ['dynamodb:UpdateItem', tableArn()],
      ],
      'review:send': [['sqs:SendMessage', queueArn()]],
      'models:invoke': [
        ['sagemaker:InvokeEndpoint', endpointArn(stack.categoryEndpoint)],
        ['sagemaker:InvokeEndpoint', endpointArn(stack.policyEndpoint)],
      ],
      'executions:start': [['states:StartExecution', `\${${logicalId(stack.stateMachine.stateMachine)}}`]],
      'models:guard': [
        ['dynamodb:PutItem', tableArn(), `SEMAPHORE#${'x'}`],
        ['dynamodb:DeleteItem', tableArn(), 'SEMAPHORE#x'],
      ],
    });
    /** Access kinds that include another's permissions (writing records covers the guard's items). */
    const implied = (declared: readonly Access[], access: Access): boolean => access === 'models:guard' && declared.includes('records:write');
    const servicesOf: Record<Access, string> = {
      'data:read': 's3',
      'data:write': 's3',
      'reports:read': 's3',
      'reports:write': 's3',
      'records:read': 'dynamodb',
      'records:write': 'dynamodb',
      'review:send': 'sqs',
      'models:invoke': 'sagemaker',
      'executions:start': 'states',
      'models:guard': 'dynamodb',
    };

    it.each(STAGE_NAMES)('%s may do exactly what its registry entry declares', (stage) => {
      const statements = statementsOf(stage);
      const declared = STAGES[stage].access as readonly Access[];
      for (const [access, checks] of Object.entries(probes()) as [Access, Array<[string, string, string?]>][]) {
        for (const [action, arn, key] of checks) {
          expect(allows(statements, action, arn, key), `${stage} ${access}: ${action} on ${arn}`).toBe(declared.includes(access) || implied(declared, access));
        }
      }
      const services = new Set(statements.flatMap((s) => s.actions.map((a) => a.split(':')[0])));
      const allowed = new Set(['xray', ...declared.map((access) => servicesOf[access])]);
      expect([...services].filter((service) => !allowed.has(service ?? ''))).toEqual([]);
    });

    it.each(STAGE_NAMES)('%s role has only AWSLambdaBasicExecutionRole as managed policy', (stage) => {
      const role = resource(roleIdOfFunction(stage));
      expect((role.Properties['ManagedPolicyArns'] as unknown[]).map(render)).toEqual([
        'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
      ]);
    });

    it('Classify may invoke both endpoints and take/release guard slots, and may not write or read records', () => {
      const statements = statementsOf('Classify');
      expect(allows(statements, 'sagemaker:InvokeEndpoint', endpointArn(stack.categoryEndpoint))).toBe(true);
      expect(allows(statements, 'sagemaker:InvokeEndpoint', endpointArn(stack.policyEndpoint))).toBe(true);
      expect(allows(statements, 'sagemaker:InvokeEndpoint', '*')).toBe(false);
      expect(allows(statements, 'dynamodb:PutItem', tableArn())).toBe(false);
      expect(allows(statements, 'dynamodb:PutItem', tableArn(), semaphorePk('CategoryModelEndpoint'))).toBe(true);
      const dynamo = statements.filter((s) => s.actions.some((a) => a.startsWith('dynamodb:')));
      expect(dynamo.flatMap((s) => s.actions).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem']);
      expect(dynamo.every((s) => s.leadingKeys?.every((key) => key.startsWith(semaphorePk(''))))).toBe(true);
    });

    it('Report reads the report tree (drift baseline, roll-up) but not the Athena results', () => {
      const bucketArn = `\${${logicalId(stack.storage.reportsBucket)}.Arn}`;
      expect(allows(statementsOf('Report'), 's3:GetObject', `${bucketArn}/reports/summaries/dt=2026-01-01/batch_id=b/summary.json`)).toBe(true);
      expect(allows(statementsOf('Report'), 's3:GetObject', `${bucketArn}/athena-results/q.csv`)).toBe(false);
    });

    it('Persist may send to the review queue', () => {
      expect(allows(statementsOf('Persist'), 'sqs:SendMessage', queueArn())).toBe(true);
    });

    it('Triage has no S3, DynamoDB, SQS or SageMaker permissions', () => {
      const actions = statementsOf('Triage').flatMap((s) => s.actions);
      expect(actions.filter((a) => /^(s3|dynamodb|sqs|sagemaker):/.test(a))).toEqual([]);
    });
  });
});

describe('records table', () => {
  it('is a TableV2 (GlobalTable) keyed pk/sk, on demand, with PITR, SSE and the byMerchant and byImageHash indexes', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      Replicas: [Match.objectLike({ Region: REGION, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'byMerchant',
          KeySchema: [
            { AttributeName: 'merchantId', KeyType: 'HASH' },
            { AttributeName: 'decidedAt', KeyType: 'RANGE' },
          ],
        }),
        Match.objectLike({
          IndexName: 'byImageHash',
          KeySchema: [
            { AttributeName: 'perceptualHash', KeyType: 'HASH' },
            { AttributeName: 'decidedAt', KeyType: 'RANGE' },
          ],
        }),
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'merchantId', AttributeType: 'S' },
        { AttributeName: 'decidedAt', AttributeType: 'S' },
      ]),
    });
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('review queue', () => {
  it('redrives to its dead-letter queue after 50 receives (hand-backs count), SQS-managed SSE, 15 min visibility', () => {
    const queueId = logicalId(stack.review.queue);
    const dlqId = logicalId(stack.review.deadLetterQueue);
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 50 },
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 900,
    });
    expect(resource(queueId).Properties).toMatchObject({ SqsManagedSseEnabled: true, VisibilityTimeout: 900 });
    expect(resource(dlqId).Properties).toMatchObject({ SqsManagedSseEnabled: true });
  });

  it('is FIFO with sender-given deduplication ids per message group (exactly one message per review task), its DLQ too', () => {
    const queue = resource(logicalId(stack.review.queue)).Properties!;
    expect(queue).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
    // A FIFO queue's dead-letter queue must be FIFO as well.
    expect(resource(logicalId(stack.review.deadLetterQueue)).Properties).toMatchObject({ FifoQueue: true });
  });

  it.each([
    ['review queue', (): string => logicalId(stack.review.queue)],
    ['review dead-letter queue', (): string => logicalId(stack.review.deadLetterQueue)],
    ['trigger dead-letter queue', (): string => logicalId(stack.triggerDeadLetterQueue)],
  ])('%s policy denies requests without TLS', (_name, id) => {
    const queueId = id();
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
          },
        ]),
      },
    });
  });
});

describe('SageMaker endpoints', () => {
  const image = Match.stringLikeRegexp(`^${DLC_ACCOUNT}\\.dkr\\.ecr\\.${REGION}\\.amazonaws\\.com/huggingface-pytorch-inference:.+-cpu-`);
  const hex40 = Match.stringLikeRegexp('^[0-9a-f]{40}$');

  it('has two endpoints, each on its own serverless endpoint config and model', () => {
    template.resourceCountIs('AWS::SageMaker::Endpoint', 2);
    template.resourceCountIs('AWS::SageMaker::EndpointConfig', 2);
    template.resourceCountIs('AWS::SageMaker::Model', 2);
    const models = new Set<string>();
    for (const endpoint of Object.values(template.findResources('AWS::SageMaker::Endpoint'))) {
      const configId = (endpoint['Properties'].EndpointConfigName as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const config = resource(configId);
      expect(config.Type).toBe('AWS::SageMaker::EndpointConfig');
      expect(config.Properties['KmsKeyId']).toBeUndefined();
      const variants = config.Properties['ProductionVariants'] as { ModelName: { 'Fn::GetAtt': [string, string] } }[];
      expect(variants).toEqual([
        {
          VariantName: 'AllTraffic',
          InitialVariantWeight: 1,
          ModelName: { 'Fn::GetAtt': [expect.any(String), 'ModelName'] },
          ServerlessConfig: { MemorySizeInMB: 6144, MaxConcurrency: 5 },
        },
      ]);
      models.add((variants[0] as { ModelName: { 'Fn::GetAtt': [string, string] } }).ModelName['Fn::GetAtt'][0]);
    }
    expect(models.size).toBe(2);
  });

  it('serves CLIP zero-shot image classification at a pinned 40-hex revision from the eu-west-1 DLC registry', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: {
        Image: image,
        Environment: {
          HF_TASK: 'zero-shot-image-classification',
          HF_MODEL_ID: CLIP,
          HF_MODEL_REVISION: hex40,
        },
      },
    });
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { Environment: { HF_MODEL_ID: CLIP, HF_MODEL_REVISION: CLIP_REVISION } },
    });
  });

  it('serves the policy model as image classification, pinned, from the same DLC registry', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: {
        Image: image,
        Environment: { HF_TASK: 'image-classification', HF_MODEL_ID: NSFW, HF_MODEL_REVISION: hex40 },
      },
    });
    for (const model of Object.values(template.findResources('AWS::SageMaker::Model'))) {
      expect(model['Properties'].PrimaryContainer.Image).toMatch(new RegExp(`^${DLC_ACCOUNT}\\.dkr\\.ecr\\.${REGION}\\.`));
    }
  });
});

describe('reviewer access', () => {
  interface RawStatement {
    Sid?: string;
    Effect: string;
    Action: unknown;
    Resource: unknown;
    Condition?: Record<string, Record<string, unknown>>;
  }
  const policy = (): RawStatement[] => {
    const policies = template.findResources('AWS::IAM::ManagedPolicy');
    const id = logicalId(stack.reviewers.policy);
    return policies[id]!['Properties'].PolicyDocument.Statement as RawStatement[];
  };
  const statements = (): Array<Statement & { condition?: RawStatement['Condition'] }> =>
    policy().map((s) => ({ effect: s.Effect, actions: asArray(s.Action).map(render), resources: asArray(s.Resource).map(render), condition: s.Condition }));
  const leadingKeys = (action: string, effect = 'Allow'): string[] =>
    statements()
      .filter((s) => s.effect === effect && s.actions.includes(action))
      .flatMap((s) => asArray(Object.values(s.condition ?? {})[0]?.['dynamodb:LeadingKeys'] ?? ['<any key>']).map(String));

  it('lets reviewers work the review queue and read only the images they are shown', () => {
    const queueArn = `\${${logicalId(stack.review.queue)}.Arn}`;
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'])
      expect(allows(statements(), action, queueArn), action).toBe(true);
    expect(allows(statements(), 'sqs:SendMessage', queueArn)).toBe(false);
    const data = `\${${logicalId(stack.storage.dataBucket)}.Arn}`;
    expect(allows(statements(), 's3:GetObject', `${data}/${MODEL_INPUT_PREFIX}abc.jpg`)).toBe(true);
    expect(allows(statements(), 's3:GetObject', `${data}/incoming/batch.zip`)).toBe(false);
    expect(allows(statements(), 's3:PutObject', `${data}/${MODEL_INPUT_PREFIX}abc.jpg`)).toBe(false);
  });

  it('fences DynamoDB writes by partition: the audit log and decisions are append-only, only claims can be deleted', () => {
    const p = REVIEW_KEY_PREFIXES;
    expect(leadingKeys('dynamodb:DeleteItem')).toEqual([`${p.reviewers}*`]);
    expect(leadingKeys('dynamodb:UpdateItem').sort()).toEqual([`${p.assetRecords}*`, `${p.reviewers}*`].sort());
    expect(leadingKeys('dynamodb:PutItem').sort()).toEqual([`${p.audit}*`, `${p.decisions}*`, `${p.gold}*`, `${p.reviewers}*`].sort());
    // and an explicit deny on edits of the audit log and decisions, whatever else is attached
    expect(leadingKeys('dynamodb:DeleteItem', 'Deny')).toEqual(expect.arrayContaining([`${p.audit}*`, `${p.decisions}*`]));
    expect(leadingKeys('dynamodb:UpdateItem', 'Deny')).toEqual(expect.arrayContaining([`${p.audit}*`, `${p.decisions}*`]));
    // no table-wide reads that bypass the keys, no table administration
    const actions = statements().flatMap((s) => s.actions);
    for (const forbidden of ['dynamodb:Scan', 'dynamodb:DeleteTable', 'dynamodb:*', 's3:*', 'sqs:*']) expect(actions).not.toContain(forbidden);
  });

  it('alarms when the oldest review message waits longer than a day', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.review.queue), 'QueueName'] } }],
      Threshold: 24 * 3600,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('publishes the policy as a stack output', () => {
    template.hasOutput('ReviewerPolicyArn', { Value: { Ref: logicalId(stack.reviewers.policy) } });
  });
});

describe('outputs', () => {
  it('points at the upload prefix, the reports prefix, the queue, the table and the state machine', () => {
    const dataId = logicalId(stack.storage.dataBucket);
    const reportsId = logicalId(stack.storage.reportsBucket);
    template.hasOutput('UploadLocation', { Value: { 'Fn::Join': ['', ['s3://', { Ref: dataId }, '/incoming/']] } });
    template.hasOutput('ReportsLocation', { Value: { 'Fn::Join': ['', ['s3://', { Ref: reportsId }, '/reports/']] } });
    template.hasOutput('ReviewQueueUrl', { Value: { Ref: logicalId(stack.review.queue) } });
    template.hasOutput('RecordsTableName', { Value: { Ref: logicalId(stack.records.table) } });
    template.hasOutput('StateMachineArn', { Value: { Ref: logicalId(stack.stateMachine.stateMachine) } });
  });
});

describe('cdk-nag AwsSolutions', () => {
  const acknowledgements = (): [path: string, id: string, reason: string][] =>
    stack.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) =>
            Object.entries(entry.data as Record<string, string>).map(([id, reason]): [string, string, string] => [construct.node.path, id, reason]),
          ),
      )
      .filter(([, id]) => id.includes('AwsSolutions'));

  it('synthesizes with no unacknowledged AwsSolutions finding', () => {
    // On failure this prints cdk-nag's report: rule, finding id to acknowledge, construct path.
    expect(synthesized.validationError?.message).toBeUndefined();
    const plugin = awsSolutions(synthesized.report);
    expect(plugin.violations.map((v) => `${v.ruleName} @ ${v.violatingConstructs.map((c) => c.constructPath).join(', ')}`)).toEqual([]);
    expect(plugin.conclusion).toBe('success');
  });

  it('gives every acknowledgement a written reason', () => {
    const acks = acknowledgements();
    expect(acks.length).toBeGreaterThan(10);
    for (const [path, id, reason] of acks) {
      expect(reason.trim().length, `${path} ${id}`).toBeGreaterThanOrEqual(40);
      expect(reason, `${path} ${id}`).not.toContain(id);
    }
    for (const suppressed of awsSolutions(synthesized.report).suppressedViolations ?? []) {
      expect(suppressed.reason.trim().length, suppressed.acknowledgedId).toBeGreaterThanOrEqual(40);
    }
  });

  it('acknowledges exact findings on the constructs that raise them, never whole rules or the whole stack', () => {
    for (const [path, id] of acknowledgements()) {
      // IAM4/IAM5 findings must name the policy, action or resource, e.g. AwsSolutions-IAM5[Resource::*].
      if (/AwsSolutions-IAM[45]/.test(id)) expect(id, path).toMatch(/AwsSolutions-IAM[45]\[(Policy|Action|Resource)::.+\]$/);
      expect(path, id).not.toBe(stack.node.path);
    }
    expect(Stack.of(stack).node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)).toEqual([]);
  });

  // Known bug: with a concrete account, which `cdk synth` has whenever CDK_DEFAULT_ACCOUNT is set (the CLI sets it
  // from the current credentials), the Distributed Map policy's execution ARNs contain the account number, but
  // lib/nag-acknowledgements.ts spells them with `<AWS::AccountId>`, so two AwsSolutions-IAM5 findings are left
  // unacknowledged and synthesis fails. Turn this back into `it` once the acknowledgement uses the stack's account.
  it('also synthesizes with a concrete account (CDK_DEFAULT_ACCOUNT set, as under `cdk synth` with credentials)', () => {
    const withAccount = synthesize({ account: '123456789012' });
    expect(withAccount.validationError?.message).toBeUndefined();
    expect(awsSolutions(withAccount.report).violations).toEqual([]);
  });
});
