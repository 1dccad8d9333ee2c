/**
 * The model rollback command against the local SageMaker control-plane stand-in, through the real SageMakerClient
 * (no client mocks): the same JSON 1.1 requests, error shapes and status transitions the service uses.
 */
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HuggingFaceEndpoint, endpointNameFor, type ModelVersion } from '../../lib/constructs/hugging-face-endpoint';
import { startControlPlaneStandIn, type ControlPlaneStandIn, type ControlPlaneStandInOptions } from '../../local/sagemaker/control-plane-standin';
import { formatRollback, instructionFor, rollbackModel, RollbackError } from '../../cli/ops/model-rollback';
import { deployedSageMaker, stackIdOf } from './deployed-configs';

const STACK = 'MediaTriage';
const CATEGORY = 'CategoryModel';
const ENDPOINT = 'CategoryModelEndpoint-AbC123';
const INSTANCE_ENDPOINT = endpointNameFor(STACK, 'PolicyModel');

/** The construct's real template: a serverless endpoint with v1, v2 and v10 (v1 is a prefix of v10), an instance one. */
function synthesized(): { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> } {
  const stack = new Stack(new App(), STACK, { env: { account: '000000000000', region: 'us-east-1' } });
  const hub = (revision: string): ModelVersion['model'] => ({ modelId: 'openai/clip-vit-base-patch32', revision });
  new HuggingFaceEndpoint(stack, CATEGORY, {
    task: 'zero-shot-image-classification',
    versions: [
      { version: 'v1', model: hub('a'.repeat(40)) },
      { version: 'v2', model: hub('b'.repeat(40)) },
      { version: 'v10', model: hub('c'.repeat(40)) },
    ],
    activeVersion: 'v2',
  });
  new HuggingFaceEndpoint(stack, 'PolicyModel', {
    task: 'image-classification',
    versions: [
      { version: 'v1', model: { modelId: 'Falconsai/nsfw_image_detection', revision: 'd'.repeat(40) } },
      { version: 'v2', model: { modelId: 'Falconsai/nsfw_image_detection', revision: 'e'.repeat(40) } },
    ],
    compute: { mode: 'instance', instanceType: 'ml.m5.xlarge' },
  });
  return Template.fromStack(stack).toJSON() as ReturnType<typeof synthesized>;
}

const TEMPLATE = synthesized();
// This stack's create, and a stack of the same name that was deleted earlier and left its retained configs behind:
// same names up to the creation suffix, same stack/construct/version tags, another stack id.
const CURRENT = deployedSageMaker(TEMPLATE, stackIdOf(STACK, '5a1e2b3c-0000-4000-8000-000000000001'), 60_000);
const LEFTOVER = deployedSageMaker(TEMPLATE, stackIdOf(STACK, '0ddba11a-0000-4000-8000-000000000002'));
const V1 = CURRENT.byVersion[CATEGORY]!['v1']!;
const V2 = CURRENT.byVersion[CATEGORY]!['v2']!;
const P1 = CURRENT.byVersion['PolicyModel']!['v1']!;
const P2 = CURRENT.byVersion['PolicyModel']!['v2']!;
const GUARDRAILS = {
  BlueGreenUpdatePolicy: {
    TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 600 },
    TerminationWaitInSeconds: 300,
    MaximumExecutionTimeoutInSeconds: 3600,
  },
  AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'errors' }, { AlarmName: 'latency' }] },
};

const seeds: ControlPlaneStandInOptions = {
  // The leftovers are seeded as the newest configs, so picking this stack's config cannot rest on creation times.
  endpointConfigs: [...CURRENT.configs, ...LEFTOVER.configs],
  endpoints: [
    { name: ENDPOINT, configName: V2, tags: CURRENT.endpointTags[CATEGORY] },
    { name: INSTANCE_ENDPOINT, configName: P2, lastDeploymentConfig: GUARDRAILS, tags: CURRENT.endpointTags['PolicyModel'] },
  ],
};

const started: ControlPlaneStandIn[] = [];
async function standIn(options: ControlPlaneStandInOptions = seeds): Promise<{ plane: ControlPlaneStandIn; client: SageMakerClient }> {
  const plane = await startControlPlaneStandIn(options);
  started.push(plane);
  const client = new SageMakerClient({
    endpoint: plane.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  });
  return { plane, client };
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((plane) => plane.stop()));
});

const rollback = (client: SageMakerClient, overrides: Partial<Parameters<typeof rollbackModel>[0]> = {}) =>
  rollbackModel({ endpointName: ENDPOINT, toVersion: 'v1', stackName: STACK, constructId: CATEGORY, client, ...overrides });

