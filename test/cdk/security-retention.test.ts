/**
 * Security and retention, derived from the synthesized template (both encryption settings): no IAM wildcard actions,
 * no data action on `Resource: *`, TLS-only bucket and queue policies, no public access, cdk-nag clean; the
 * customer-managed KMS option encrypts buckets, table and queues with one key that the functions, the state machine and
 * the reviewer policy may use; the S3 lifecycle rules and the DynamoDB TTL follow the `retention` prop and the README
 * "Retention and erasure" table.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TTL_ATTRIBUTE } from '../../lambdas/core/retention';
import { buildApp, type BuildAppOptions } from '../../lib/app';
import { PROJECT_ROOT } from '../../lib/constructs/stage-function';
import { RETENTION_DEFAULTS, resolveRetention, type ResolvedRetention } from '../../lib/constructs/retention';
import type { MediaTriageStack } from '../../lib/media-triage-stack';
import { STAGES, STAGE_NAMES, type StageName } from '../../lambdas/stages';

interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}
interface Synthesized {
  readonly stack: MediaTriageStack;
  readonly resources: Record<string, CfnResource>;
}

const outdirs: string[] = [];

/** Synthesizes like `cdk synth` (cdk.json context, cdk-nag as a validation plugin that fails the synth on a finding). */
function synthesize(stackProps: BuildAppOptions['stackProps'] = {}): Synthesized {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const outdir = mkdtempSync(join(tmpdir(), 'media-triage-security-test-'));
  outdirs.push(outdir);
  const saved = process.env[cxapi.CONTEXT_ENV];
  process.env[cxapi.CONTEXT_ENV] = JSON.stringify({
    ...cdkJson.context,
    [cxapi.CDK_APP_MODE_CONTEXT]: 'inmemory',
    [cxapi.FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: true,
  });
  try {
    const { app, stack } = buildApp({ skipBundling: true, outdir, region: 'eu-west-1', stackProps });
    app.synth(); // throws ValidationFailed (the whole cdk-nag report) on any unacknowledged finding
    return { stack, resources: Template.fromStack(stack).toJSON()['Resources'] as Record<string, CfnResource> };
  } finally {
    if (saved === undefined) delete process.env[cxapi.CONTEXT_ENV];
    else process.env[cxapi.CONTEXT_ENV] = saved;
  }
}

const logicalId = (s: Synthesized, construct: IConstruct): string => s.stack.getLogicalId(construct.node.defaultChild as CfnElement);
const ofType = (s: Synthesized, type: string): [string, CfnResource][] => Object.entries(s.resources).filter(([, r]) => r.Type === type);
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);

interface PolicyStatementJson {
  Effect: string;
  Action?: unknown;
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
interface FoundStatement {
  readonly where: string;
  readonly kind: 'identity' | 'resource' | 'key';
  readonly statement: PolicyStatementJson;
}

/** Every policy statement of the template: IAM identity policies (inline, managed, roles'), resource policies, key policies. */
function statements(s: Synthesized): FoundStatement[] {
  const found: FoundStatement[] = [];
  const add = (where: string, kind: FoundStatement['kind'], document: unknown): void => {
    for (const statement of asArray((document as { Statement?: unknown } | undefined)?.Statement))
      found.push({ where, kind, statement: statement as PolicyStatementJson });
  };
  for (const [id, r] of Object.entries(s.resources)) {
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') add(id, 'identity', r.Properties['PolicyDocument']);
    if (r.Type === 'AWS::IAM::Role')
      for (const inline of asArray(r.Properties['Policies'])) add(id, 'identity', (inline as { PolicyDocument: unknown }).PolicyDocument);
    if (['AWS::S3::BucketPolicy', 'AWS::SQS::QueuePolicy', 'AWS::SNS::TopicPolicy'].includes(r.Type)) add(id, 'resource', r.Properties['PolicyDocument']);
    if (r.Type === 'AWS::KMS::Key') add(id, 'key', r.Properties['KeyPolicy']);
  }
  return found;
}

/** IAM wildcard match of an action pattern against a concrete action (case-insensitive, as IAM compares actions). */
function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return regex.test(action);
}

/** Concrete data-plane actions: reading, writing or deleting the pipeline's data. None may be granted on `*`. */
const DATA_ACTIONS = [
  's3:GetObject',
  's3:GetObjectVersion',
  's3:PutObject',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'sqs:SendMessage',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sagemaker:InvokeEndpoint',
  'kms:Decrypt',
  'kms:Encrypt',
  'kms:GenerateDataKey',
];

