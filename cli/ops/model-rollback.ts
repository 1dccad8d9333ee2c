/**
 * Emergency model rollback: moves a SageMaker endpoint to the endpoint config of another listed model version with
 * one UpdateEndpoint call, without a CloudFormation deploy. The config already exists (the `HuggingFaceEndpoint`
 * construct keeps one retained config per listed version), so this is as fast as SageMaker can switch fleets.
 *
 * Config names end in a per-stack-creation suffix (lib/constructs/hugging-face-naming.ts), so the config is found by
 * its tags, not by a name worked out here: ListEndpointConfigs narrowed by the name's readable prefix
 * ({@link endpointConfigNamePrefix}), then ListTags on each candidate, keeping those tagged with this stack, construct
 * id and version, and with the stack id the endpoint itself is tagged with (a deleted stack of the same name may
 * have left configs with the same labels). Of several matches (a version whose content changed was replaced, and the
 * old config retained) the newest is the one the stack deployed last.
 *
 * The stack still says the old `activeVersion`, so the result names the prop to change: until it is changed and
 * deployed, a deploy that touches the endpoint moves it back, and the pipeline keeps recording the old version
 * (its CATEGORY/POLICY_MODEL_VERSION settings come from the stack).
 *
 * Needs `sagemaker:DescribeEndpoint`, `sagemaker:ListEndpointConfigs`, `sagemaker:ListTags` and
 * `sagemaker:UpdateEndpoint` (plus `cloudwatch:DescribeAlarms` on the rollback alarms with `keepGuardrails`).
 */
import {
  DescribeEndpointCommand,
  ListEndpointConfigsCommand,
  ListTagsCommand,
  SageMakerClient,
  UpdateEndpointCommand,
  type DescribeEndpointCommandOutput,
  type EndpointConfigSummary,
} from '@aws-sdk/client-sagemaker';
import { VERSION_TAG_KEYS, endpointConfigNamePrefix } from '../../lib/constructs/hugging-face-endpoint';

/** Where the stack sets each endpoint's `activeVersion`. */
export const DEFAULT_STACK_FILE = 'lib/media-triage-stack.ts';

/** Statuses in which SageMaker refuses UpdateEndpoint (an operation is already running). */
const BUSY_STATUSES = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']);
const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export interface RollbackOptions {
  /** Physical name of the endpoint (the stack output, or the `EndpointName` of the construct's endpoint). */
  readonly endpointName: string;
  /** Version label to go back to; it must be listed in the construct's `versions` (and have been deployed). */
  readonly toVersion: string;
  /** CloudFormation stack name, e.g. `MediaTriage`. */
  readonly stackName: string;
  /** Construct id of the `HuggingFaceEndpoint`, e.g. `CategoryModel`. */
  readonly constructId: string;
  /** @default a client for the ambient region and credentials */
  readonly client?: SageMakerClient;
  /**
   * Run the update with the endpoint's deployment guardrails (`RetainDeploymentConfig: true`: blue/green with the
   * baking period and alarm-driven auto-rollback). Off by default: in an emergency the alarms are usually firing
   * because of the version being rolled back from, and SageMaker would roll the rollback back. Without it the update
   * is SageMaker's default (blue/green, all at once, no baking); the next deploy restores the guardrails.
   *
   * @default false
   */
  readonly keepGuardrails?: boolean;
  /** Wait until the endpoint is InService again (and fail if the update did not take). @default false */
  readonly wait?: boolean;
  /** @default 15000 */
  readonly pollIntervalMs?: number;
  /** @default 3600000 (1 h) */
  readonly timeoutMs?: number;
  /** File named in the instruction. @default 'lib/media-triage-stack.ts' */
  readonly stackFile?: string;
}

export interface RollbackResult {
  readonly endpointName: string;
  /** Config the endpoint was on. */
  readonly fromConfig: string;
  /** Config of `toVersion` (found by its tags; empty when the endpoint is already moving there and none was looked up). */
  readonly toConfig: string;
  readonly toVersion: string;
  /** Endpoint status after the call (`Updating` right after UpdateEndpoint; `InService` after `wait`). */
  readonly status: string;
  /** False when the endpoint was already on (or already moving to) `toConfig`: nothing was called. */
  readonly changed: boolean;
  /** `retained`: guardrails used; `skipped`: the endpoint has guardrails but they were not used; `none`: it has none. */
  readonly guardrails: 'retained' | 'skipped' | 'none';
  /** What to change in the stack so the next deploy does not undo the rollback. */
  readonly propToChange: string;
}

/** A rollback that could not be done; `message` is one line meant for the operator. */
export class RollbackError extends Error {
  override readonly name = 'RollbackError';
}

