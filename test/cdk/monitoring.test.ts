/**
 * Monitoring and nightly automation in the synthesized stack: the dashboard names the stack's real resources, every
 * alarm notifies the encrypted, TLS-only SNS topic, the review backlog alarm is reused (not duplicated), every stage
 * function has its errors and throttles alarms, the nightly schedule targets the Nightly function with a retry policy
 * and a dead-letter queue through a role that may invoke only that function, cdk-nag finds nothing unacknowledged,
 * and README "Monitoring" lists the alarms with the template's thresholds.
 *
 * Names and ids are read from the template (functions by their STAGE_NAME, the map's label from the ASL), not restated.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTING_NAMES } from '../../lambdas/adapters/settings';
import { batchStartInput } from '../../lambdas/core/batch-start';
import { OUTCOMES } from '../../lambdas/core/outcomes';
import { METRIC_NAMES } from '../../lambdas/functions/metrics';
import { STAGE_NAMES } from '../../lambdas/stages';
import { buildApp } from '../../lib/app';
import { ALARM_KINDS } from '../../lib/constructs/monitoring';
import { PROJECT_ROOT } from '../../lib/constructs/stage-function';
import type { MediaTriageStack } from '../../lib/media-triage-stack';

interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

const outdirs: string[] = [];

function synthesize(context: Record<string, unknown> = {}): { stack: MediaTriageStack; template: Template; report: unknown; error?: Error } {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const outdir = mkdtempSync(join(tmpdir(), 'media-triage-monitoring-test-'));
  outdirs.push(outdir);
  const saved = process.env[cxapi.CONTEXT_ENV];
  process.env[cxapi.CONTEXT_ENV] = JSON.stringify({
    ...cdkJson.context,
    ...context,
    [cxapi.CDK_APP_MODE_CONTEXT]: 'inmemory',
    [cxapi.FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false,
  });
  try {
    const built = buildApp({ skipBundling: true, outdir, region: 'eu-west-1' });
    const assembly = built.app.synth();
    const report = JSON.parse(readFileSync(join(assembly.directory, cxapi.VALIDATION_REPORT_FILE), 'utf8')) as unknown;
    return { stack: built.stack, template: Template.fromStack(built.stack), report };
  } finally {
    if (saved === undefined) delete process.env[cxapi.CONTEXT_ENV];
    else process.env[cxapi.CONTEXT_ENV] = saved;
  }
}

/** A CloudFormation value as text, intrinsics as placeholders: `{Ref: X}` → `${X}`, `{Fn::GetAtt: [X, A]}` → `${X.A}`. */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const v = value as Record<string, unknown>;
  if (typeof v['Ref'] === 'string') return `\${${v['Ref']}}`;
  if (Array.isArray(v['Fn::GetAtt'])) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
  if (Array.isArray(v['Fn::Join'])) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(separator);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

let stack: MediaTriageStack;
let template: Template;
let report: { pluginReports: Array<{ pluginName: string; violations: unknown[] }> };
let resources: Record<string, CfnResource>;