const isWildcardAction = (action: string): boolean => action === '*' || /^[a-z0-9-]+:\*$/i.test(action);
const actionsOf = (statement: PolicyStatementJson): string[] => asArray(statement.Action).map(String);

/** The key policy's standard first statement: the account root (IAM in this account) may administer the key. */
function isKeyAdminDelegation(found: FoundStatement): boolean {
  const principal = found.statement.Principal as { AWS?: unknown } | undefined;
  return found.kind === 'key' && JSON.stringify(principal?.AWS ?? '').includes(':root');
}

let plain: Synthesized;
let withKey: Synthesized;
let tuned: Synthesized;

beforeAll(() => {
  plain = synthesize();
  withKey = synthesize({ customerManagedKey: true });
  tuned = synthesize({ retention: { reportDays: 730, athenaResultDays: 3, expireReviewClaims: false } });
}, 240_000);

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['AWS-managed keys (default)', () => plain],
  ['a customer-managed KMS key', () => withKey],
])('security checks with %s', (_name, synthesized) => {
  it('synthesizes with no unacknowledged cdk-nag AwsSolutions finding', () => {
    // synthesize() throws otherwise; reaching here with a stack is the check.
    expect(Object.keys(synthesized().resources).length).toBeGreaterThan(0);
  });

  it('no Allow statement has a wildcard action (`*` or `service:*`), apart from the key policy delegating to IAM', () => {
    const found = statements(synthesized()).filter((f) => f.statement.Effect === 'Allow' && !isKeyAdminDelegation(f));
    expect(found.length).toBeGreaterThan(20);
    const offenders = found.filter((f) => actionsOf(f.statement).some(isWildcardAction)).map((f) => `${f.where}: ${actionsOf(f.statement).join(',')}`);
    expect(offenders).toEqual([]);
  });

  it('no IAM policy grants a data action on `Resource: *`', () => {
    const offenders = statements(synthesized())
      .filter((f) => f.kind === 'identity' && f.statement.Effect === 'Allow' && asArray(f.statement.Resource).includes('*'))
      .flatMap((f) =>
        actionsOf(f.statement)
          .filter((action) => DATA_ACTIONS.some((data) => actionMatches(action, data)))
          .map((action) => `${f.where}: ${action}`),
      );
    expect(offenders).toEqual([]);
  });

  it('no resource policy allows a `*` principal', () => {
    const open = statements(synthesized()).filter(
      (f) => f.kind !== 'identity' && f.statement.Effect === 'Allow' && JSON.stringify(f.statement.Principal ?? {}).match(/"\*"|^"\*"$/),
    );
    expect(open).toEqual([]);
  });

  it('every bucket, queue and topic has a policy that denies requests without TLS', () => {
    const s = synthesized();
    const deniesPlainHttp = (statement: PolicyStatementJson): boolean =>
      statement.Effect === 'Deny' && statement.Condition?.['Bool']?.['aws:SecureTransport'] === 'false';
    const targets = (policy: CfnResource): string[] =>
      [...asArray(policy.Properties['Bucket']), ...asArray(policy.Properties['Queues']), ...asArray(policy.Properties['Topics'])].map(
        (ref) => (ref as { Ref: string }).Ref,
      );
    const tlsOnly = new Set(
      [...ofType(s, 'AWS::S3::BucketPolicy'), ...ofType(s, 'AWS::SQS::QueuePolicy'), ...ofType(s, 'AWS::SNS::TopicPolicy')]
        .filter(([, policy]) =>
          asArray((policy.Properties['PolicyDocument'] as { Statement: unknown }).Statement).some((st) => deniesPlainHttp(st as PolicyStatementJson)),
        )
        .flatMap(([, policy]) => targets(policy)),
    );
    const buckets = ofType(s, 'AWS::S3::Bucket').map(([id]) => id);
    const queues = ofType(s, 'AWS::SQS::Queue').map(([id]) => id);
    const topics = ofType(s, 'AWS::SNS::Topic').map(([id]) => id);
    // Data, reports and access-log buckets; review queue, its DLQ, the trigger's and the schedule's DLQs; the alarm topic.
    expect(buckets.length).toBe(3);
    expect(queues.length).toBe(4);
    expect(topics.length).toBe(1);
    expect([...buckets, ...queues, ...topics].filter((id) => !tlsOnly.has(id))).toEqual([]);
  });

  it('the reviewer policy cannot purge: no object deletes or writes, no Scan, item deletes only on claims, audit and decisions denied', () => {
    const s = synthesized();
    const policy = s.resources[logicalId(s, s.stack.reviewers.policy)]!;
    const all = asArray((policy.Properties['PolicyDocument'] as { Statement: unknown }).Statement) as PolicyStatementJson[];
    const allowed = all.filter((st) => st.Effect === 'Allow');
    const grants = (action: string): PolicyStatementJson[] => allowed.filter((st) => actionsOf(st).some((a) => actionMatches(a, action)));
    for (const action of ['s3:DeleteObject', 's3:PutObject', 'dynamodb:Scan', 'dynamodb:BatchWriteItem', 'sqs:SendMessage', 'sqs:PurgeQueue']) {
      expect(grants(action), action).toEqual([]);
    }
    const deletes = grants('dynamodb:DeleteItem');
    expect(deletes).toHaveLength(1);
    expect(deletes[0]!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['REVIEWER#*'] } });
    const denied = all.find((st) => st.Effect === 'Deny' && actionsOf(st).includes('dynamodb:DeleteItem'))!;
    expect(JSON.stringify(denied.Condition)).toContain('AUDIT#*');
    expect(JSON.stringify(denied.Condition)).toContain('TASK#*');
  });

  it('every bucket blocks all public access and enforces bucket-owner object ownership where it can', () => {
    for (const [id, bucket] of ofType(synthesized(), 'AWS::S3::Bucket')) {
      expect(bucket.Properties['PublicAccessBlockConfiguration'], id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties['AccessControl'], id).toBeUndefined();
    }
  });
});