describe('the control-plane stand-in speaks the SDK protocol', () => {
  it('answers DescribeEndpoint with the epoch-second timestamps and status the SDK parses', async () => {
    const { plane, client } = await standIn();
    const described = await client.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }));
    expect(described).toMatchObject({ EndpointName: ENDPOINT, EndpointConfigName: V2, EndpointStatus: 'InService' });
    expect(described.CreationTime).toBeInstanceOf(Date);
    expect(described.ProductionVariants?.[0]?.VariantName).toBe('AllTraffic');
    expect(plane.requests).toEqual([{ operation: 'DescribeEndpoint', input: { EndpointName: ENDPOINT } }]);
  });

  it('raises a missing endpoint as the ValidationException SageMaker sends', async () => {
    const { client } = await standIn();
    await expect(client.send(new DescribeEndpointCommand({ EndpointName: 'nope' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/^Could not find endpoint "arn:aws:sagemaker:.*:endpoint\/nope"\.$/),
      $metadata: { httpStatusCode: 400 },
    });
  });
});

describe('the names and tags the construct deploys', () => {
  it('differ per stack creation, so a repeated create never meets a leftover name', () => {
    const current = CURRENT.configs.map((c) => c.name);
    const leftover = LEFTOVER.configs.map((c) => c.name);
    expect(new Set([...current, ...leftover]).size).toBe(current.length + leftover.length);
    for (const name of current) expect(name).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
    expect(V1).toMatch(/^MediaTriage-CategoryModel-v1-[0-9a-f]{8}-5a1e2b3c$/);
  });
});