const ofType = (type: string): Array<[string, CfnResource]> => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const logicalId = (construct: IConstruct): string => stack.getLogicalId(construct.node.defaultChild as CfnElement);
/** Stage name → logical id of its function, from the functions' STAGE_NAME in the template. */
const functionIds = (): Record<string, string> =>
  Object.fromEntries(
    ofType('AWS::Lambda::Function').flatMap(([id, fn]) => {
      const stage = ((fn.Properties['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {})[SETTING_NAMES.stage];
      return typeof stage === 'string' ? [[stage, id]] : [];
    }),
  );
const alarms = (): Array<[string, CfnResource]> => ofType('AWS::CloudWatch::Alarm');
interface AlarmMetric {
  Namespace: string;
  MetricName: string;
  Dimensions: Array<{ Name: string; Value: unknown }>;
}
/** The metrics an alarm watches: its own (a plain metric) or its metric queries' (a labelled metric or math). */
const alarmMetrics = (alarm: CfnResource): AlarmMetric[] => {
  const queries = alarm.Properties['Metrics'] as Array<{ MetricStat?: { Metric: AlarmMetric } }> | undefined;
  if (queries !== undefined) return queries.flatMap((query) => (query.MetricStat === undefined ? [] : [query.MetricStat.Metric]));
  return [alarm.Properties as unknown as AlarmMetric];
};
const watches = (alarm: CfnResource, namespace: string, metricName: string, dimension: string, value: string): boolean =>
  alarmMetrics(alarm).some(
    (metric) =>
      metric.Namespace === namespace && metric.MetricName === metricName && metric.Dimensions.some((d) => d.Name === dimension && render(d.Value) === value),
  );
const alarmKind = (alarm: CfnResource): string | undefined => /^\[(\w+)\]/.exec(String(alarm.Properties['AlarmDescription'] ?? ''))?.[1];

beforeAll(() => {
  const synthesized = synthesize();
  ({ stack, template } = synthesized);
  report = synthesized.report as typeof report;
  resources = template.toJSON()['Resources'] as Record<string, CfnResource>;
});

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('alarm topic', () => {
  it('is encrypted with a rotating customer-managed key that CloudWatch may use, and refuses publishing without TLS', () => {
    const [[topicId, topic]] = ofType('AWS::SNS::Topic') as [[string, CfnResource]];
    const keyRef = topic.Properties['KmsMasterKeyId'] as { 'Fn::GetAtt': [string, string] };
    const key = resources[keyRef['Fn::GetAtt'][0]]!;
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties['EnableKeyRotation']).toBe(true);
    const keyStatements = (key.Properties['KeyPolicy'] as { Statement: Array<{ Principal?: { Service?: string }; Action: string | string[] }> }).Statement;
    const forCloudWatch = keyStatements.find((statement) => statement.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(forCloudWatch?.Action).toEqual(expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']));
    const policies = ofType('AWS::SNS::TopicPolicy').filter(([, policy]) =>
      (policy.Properties['Topics'] as unknown[]).some((t) => render(t) === `\${${topicId}}`),
    );
    const statements = policies.flatMap(([, policy]) => (policy.Properties['PolicyDocument'] as { Statement: Array<Record<string, unknown>> }).Statement);
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
  });

  it('is notified by every alarm of the stack', () => {
    const topicId = logicalId(stack.monitoring.topic);
    expect(alarms().length).toBeGreaterThan(0);
    for (const [id, alarm] of alarms()) {
      expect((alarm.Properties['AlarmActions'] as unknown[] | undefined)?.map(render), id).toContain(`\${${topicId}}`);
    }
  });

  it('gets an email subscription from the alarmEmail context value (and none without it)', () => {
    expect(ofType('AWS::SNS::Subscription')).toHaveLength(0);
    const withEmail = synthesize({ alarmEmail: 'ops@example.com' }).template;
    withEmail.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('is an output, as is the dashboard name', () => {
    const outputs = template.toJSON()['Outputs'] as Record<string, { Value: unknown }>;
    expect(render(outputs['AlarmTopicArn']!.Value)).toBe(`\${${logicalId(stack.monitoring.topic)}}`);
    expect(render(outputs['DashboardName']!.Value)).toBe(`\${${logicalId(stack.monitoring.dashboard)}}`);
  });
});

describe('alarms', () => {
  it('watch each stage function for errors and for throttles', () => {
    const ids = functionIds();
    expect(Object.keys(ids).sort()).toEqual([...STAGE_NAMES].sort());
    for (const [stage, id] of Object.entries(ids)) {
      for (const metricName of ['Errors', 'Throttles']) {
        const watching = alarms().filter(([, alarm]) => watches(alarm, 'AWS/Lambda', metricName, 'FunctionName', `\${${id}}`));
        expect(watching, `${stage} ${metricName}`).toHaveLength(1);
      }
    }
  });

  it('reuse the review backlog alarm (one alarm on the review queue’s oldest message age)', () => {
    const reviewQueue = logicalId(stack.review.queue);
    const onAge = alarms().filter(([, alarm]) => watches(alarm, 'AWS/SQS', 'ApproximateAgeOfOldestMessage', 'QueueName', `\${${reviewQueue}.QueueName}`));
    expect(onAge.map(([id]) => id)).toEqual([logicalId(stack.reviewers.backlogAlarm)]);
  });

  it('watch the three dead-letter queues, failed and timed-out executions, and both endpoints’ 5XX and latency', () => {
    const depthOf = (queueId: string) =>
      alarms().filter(([, alarm]) => watches(alarm, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', `\${${queueId}.QueueName}`));
    for (const queue of [stack.triggerDeadLetterQueue, stack.review.deadLetterQueue, stack.nightly.deadLetterQueue]) {
      expect(depthOf(logicalId(queue)), queue.node.path).toHaveLength(1);
    }
    const sm = logicalId(stack.stateMachine.stateMachine);
    const executions = alarms().find(([, alarm]) => alarmKind(alarm) === 'ExecutionsFailed')![1];
    const metrics = alarmMetrics(executions);
    expect(metrics.map((metric) => metric.MetricName).sort()).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut']);
    for (const metric of metrics) expect(render(metric.Dimensions[0]!.Value)).toBe(`\${${sm}}`);
    for (const endpoint of [stack.categoryEndpoint, stack.policyEndpoint]) {
      const endpointId = stack.getLogicalId(endpoint.node.findChild('Endpoint') as CfnElement);
      for (const metricName of ['Invocation5XXErrors', 'ModelLatency']) {
        const watching = alarms().filter(([, alarm]) => watches(alarm, 'AWS/SageMaker', metricName, 'EndpointName', `\${${endpointId}.EndpointName}`));
        expect(watching, `${endpointId} ${metricName}`).toHaveLength(1);
      }
    }
  });

  it('are listed in README "Monitoring" with the template’s thresholds and evaluation periods', () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Monitoring'));
    const rows = section.split('\n').filter((line) => line.startsWith('| `'));
    const byKind = new Map<string, Set<string>>();
    for (const [, alarm] of alarms()) {
      const kind = alarmKind(alarm);
      if (kind === undefined) continue;
      const cell = `\`≥ ${String(alarm.Properties['Threshold'])}\` | ${String(alarm.Properties['EvaluationPeriods'])} × ${String(alarm.Properties['Period'] ?? (alarm.Properties['Metrics'] as Array<{ MetricStat?: { Period: number } }>).find((m) => m.MetricStat)?.MetricStat?.Period)} s`;
      byKind.set(kind, (byKind.get(kind) ?? new Set()).add(cell));
    }
    expect([...byKind.keys()].sort()).toEqual([...ALARM_KINDS].sort());
    for (const [kind, cells] of byKind) {
      expect(cells.size, `${kind}: one threshold for all its alarms`).toBe(1);
      const row = rows.find((line) => line.startsWith(`| \`${kind}\` |`));
      expect(row, `README row for ${kind}`).toBeDefined();
      expect(row).toContain([...cells][0]);
    }
    expect(rows.filter((line) => ALARM_KINDS.some((kind) => line.startsWith(`| \`${kind}\` |`)))).toHaveLength(ALARM_KINDS.length);
  });
});

describe('dashboard', () => {
  it('names the stack’s real resources in its widgets', () => {
    const [[, dashboard]] = ofType('AWS::CloudWatch::Dashboard') as [[string, CfnResource]];
    const body = render(dashboard.Properties['DashboardBody']);
    const widgets = (JSON.parse(body) as { widgets: Array<{ properties: { title?: string } }> }).widgets;
    expect(widgets.map((widget) => widget.properties.title)).toEqual(
      expect.arrayContaining(['Executions', 'Map run child executions (failures)', 'Assets by outcome', 'Review queue', 'Lambda errors', 'Lambda throttles']),
    );
    const sm = logicalId(stack.stateMachine.stateMachine);
    // The map's child executions report under <state machine ARN>/<Label of the Distributed Map state>.
    const definition = JSON.parse(render(resources[sm]!.Properties['DefinitionString'])) as { States: Record<string, { Label?: string }> };
    const label = Object.values(definition.States).find((state) => state.Label !== undefined)?.Label;
    expect(label).toBeDefined();
    expect(body).toContain(`"StateMachineArn","\${${sm}}/${label}"`);
    for (const metricName of ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed'])
      expect(body).toContain(`"${metricName}","StateMachineArn","\${${sm}}"`);
    for (const [stage, id] of Object.entries(functionIds())) {
      for (const metricName of ['Errors', 'Throttles', 'Duration'])
        expect(body, `${stage} ${metricName}`).toContain(`"AWS/Lambda","${metricName}","FunctionName","\${${id}}"`);
    }
    const reviewQueue = logicalId(stack.review.queue);
    expect(body).toContain(`"ApproximateAgeOfOldestMessage","QueueName","\${${reviewQueue}.QueueName}"`);
    expect(body).toContain(`"ApproximateNumberOfMessagesVisible","QueueName","\${${reviewQueue}.QueueName}"`);
    for (const endpoint of [stack.categoryEndpoint, stack.policyEndpoint]) {
      const endpointId = stack.getLogicalId(endpoint.node.findChild('Endpoint') as CfnElement);
      for (const metricName of ['Invocations', 'ModelLatency', 'Invocation5XXErrors']) {
        expect(body).toContain(`"AWS/SageMaker","${metricName}","EndpointName","\${${endpointId}.EndpointName}","VariantName","${endpoint.variantName}"`);
      }
    }
    // The stages' EMF metrics, under the namespace and service the functions are given.
    const env = (resources[functionIds()['Persist']!]!.Properties['Environment'] as { Variables: Record<string, string> }).Variables;
    const namespace = env[SETTING_NAMES.metricsNamespace]!;
    const service = env[SETTING_NAMES.metricsService]!;
    for (const outcome of OUTCOMES) expect(body).toContain(`"${namespace}","${METRIC_NAMES.assets}","outcome","${outcome}","service","${service}"`);
    expect(body).toContain(`MetricName=\\"${METRIC_NAMES.assetReasons}\\" service=\\"${service}\\"`);
  });
});

describe('nightly schedule', () => {
  const scheduleProps = (): Record<string, unknown> => ofType('AWS::Scheduler::Schedule')[0]![1].Properties;

  it('runs the Nightly function on a cron expression, with a retry policy and a dead-letter queue', () => {
    expect(ofType('AWS::Scheduler::Schedule')).toHaveLength(1);
    const props = scheduleProps();
    expect(String(props['ScheduleExpression'])).toMatch(/^cron\(/);
    const target = props['Target'] as { Arn: unknown; RoleArn: unknown; RetryPolicy: Record<string, number>; DeadLetterConfig: { Arn: unknown } };
    expect(render(target.Arn)).toBe(`\${${functionIds()['Nightly']}.Arn}`);
    expect(target.RetryPolicy['MaximumRetryAttempts']).toBeGreaterThan(0);
    expect(target.RetryPolicy['MaximumEventAgeInSeconds']).toBeGreaterThan(0);
    const dlq = render(target.DeadLetterConfig.Arn);
    expect(dlq).toBe(`\${${logicalId(stack.nightly.deadLetterQueue)}.Arn}`);
    expect(resources[logicalId(stack.nightly.deadLetterQueue)]!.Properties['SqsManagedSseEnabled']).toBe(true);
  });

  it('assumes a role that may invoke only the Nightly function (and dead-letter to its queue)', () => {
    const target = scheduleProps()['Target'] as { RoleArn: { 'Fn::GetAtt': [string, string] } };
    const roleId = target.RoleArn['Fn::GetAtt'][0];
    const role = resources[roleId]!.Properties;
    const trust = (role['AssumeRolePolicyDocument'] as { Statement: Array<{ Principal: { Service: string }; Condition?: unknown }> }).Statement;
    expect(trust.map((statement) => statement.Principal.Service)).toEqual(['scheduler.amazonaws.com']);
    expect(trust[0]!.Condition).toBeDefined();
    expect(role['ManagedPolicyArns']).toBeUndefined();
    const inline = (role['Policies'] as Array<{ PolicyDocument: { Statement: Array<{ Action: string; Resource: unknown }> } }>).flatMap(
      (p) => p.PolicyDocument.Statement,
    );
    const attached = ofType('AWS::IAM::Policy').filter(([, policy]) => (policy.Properties['Roles'] as unknown[]).some((r) => render(r) === `\${${roleId}}`));
    expect(attached).toEqual([]);
    expect(inline.map((statement) => [statement.Action, render(statement.Resource)])).toEqual([
      ['lambda:InvokeFunction', `\${${functionIds()['Nightly']}.Arn}`],
      ['sqs:SendMessage', `\${${logicalId(stack.nightly.deadLetterQueue)}.Arn}`],
    ]);
  });

  it('gives Nightly the state machine to re-drive on, and the rule and the sweep the same execution input', () => {
    const nightly = resources[functionIds()['Nightly']!]!.Properties;
    const sm = logicalId(stack.stateMachine.stateMachine);
    expect((nightly['Environment'] as { Variables: Record<string, unknown> }).Variables[SETTING_NAMES.stateMachineArn]).toEqual({ Ref: sm });
    const [[, rule]] = ofType('AWS::Events::Rule') as [[string, CfnResource]];
    const transformer = (rule.Properties['Targets'] as Array<{ InputTransformer: { InputTemplate: string } }>)[0]!.InputTransformer;
    const fields = Object.keys(JSON.parse(transformer.InputTemplate.replace(/<[\w.-]+>/g, '"x"')) as object);
    expect(fields).toEqual(Object.keys(batchStartInput({ bucket: '', key: '', receivedAt: '' })));
  });
});

describe('cdk-nag', () => {
  it('has no unacknowledged AwsSolutions finding', () => {
    const plugin = report.pluginReports.find((p) => p.pluginName === 'AwsSolutions');
    expect(plugin).toBeDefined();
    expect(plugin!.violations).toEqual([]);
  });
});