/** Moves `endpointName` to the endpoint config of `toVersion`. */
export async function rollbackModel(options: RollbackOptions): Promise<RollbackResult> {
  const { endpointName, toVersion, stackName, constructId } = options;
  for (const [name, value] of Object.entries({ endpointName, toVersion, stackName, constructId })) {
    if (typeof value !== 'string' || value.trim() === '') throw new RollbackError(`${name} is required.`);
  }
  if (!SAGEMAKER_NAME.test(endpointName)) {
    throw new RollbackError(`'${endpointName}' is not a SageMaker endpoint name (letters, digits and hyphens, at most 63).`);
  }
  const client = options.client ?? new SageMakerClient({});
  const propToChange = instructionFor(constructId, toVersion, options.stackFile ?? DEFAULT_STACK_FILE);

  const current = await describeEndpoint(client, endpointName);
  const stackId = current.EndpointArn === undefined ? undefined : (await tagsOf(client, current.EndpointArn))[VERSION_TAG_KEYS.stackId];
  const toConfig = await findVersionConfig(client, { stackName, constructId, toVersion, stackId });
  const fromConfig = current.EndpointConfigName ?? '';
  const status = current.EndpointStatus ?? 'Unknown';
  const pendingConfig = current.PendingDeploymentSummary?.EndpointConfigName;
  const guardrailsAvailable = current.LastDeploymentConfig !== undefined;
  const noop = (): RollbackResult => ({
    endpointName,
    fromConfig,
    toConfig,
    toVersion,
    status,
    changed: false,
    guardrails: guardrailsAvailable ? (options.keepGuardrails ? 'retained' : 'skipped') : 'none',
    propToChange,
  });

  if (BUSY_STATUSES.has(status)) {
    if (pendingConfig === toConfig || (pendingConfig === undefined && fromConfig === toConfig)) return noop();
    throw new RollbackError(
      `endpoint ${endpointName} is ${status}${pendingConfig ? ` (deploying ${pendingConfig})` : ''}; ` +
        'wait until it is InService and run the rollback again.',
    );
  }
  if (fromConfig === toConfig) return noop();

  const guardrails: RollbackResult['guardrails'] = guardrailsAvailable ? (options.keepGuardrails ? 'retained' : 'skipped') : 'none';
  await call('UpdateEndpoint', endpointName, () =>
    client.send(
      new UpdateEndpointCommand({
        EndpointName: endpointName,
        EndpointConfigName: toConfig,
        ...(guardrailsAvailable ? { RetainDeploymentConfig: options.keepGuardrails === true } : {}),
      }),
    ),
  );

  const after = options.wait
    ? await waitForUpdate(client, endpointName, toConfig, options.pollIntervalMs ?? 15_000, options.timeoutMs ?? 3_600_000)
    : await describeEndpoint(client, endpointName);
  return {
    endpointName,
    fromConfig,
    toConfig,
    toVersion,
    status: after.EndpointStatus ?? 'Unknown',
    changed: true,
    guardrails,
    propToChange,
  };
}

/** The sentence telling the operator which prop to change so the next deploy keeps the rollback. */
export function instructionFor(constructId: string, version: string, stackFile = DEFAULT_STACK_FILE): string {
  return (
    `Set activeVersion: '${version}' on the HuggingFaceEndpoint '${constructId}' in ${stackFile} ` +
    `(keep '${version}' in its versions) and deploy, so the next deploy does not undo this rollback.`
  );
}

/** Human-readable summary of a rollback. */
export function formatRollback(result: RollbackResult): string {
  const lines: string[] = [];
  if (!result.changed) {
    const moving = result.status !== 'InService' ? ` (${result.status})` : '';
    lines.push(`Endpoint ${result.endpointName} is already on version ${result.toVersion}${moving}: nothing to do.`);
    lines.push(`  config:  ${result.toConfig}`);
  } else {
    lines.push(`Endpoint ${result.endpointName} is rolling back to version ${result.toVersion}.`);
    lines.push(`  from config: ${result.fromConfig}`);
    lines.push(`  to config:   ${result.toConfig}`);
    lines.push(`  status:      ${result.status}`);
    lines.push(`  guardrails:  ${GUARDRAILS_TEXT[result.guardrails]}`);
  }
  lines.push('');
  lines.push(result.changed ? `Next: ${result.propToChange}` : `If the stack does not say so already: ${result.propToChange}`);
  if (result.changed) {
    lines.push(
      'Until then the pipeline keeps recording the model version the stack was deployed with, and a deploy that ' +
        'changes the endpoint moves it back to that version.',
    );
  }
  return lines.join('\n');
}

const GUARDRAILS_TEXT: Record<RollbackResult['guardrails'], string> = {
  retained: 'kept (blue/green with baking period and alarm rollback)',
  skipped: 'skipped for this update (all at once, no alarm rollback); the next deploy restores them',
  none: 'none on this endpoint (all at once)',
};

async function describeEndpoint(client: SageMakerClient, endpointName: string): Promise<DescribeEndpointCommandOutput> {
  try {
    return await client.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  } catch (error) {
    if (isNotFound(error)) {
      throw new RollbackError(`endpoint ${endpointName} not found in ${await regionOf(client)}: check the name and the region.`);
    }
    throw wrap('DescribeEndpoint', endpointName, error);
  }
}

