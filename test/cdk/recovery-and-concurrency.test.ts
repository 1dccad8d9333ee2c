/**
 * Recovery and the concurrency guard, on the synthesized template: the state machine's role can redrive its own Map
 * Run children, the operators' policy can redrive executions and the review dead-letter queue (and nothing more),
 * and the arithmetic of the guard holds — each endpoint's guard slots equal the endpoint's own concurrency, and one
 * batch's map never needs more than that. The map's props are validated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTING_NAMES } from '../../lambdas/adapters/settings';
import { buildApp, STACK_NAME } from '../../lib/app';
import { DLQ_REDRIVE_SOURCE_ACTIONS } from '../../lib/constructs/operator-access';
import { DISTRIBUTED_MAP_MAX_CONCURRENCY, MAX_ASSETS_PER_CHILD, STATE_NAMES } from '../../lib/constructs/triage-state-machine';
import { MediaTriageStack } from '../../lib/media-triage-stack';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
interface PolicyStatementJson {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

let outdir: string;
let resources: Resources;

/** CloudFormation intrinsics flattened to a string (`Ref` → `${Id}`, `Fn::GetAtt` → `${Id.Attr}`, joins, selects). */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if ('Ref' in node) return `\${${String(node['Ref'])}}`;
  if ('Fn::GetAtt' in node) return `\${${(node['Fn::GetAtt'] as string[]).join('.')}}`;
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(separator);
  }
  if ('Fn::Select' in node) {
    const [index, list] = node['Fn::Select'] as [number, unknown];
    return `select(${index},${render(list)})`;
  }
  if ('Fn::Split' in node) {
    const [separator, source] = node['Fn::Split'] as [string, unknown];
    return `split(${separator},${render(source)})`;
  }
  return JSON.stringify(value);
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const statements = (document: unknown): PolicyStatementJson[] => (document as { Statement: PolicyStatementJson[] }).Statement;
const grants = (all: PolicyStatementJson[], action: string): string[] =>
  all.filter((s) => s.Effect === 'Allow' && asArray(s.Action).includes(action)).flatMap((s) => asArray(s.Resource).map(render));

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'media-triage-recovery-test-'));
  const { app } = buildApp({ skipBundling: true, nag: true, outdir, region: 'eu-west-1' });
  resources = (app.synth().getStackByName(STACK_NAME).template as { Resources: Resources }).Resources;
});
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

const stateMachineId = (): string => ofType('AWS::StepFunctions::StateMachine')[0]![0];
/** `arn:…:execution:<state machine name>` as the template spells it. */
const executionsOf = (): string => `arn:\${AWS::Partition}:states:eu-west-1:\${AWS::AccountId}:execution:select(6,split(:,\${${stateMachineId()}}))`;

describe('recovery on AWS', () => {
  it("the state machine's role may redrive its own Map Run's child executions, and start and stop them", () => {
    const roleId = render((resources[stateMachineId()]!.Properties['RoleArn'] as unknown) ?? '').replace(/^\$\{|\.Arn\}$/g, '');
    const policies = ofType('AWS::IAM::Policy').filter(([, p]) => (p.Properties['Roles'] as unknown[]).map(render).includes(`\${${roleId}}`));
    const all = policies.flatMap(([, p]) => statements(p.Properties['PolicyDocument']));
    expect(grants(all, 'states:RedriveExecution')).toEqual([`${executionsOf()}/${STATE_NAMES.map}:*`]);
    expect(grants(all, 'states:StartExecution')).toEqual([`\${${stateMachineId()}}`]);
    expect(grants(all, 'states:StopExecution')).toContain(`${executionsOf()}:*`);
  });

  it('the operators’ policy redrives this state machine’s executions and the review dead-letter queue, nothing else', () => {
    const operators = ofType('AWS::IAM::ManagedPolicy').filter(([id]) => id.startsWith('Operators'));
    expect(operators).toHaveLength(1);
    const all = statements(operators[0]![1].Properties['PolicyDocument']);
    expect(grants(all, 'states:RedriveExecution')).toEqual([`${executionsOf()}:*`]);
    const queues = ofType('AWS::SQS::Queue');
    const dlqId = queues.find(([id]) => id.startsWith('ReviewDeadLetter'))![0];
    const queueId = queues.find(([id]) => id.startsWith('ReviewQueue'))![0];
    for (const action of DLQ_REDRIVE_SOURCE_ACTIONS) expect(grants(all, action), action).toContain(`\${${dlqId}.Arn}`);
    expect(grants(all, 'sqs:StartMessageMoveTask')).toEqual([`\${${dlqId}.Arn}`]);
    expect(grants(all, 'sqs:SendMessage')).toEqual([`\${${queueId}.Arn}`]);
    // No data access and no wildcard actions: recovery reruns the stages, with their own roles.
    const actions = all.flatMap((s) => asArray(s.Action));
    expect(actions.filter((action) => /^(s3|dynamodb|sagemaker|lambda):/.test(action) || action.includes('*'))).toEqual([]);
    expect(all.flatMap((s) => asArray(s.Resource).map(render)).filter((resource) => resource === '*')).toEqual([]);
  });
});