describe('rollbackModel', () => {
  let shared: { plane: ControlPlaneStandIn; client: SageMakerClient };
  beforeAll(async () => {
    shared = await startControlPlaneStandIn(seeds).then((plane) => ({
      plane,
      client: new SageMakerClient({
        endpoint: plane.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
        maxAttempts: 1,
      }),
    }));
  });
  afterAll(async () => shared.plane.stop());

  it('rolls a serverless endpoint from v2 back to v1 with one UpdateEndpoint', async () => {
    const { plane, client } = await standIn();
    const result = await rollback(client);
    expect(result).toEqual({
      endpointName: ENDPOINT,
      fromConfig: V2,
      toConfig: V1,
      toVersion: 'v1',
      status: 'InService',
      changed: true,
      guardrails: 'none',
      propToChange: instructionFor(CATEGORY, 'v1'),
    });
    expect(plane.requests.map((r) => r.operation)).toEqual([
      'DescribeEndpoint',
      'ListTags', // the endpoint's stack id
      'ListEndpointConfigs',
      ...Array<string>(4).fill('ListTags'), // v1 and v10, of this stack and of the leftover one
      'UpdateEndpoint',
      'DescribeEndpoint',
    ]);
    expect(plane.requests[2]?.input).toEqual({ NameContains: 'MediaTriage-CategoryModel-v1', MaxResults: 100 });
    // No guardrails to retain on a serverless endpoint: RetainDeploymentConfig is not sent at all.
    expect(plane.requests.find((r) => r.operation === 'UpdateEndpoint')?.input).toEqual({ EndpointName: ENDPOINT, EndpointConfigName: V1 });
    expect(plane.endpoint(ENDPOINT)).toMatchObject({ configName: V1, status: 'InService' });
  });

  it('reports Updating right after the call, and InService on the new config with wait', async () => {
    const { plane, client } = await standIn({ ...seeds, updateDelayMs: 150 });
    const first = await rollback(client);
    expect(first.status).toBe('Updating');
    expect(plane.endpoint(ENDPOINT)).toMatchObject({ status: 'Updating', configName: V2, pendingConfigName: V1 });

    // Already moving to v1: a second run changes nothing.
    const again = await rollback(client);
    expect(again).toMatchObject({ changed: false, status: 'Updating' });

    // Back to v2, waiting for the endpoint to settle first.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const waited = await rollback(client, { toVersion: 'v2', wait: true, pollIntervalMs: 25 });
    expect(waited).toMatchObject({ fromConfig: V1, toConfig: V2, status: 'InService', changed: true });
    expect(plane.endpoint(ENDPOINT)).toMatchObject({ status: 'InService', configName: V2 });
  });

  it('is a no-op result, not an error, when the endpoint is already on that version', async () => {
    const result = await rollback(shared.client, { toVersion: 'v2' });
    expect(result).toMatchObject({ changed: false, fromConfig: V2, toConfig: V2, status: 'InService' });
    expect(shared.plane.requests.filter((r) => r.operation === 'UpdateEndpoint')).toEqual([]);
    expect(formatRollback(result)).toMatch(/already on version v2: nothing to do\.\n[\s\S]*If the stack does not say so already: Set activeVersion: 'v2'/);
  });

  it('fails clearly when the version has no endpoint config, without touching the endpoint', async () => {
    const error = await rollback(shared.client, { toVersion: 'v0' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RollbackError);
    expect((error as Error).message).toBe(
      'no endpoint config for version v0 of MediaTriage/CategoryModel (looked for configs named MediaTriage-CategoryModel-v0… ' +
        'tagged media-triage:version=v0): list the version in the stack and deploy first.',
    );
    expect(shared.plane.requests.filter((r) => r.operation === 'UpdateEndpoint')).toEqual([]);
    expect(shared.plane.endpoint(ENDPOINT)?.configName).toBe(V2);
  });

  it('fails clearly when the endpoint does not exist', async () => {
    await expect(rollback(shared.client, { endpointName: 'no-such-endpoint' })).rejects.toThrow(
      /^endpoint no-such-endpoint not found in region us-east-1: check the name and the region\.$/,
    );
    await expect(rollback(shared.client, { endpointName: 'bad name!' })).rejects.toThrow(/not a SageMaker endpoint name/);
    await expect(rollback(shared.client, { toVersion: ' ' })).rejects.toThrow(/toVersion is required/);
  });

  it('names the prop to change, the construct and the stack file', async () => {
    const { client } = await standIn();
    const result = await rollback(client);
    expect(result.propToChange).toContain("activeVersion: 'v1'");
    expect(result.propToChange).toContain("'CategoryModel'");
    expect(result.propToChange).toContain('lib/media-triage-stack.ts');
    const text = formatRollback(result);
    expect(text).toContain(`from config: ${V2}`);
    expect(text).toContain(`to config:   ${V1}`);
    expect(text).toContain("Next: Set activeVersion: 'v1' on the HuggingFaceEndpoint 'CategoryModel' in lib/media-triage-stack.ts");
  });

  it('on an endpoint with guardrails, skips them by default and retains them on request', async () => {
    const { plane, client } = await standIn();
    const skipped = await rollback(client, { endpointName: INSTANCE_ENDPOINT, constructId: 'PolicyModel' });
    expect(skipped).toMatchObject({ fromConfig: P2, toConfig: P1, guardrails: 'skipped' });
    expect(plane.requests.find((r) => r.operation === 'UpdateEndpoint')?.input).toEqual({
      EndpointName: INSTANCE_ENDPOINT,
      EndpointConfigName: P1,
      RetainDeploymentConfig: false,
    });
    expect(formatRollback(skipped)).toMatch(/guardrails: +skipped for this update/);

    const second = await standIn();
    const kept = await rollback(second.client, { endpointName: INSTANCE_ENDPOINT, constructId: 'PolicyModel', keepGuardrails: true });
    expect(kept.guardrails).toBe('retained');
    expect(second.plane.requests.find((r) => r.operation === 'UpdateEndpoint')?.input).toMatchObject({
      RetainDeploymentConfig: true,
    });
  });

  it('refuses while another update is running, and reports an update that did not take', async () => {
    const busy = await standIn({ ...seeds, updateDelayMs: 10_000 });
    await rollback(busy.client);
    await expect(rollback(busy.client, { toVersion: 'v2' })).rejects.toThrow(
      `endpoint ${ENDPOINT} is Updating (deploying ${V1}); wait until it is InService and run the rollback again.`,
    );

    const failing = await standIn({ ...seeds, updateOutcome: () => 'Model container failed the ping health check.' });
    await expect(rollback(failing.client, { wait: true, pollIntervalMs: 10 })).rejects.toThrow(
      `the update of ${ENDPOINT} did not take (status InService, still on ${V2}): Model container failed the ping health check.`,
    );
  });

  it('follows NextToken through ListEndpointConfigs and ListTags pages', async () => {
    const { plane, client } = await standIn({ ...seeds, maxPageSize: 1 });
    expect((await rollback(client)).toConfig).toBe(V1);
    // Four candidates (v1 and v10, this stack and the leftover), one per page.
    expect(plane.requests.filter((r) => r.operation === 'ListEndpointConfigs')).toHaveLength(4);
  });

  it('of several configs of the version in this stack (a replaced one was retained), takes the newest', async () => {
    // A deploy that changed v1's model replaced its config under a new name; the old one (V1) was retained.
    const replacement = CURRENT.configs
      .filter((config) => config.name === V1)
      .map((config) => ({ ...config, name: V1.replace(/-[0-9a-f]{8}-/, '-0123abcd-'), ageMs: 30_000 }));
    const { client } = await standIn({ ...seeds, endpointConfigs: [...seeds.endpointConfigs!, ...replacement] });
    expect((await rollback(client)).toConfig).toBe(replacement[0]!.name);
  });

  it('without a stack id on the endpoint (deployed before the tag), still keeps to this stack name, construct and version', async () => {
    const { client } = await standIn({ ...seeds, endpointConfigs: CURRENT.configs, endpoints: [{ name: ENDPOINT, configName: V2 }] });
    expect((await rollback(client)).toConfig).toBe(V1);
  });
});