interface ConfigQuery {
  readonly stackName: string;
  readonly constructId: string;
  readonly toVersion: string;
  /** The endpoint's `media-triage:stack-id` tag; undefined for an endpoint deployed before the tag existed. */
  readonly stackId: string | undefined;
}

/** The name of the newest endpoint config tagged with this stack (and stack id), construct id and version. */
async function findVersionConfig(client: SageMakerClient, query: ConfigQuery): Promise<string> {
  const prefix = endpointConfigNamePrefix(query.stackName, query.constructId, query.toVersion);
  const wanted: Record<string, string | undefined> = {
    [VERSION_TAG_KEYS.stack]: query.stackName,
    [VERSION_TAG_KEYS.construct]: query.constructId,
    [VERSION_TAG_KEYS.version]: query.toVersion,
    [VERSION_TAG_KEYS.stackId]: query.stackId,
  };
  const matches: EndpointConfigSummary[] = [];
  for (const candidate of await listConfigs(client, prefix)) {
    if (candidate.EndpointConfigArn === undefined || candidate.EndpointConfigName === undefined) continue;
    const tags = await tagsOf(client, candidate.EndpointConfigArn);
    if (Object.entries(wanted).every(([key, value]) => value === undefined || tags[key] === value)) matches.push(candidate);
  }
  const newest = matches.sort((a, b) => (b.CreationTime?.getTime() ?? 0) - (a.CreationTime?.getTime() ?? 0))[0];
  if (newest?.EndpointConfigName === undefined) {
    throw new RollbackError(
      `no endpoint config for version ${query.toVersion} of ${query.stackName}/${query.constructId} (looked for configs ` +
        `named ${prefix}… tagged ${VERSION_TAG_KEYS.version}=${query.toVersion}): list the version in the stack and deploy first.`,
    );
  }
  return newest.EndpointConfigName;
}

async function listConfigs(client: SageMakerClient, nameContains: string): Promise<EndpointConfigSummary[]> {
  const configs: EndpointConfigSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call('ListEndpointConfigs', nameContains, () =>
      client.send(new ListEndpointConfigsCommand({ NameContains: nameContains, NextToken: nextToken, MaxResults: 100 })),
    );
    configs.push(...(page.EndpointConfigs ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined && nextToken !== '');
  return configs;
}

async function tagsOf(client: SageMakerClient, resourceArn: string): Promise<Record<string, string>> {
  const tags: Record<string, string> = {};
  let nextToken: string | undefined;
  do {
    const page = await call('ListTags', resourceArn, () =>
      client.send(new ListTagsCommand({ ResourceArn: resourceArn, NextToken: nextToken, MaxResults: 100 })),
    );
    for (const tag of page.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
    nextToken = page.NextToken;
  } while (nextToken !== undefined && nextToken !== '');
  return tags;
}

async function waitForUpdate(
  client: SageMakerClient,
  endpointName: string,
  toConfig: string,
  pollIntervalMs: number,
  timeoutMs: number,
): Promise<DescribeEndpointCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const endpoint = await describeEndpoint(client, endpointName);
    const status = endpoint.EndpointStatus ?? 'Unknown';
    if (!BUSY_STATUSES.has(status)) {
      if (endpoint.EndpointConfigName !== toConfig) {
        const reason = endpoint.FailureReason ? `: ${oneLine(endpoint.FailureReason)}` : '';
        throw new RollbackError(`the update of ${endpointName} did not take (status ${status}, still on ${endpoint.EndpointConfigName})${reason}`);
      }
      return endpoint;
    }
    if (Date.now() + pollIntervalMs > deadline) {
      throw new RollbackError(`endpoint ${endpointName} is still ${status} after ${Math.round(timeoutMs / 1000)} s; check it in the console.`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}

async function call<T>(operation: string, subject: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw wrap(operation, subject, error);
  }
}

/** SageMaker answers a missing endpoint or config with a ValidationException "Could not find …". */
function isNotFound(error: unknown): boolean {
  const { name, message } = error as { name?: unknown; message?: unknown };
  return (name === 'ValidationException' && typeof message === 'string' && /could not find/i.test(message)) || name === 'ResourceNotFound';
}

function wrap(operation: string, subject: string, error: unknown): RollbackError {
  const { name, message } = error as { name?: unknown; message?: unknown };
  const detail = typeof message === 'string' && message !== '' ? message : String(error);
  const code = typeof name === 'string' && name !== 'Error' ? `${name}: ` : '';
  return new RollbackError(`SageMaker ${operation} (${subject}) failed: ${code}${oneLine(detail)}`);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

async function regionOf(client: SageMakerClient): Promise<string> {
  try {
    return `region ${await client.config.region()}`;
  } catch {
    return 'the configured region';
  }
}