describe('encryption at rest', () => {
  const sse = (bucket: CfnResource): unknown =>
    (bucket.Properties['BucketEncryption'] as { ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: unknown }[] })
      .ServerSideEncryptionConfiguration[0]!.ServerSideEncryptionByDefault;

  // The alarm topic always has a key of its own: CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key.
  const alarmTopicKeyId = (s: typeof plain): string => logicalId(s, s.stack.monitoring.topicKey);

  it("by default uses AWS-managed keys: SSE-S3 buckets, the DynamoDB AWS-managed key, SSE-SQS queues, and no KMS key but the alarm topic's", () => {
    expect(ofType(plain, 'AWS::KMS::Key').map(([id]) => id)).toEqual([alarmTopicKeyId(plain)]);
    for (const [, bucket] of ofType(plain, 'AWS::S3::Bucket')) expect(sse(bucket)).toEqual({ SSEAlgorithm: 'AES256' });
    for (const [, queue] of ofType(plain, 'AWS::SQS::Queue')) expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    const [, table] = ofType(plain, 'AWS::DynamoDB::GlobalTable')[0]!;
    // TableV2's AWS-managed key: SSEType KMS with no key of the stack's named anywhere.
    expect(JSON.stringify(table.Properties)).not.toContain('KMSMasterKeyId');
  });

  describe('with customerManagedKey', () => {
    let keyId: string;
    const keyRef = (): unknown => ({ 'Fn::GetAtt': [keyId, 'Arn'] });
    beforeAll(() => {
      keyId = logicalId(withKey, withKey.stack.encryptionKey!);
    });

    it("has one rotated, retained key for the data (besides the alarm topic's)", () => {
      expect(
        ofType(withKey, 'AWS::KMS::Key')
          .map(([id]) => id)
          .sort(),
      ).toEqual([keyId, alarmTopicKeyId(withKey)].sort());
      expect(withKey.resources[keyId]!.Properties).toMatchObject({ EnableKeyRotation: true });
      const template = Template.fromStack(withKey.stack).toJSON() as { Resources: Record<string, { DeletionPolicy?: string }> };
      expect(template.Resources[keyId]!.DeletionPolicy).toBe('Retain');
    });

    it('encrypts the data and reports buckets with it (Bucket Keys on); the access-log bucket stays SSE-S3', () => {
      const data = logicalId(withKey, withKey.stack.storage.dataBucket);
      const reports = logicalId(withKey, withKey.stack.storage.reportsBucket);
      const logs = logicalId(withKey, withKey.stack.storage.accessLogsBucket);
      for (const id of [data, reports]) {
        expect(sse(withKey.resources[id]!)).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyRef() });
      }
      expect(sse(withKey.resources[logs]!)).toEqual({ SSEAlgorithm: 'AES256' });
    });

    it('encrypts the table and every queue with it, and the Athena results', () => {
      const [, table] = ofType(withKey, 'AWS::DynamoDB::GlobalTable')[0]!;
      expect(table.Properties['SSESpecification']).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
      expect(JSON.stringify(table.Properties['Replicas'])).toContain(keyId);
      for (const [id, queue] of ofType(withKey, 'AWS::SQS::Queue')) expect(queue.Properties['KmsMasterKeyId'], id).toEqual(keyRef());
      const [, workGroup] = ofType(withKey, 'AWS::Athena::WorkGroup')[0]!;
      expect(JSON.stringify(workGroup.Properties)).toContain('SSE_KMS');
    });

    /** Key actions an identity policy attached to `target` allows on this key. */
    const keyActionsOf = (policyTargets: (r: CfnResource) => boolean): string[] =>
      Object.values(withKey.resources)
        .filter((r) => (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && policyTargets(r))
        .flatMap((r) => asArray((r.Properties['PolicyDocument'] as { Statement: unknown }).Statement) as PolicyStatementJson[])
        .filter((st) => st.Effect === 'Allow' && JSON.stringify(st.Resource).includes(keyId))
        .flatMap(actionsOf);
    const rolePolicy =
      (roleId: string) =>
      (r: CfnResource): boolean =>
        JSON.stringify(r.Properties['Roles'] ?? []).includes(`"${roleId}"`);
    const roleOf = (fnId: string): string => (withKey.resources[fnId]!.Properties['Role'] as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const allowsAll = (actions: string[], wanted: string[]): boolean => wanted.every((w) => actions.some((a) => actionMatches(a, w)));

    it('lets every stage function that touches a bucket, the table or the queue use it (Persist: encrypt too)', () => {
      const touchesData = (stage: StageName): boolean => STAGES[stage].access.some((access) => !access.startsWith('models:'));
      const stages = STAGE_NAMES.filter(touchesData);
      expect(stages.length).toBeGreaterThanOrEqual(5);
      for (const stage of stages) {
        const fn = withKey.stack.pipeline.functions[stage];
        const actions = keyActionsOf(rolePolicy(roleOf(logicalId(withKey, fn))));
        expect(allowsAll(actions, ['kms:Decrypt']), `${stage}: ${actions.join(',')}`).toBe(true);
      }
      const persist = keyActionsOf(rolePolicy(roleOf(logicalId(withKey, withKey.stack.pipeline.functions.Persist))));
      expect(allowsAll(persist, ['kms:Encrypt', 'kms:GenerateDataKey'])).toBe(true);
    });

    it("lets the state machine read items.jsonl and write the map's results with it", () => {
      const smRole = (withKey.resources[logicalId(withKey, withKey.stack.stateMachine.stateMachine)]!.Properties['RoleArn'] as { 'Fn::GetAtt': [string] })[
        'Fn::GetAtt'
      ][0];
      expect(allowsAll(keyActionsOf(rolePolicy(smRole)), ['kms:Decrypt', 'kms:GenerateDataKey'])).toBe(true);
    });

    it('lets the reviewer policy decrypt what reviewers read and encrypt what they write', () => {
      const reviewerPolicyId = logicalId(withKey, withKey.stack.reviewers.policy);
      const actions = keyActionsOf((r) => r === withKey.resources[reviewerPolicyId]);
      expect(allowsAll(actions, ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt'])).toBe(true);
    });

    it('has a key policy that delegates to IAM in this account and lets EventBridge of this account use the trigger DLQ', () => {
      const policy = withKey.resources[keyId]!.Properties['KeyPolicy'] as { Statement: PolicyStatementJson[] };
      expect(policy.Statement.some((st) => JSON.stringify(st.Principal).includes(':root') && actionsOf(st).includes('kms:*'))).toBe(true);
      const events = policy.Statement.find((st) => JSON.stringify(st.Principal).includes('events.amazonaws.com'))!;
      expect(actionsOf(events).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
      expect(events.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Retention
// ---------------------------------------------------------------------------------------------------------------------

interface LifecycleRuleJson {
  Id?: string;
  Prefix?: string;
  Status: string;
  ExpirationInDays?: number;
  NoncurrentVersionExpiration?: { NoncurrentDays: number };
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number };
}

/** `<bucket>|<prefix or *>|<days>|current|noncurrent`, one per expiring thing, from the template. */
function lifecycleFacts(s: Synthesized): string[] {
  const names: [string, IConstruct][] = [
    ['data', s.stack.storage.dataBucket],
    ['reports', s.stack.storage.reportsBucket],
    ['access-log', s.stack.storage.accessLogsBucket],
  ];
  return names.flatMap(([name, bucket]) => {
    const rules = ((s.resources[logicalId(s, bucket)]!.Properties['LifecycleConfiguration'] as { Rules: LifecycleRuleJson[] }).Rules ?? []).filter(
      (r) => r.Status === 'Enabled',
    );
    return rules.map((rule) =>
      rule.ExpirationInDays !== undefined
        ? `${name}|${rule.Prefix ?? '*'}|${rule.ExpirationInDays}|current`
        : `${name}|${rule.Prefix ?? '*'}|${rule.NoncurrentVersionExpiration!.NoncurrentDays}|noncurrent`,
    );
  });
}

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

/** The README "Retention and erasure" table as (prop, fact) pairs. */
function readmeRetentionRows(): { prop: keyof ResolvedRetention; fact: string }[] {
  return readme
    .split('\n')
    .filter((line) => /^\| `[a-zA-Z]+Days` \|/.test(line))
    .map((line) => {
      const [prop, bucket, prefix, days] = line
        .split('|')
        .slice(1, 5)
        .map((cell) => cell.trim().replaceAll('`', ''));
      const noncurrent = prefix!.includes('noncurrent');
      const fact = `${bucket}|${prefix!.startsWith('(') ? '*' : prefix}|${days}|${noncurrent ? 'noncurrent' : 'current'}`;
      return { prop: prop as keyof ResolvedRetention, fact };
    });
}

describe('retention', () => {
  it('the README table lists exactly the lifecycle rules of the synthesized template, with their defaults', () => {
    const rows = readmeRetentionRows();
    expect(rows.map((row) => row.fact).sort()).toEqual(lifecycleFacts(plain).sort());
    for (const row of rows) expect(row.fact.split('|')[2], row.prop).toBe(String(RETENTION_DEFAULTS[row.prop]));
  });

  it('covers staging, model inputs, map results, reports, Athena results and noncurrent versions', () => {
    const facts = lifecycleFacts(plain);
    for (const expected of [
      'data|staging/|',
      'data|preprocessed/|',
      'data|map-results/|',
      'reports|reports/|',
      'reports|athena-results/|',
      'data|*|',
      'reports|*|',
    ]) {
      expect(
        facts.some((fact) => fact.startsWith(expected)),
        expected,
      ).toBe(true);
    }
    const athenaResults = JSON.stringify(ofType(plain, 'AWS::Athena::WorkGroup')[0]![1].Properties);
    expect(athenaResults).toContain('/athena-results/');
  });

  it('every prefix rule also expires noncurrent versions and aborts stale multipart uploads after a day', () => {
    for (const [, bucket] of ofType(plain, 'AWS::S3::Bucket')) {
      const rules = (bucket.Properties['LifecycleConfiguration'] as { Rules: LifecycleRuleJson[] }).Rules.filter((rule) => rule.Prefix !== undefined);
      for (const rule of rules)
        expect(rule, rule.Id).toMatchObject({ NoncurrentVersionExpiration: { NoncurrentDays: 1 }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } });
    }
  });

  it('follows the retention prop', () => {
    const facts = lifecycleFacts(tuned);
    expect(facts).toContain('reports|reports/|730|current');
    expect(facts).toContain('reports|athena-results/|3|current');
    expect(facts).toContain(`data|staging/|${RETENTION_DEFAULTS.stagingDays}|current`);
  });

  it('enables DynamoDB TTL on the claims-only attribute, unless expireReviewClaims is false', () => {
    const ttl = (s: Synthesized): unknown => ofType(s, 'AWS::DynamoDB::GlobalTable')[0]![1].Properties['TimeToLiveSpecification'];
    expect(ttl(plain)).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
    expect(ttl(tuned)).toBeUndefined();
  });

  it.each([
    [{ stagingDays: 0 }, /stagingDays must be a whole number of days/],
    [{ reportDays: 1.5 }, /reportDays must be a whole number/],
    [{ uploadDays: 100_000 }, /uploadDays must be a whole number of days from 1 to 36500/],
    [{ modelInputDays: 7 }, /modelInputDays \(7\) must be at least 14/],
  ])('refuses %j', (props, message) => {
    expect(() => resolveRetention(props)).toThrow(message);
  });
});