describe('the endpoint concurrency guard', () => {
  const classify = () =>
    ofType('AWS::Lambda::Function').find(
      ([, fn]) => (fn.Properties['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables?.[SETTING_NAMES.stage] === 'Classify',
    )![1];
  const variables = () => (classify().Properties['Environment'] as { Variables: Record<string, unknown> }).Variables;
  /** Each endpoint's serverless MaxConcurrency, through the endpoint config it points at. */
  const endpointConcurrency = (prefix: string): number => {
    const [, endpoint] = ofType('AWS::SageMaker::Endpoint').find(([id]) => id.startsWith(prefix))!;
    const configId = (endpoint.Properties['EndpointConfigName'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const variants = resources[configId]!.Properties['ProductionVariants'] as Array<{ ServerlessConfig: { MaxConcurrency: number } }>;
    return variants[0]!.ServerlessConfig.MaxConcurrency;
  };
  const mapState = () => {
    const definition = JSON.parse(render(resources[stateMachineId()]!.Properties['DefinitionString'])) as { States: Record<string, Record<string, unknown>> };
    return definition.States[STATE_NAMES.map]!;
  };

  it('gives each endpoint as many guard slots as the endpoint serves at once', () => {
    expect(Number(variables()[SETTING_NAMES.categoryEndpointConcurrency])).toBe(endpointConcurrency('CategoryModel'));
    expect(Number(variables()[SETTING_NAMES.policyEndpointConcurrency])).toBe(endpointConcurrency('PolicyModel'));
  });

  it("lets one batch's map run without waiting on the guard: MaxConcurrency × one call per endpoint per child ≤ each endpoint's slots", () => {
    const maxConcurrency = Number(mapState()['MaxConcurrency']);
    // A child runs Classify once; Classify calls each endpoint for one asset at a time (both endpoints in parallel).
    const callsPerChildPerEndpoint = 1;
    expect(maxConcurrency * callsPerChildPerEndpoint).toBeLessThanOrEqual(Number(variables()[SETTING_NAMES.categoryEndpointConcurrency]));
    expect(maxConcurrency * callsPerChildPerEndpoint).toBeLessThanOrEqual(Number(variables()[SETTING_NAMES.policyEndpointConcurrency]));
  });
});

describe('map props are validated', () => {
  const stackWith = (props: Record<string, unknown>) => () =>
    new MediaTriageStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'X', { env: { region: 'eu-west-1' }, ...props });

  it(`assetsPerChild is 1-${MAX_ASSETS_PER_CHILD} (the child timeouts are sized for it)`, () => {
    expect(stackWith({ assetsPerChild: MAX_ASSETS_PER_CHILD + 1 })).toThrow(/assetsPerChild must be an integer from 1 to 5/);
    expect(stackWith({ assetsPerChild: 0 })).toThrow(/assetsPerChild/);
    expect(stackWith({ assetsPerChild: 2.5 })).toThrow(/assetsPerChild/);
  });

  it(`maxConcurrency is 1-${DISTRIBUTED_MAP_MAX_CONCURRENCY}`, () => {
    expect(stackWith({ maxConcurrency: 0 })).toThrow(/maxConcurrency must be an integer from 1 to 10000/);
    expect(stackWith({ maxConcurrency: DISTRIBUTED_MAP_MAX_CONCURRENCY + 1 })).toThrow(/maxConcurrency/);
  });
});
