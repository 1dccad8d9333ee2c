/**
 * Names of the `HuggingFaceEndpoint` construct's resources: the physical endpoint and endpoint config names and the
 * tags that identify a version's config (pure, also used by the rollback CLI), construct-id suffixes and version
 * labels, and the validation of given names.
 */
import { createHash } from 'node:crypto';
import { Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { HuggingFaceModelSource } from './hugging-face-endpoint-props';
import { fail } from './hugging-face-validation';

const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** SageMaker resource names: at most 63 characters. */
const SAGEMAKER_NAME_MAX = 63;
const NAME_HASH_LENGTH = 8;

/** Tags the construct puts on every endpoint config (and the endpoint), so the rollback CLI can find a version's config. */
export const VERSION_TAG_KEYS = {
  /** The stack name. */
  stack: 'media-triage:stack',
  /** The `HuggingFaceEndpoint`'s construct id, e.g. `CategoryModel`. */
  construct: 'media-triage:construct',
  /** The version label (endpoint configs only). */
  version: 'media-triage:version',
  /** The stack's `AWS::StackId`: tells this stack's configs from those a deleted stack of the same name left behind. */
  stackId: 'media-triage:stack-id',
} as const;

/** Longest readable part of a config name: 63 minus `-` + 8 hex of content hash and `-` + 8 hex of the stack id. */
const CONFIG_PREFIX_MAX = SAGEMAKER_NAME_MAX - 2 * (NAME_HASH_LENGTH + 1);

/**
 * The readable start of a version's endpoint config name: `<stack>-<construct id>-<version>`, every run of characters
 * outside `[a-zA-Z0-9]` turned into one `-`, leading hyphens dropped, cut to 45 characters (trailing hyphens dropped).
 * Not unique on its own (labels that sanitize alike, long labels cut, leftovers of an earlier stack): the rollback CLI
 * only uses it to narrow ListEndpointConfigs (`NameContains`) and then decides by the config's tags.
 *
 * @example endpointConfigNamePrefix('MediaTriage', 'CategoryModel', 'v1') === 'MediaTriage-CategoryModel-v1'
 */
export function endpointConfigNamePrefix(stackName: string, constructId: string, version: string): string {
  const parts = literalParts('endpointConfigNamePrefix', { stackName, constructId, version });
  return readable(parts, CONFIG_PREFIX_MAX);
}

/**
 * Physical name of a version's endpoint config minus its per-stack suffix: {@link endpointConfigNamePrefix}, `-`, and
 * the first 8 hex digits of the SHA-256 of `JSON.stringify([stack, constructId, version, content])`, where `content`
 * is everything the config and its model are made of (image, environment, model data, compute, key). The construct
 * appends `-` and the first 8 hex digits of the stack's UUID (from `AWS::StackId`), so the full name is at most 63
 * characters and differs
 * - per version, even when two labels sanitize alike (`v1.0` / `v1_0`) or a long label is cut;
 * - when a version's content changes (CloudFormation must replace an immutable config, which it refuses to do under
 *   an unchanged custom name);
 * - per stack creation: configs retained from a deleted (or rolled-back) stack of the same name never collide with
 *   the ones a new create makes.
 */
export function endpointConfigNameStem(stackName: string, constructId: string, version: string, content: string): string {
  const parts = literalParts('endpointConfigNameStem', { stackName, constructId, version });
  const hash = createHash('sha256')
    .update(JSON.stringify([...parts, content]))
    .digest('hex')
    .slice(0, NAME_HASH_LENGTH);
  const prefix = readable(parts, CONFIG_PREFIX_MAX);
  return prefix === '' ? hash : `${prefix}-${hash}`;
}

/**
 * Physical endpoint name the construct gives an instance-mode endpoint when `endpointName` is not set:
 * `<stack>-<construct id>`, sanitized as in {@link endpointConfigNamePrefix} (cut to 54 characters), then `-` and the
 * first 8 hex digits of the SHA-256 of `JSON.stringify([stack, constructId])`. (The CloudWatch alarms that gate its
 * deployments need the name before the endpoint exists; the endpoint is not retained, so a fixed name cannot collide
 * with a leftover.)
 */
export function endpointNameFor(stackName: string, constructId: string): string {
  return hashedName('endpointNameFor', { stackName, constructId });
}

function hashedName(fn: string, parts: Record<string, string>): string {
  const values = literalParts(fn, parts);
  const hash = createHash('sha256').update(JSON.stringify(values)).digest('hex').slice(0, NAME_HASH_LENGTH);
  const prefix = readable(values, SAGEMAKER_NAME_MAX - NAME_HASH_LENGTH - 1);
  return prefix === '' ? hash : `${prefix}-${hash}`;
}

function literalParts(fn: string, parts: Record<string, string>): string[] {
  for (const [name, value] of Object.entries(parts)) {
    if (value.trim() === '') throw new Error(`${fn}: ${name} must not be empty.`);
    if (Token.isUnresolved(value)) throw new Error(`${fn}: ${name} must be a literal string, got a token.`);
  }
  return Object.values(parts);
}

function readable(values: readonly string[], max: number): string {
  return values
    .join('-')
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
}

export function validateVariantName(scope: Construct, name: string): string {
  if (!SAGEMAKER_NAME.test(name)) {
    fail(scope, `variantName must be 1-63 letters, digits or hyphens (not first or last), got '${name}'.`);
  }
  return name;
}

export function validateEndpointName(scope: Construct, name: string | undefined): string | undefined {
  if (name !== undefined && !Token.isUnresolved(name) && !SAGEMAKER_NAME.test(name)) {
    fail(scope, `endpointName must be 1-63 letters, digits or hyphens (not first or last), got '${name}'.`);
  }
  return name;
}

export function validateVersionLabel(scope: Construct, version: string, what: string): string {
  if (Token.isUnresolved(version)) {
    fail(scope, `${what} must be a literal string (it names the model and endpoint config), got a token.`);
  }
  if (!/^[\w.+/-]{1,128}$/.test(version)) {
    fail(scope, `${what} must be 1-128 letters, digits or . _ - + /, got '${version}'.`);
  }
  return version;
}

/** Label of a single `model` when `modelVersion` is not given. */
export function defaultVersionLabel(source: HuggingFaceModelSource): string {
  return source.kind === 's3' ? source.version : source.revision.trim();
}

/** Construct-id suffix of a version (ids cannot contain '/'); unchanged from the single-version construct. */
export function constructIdSuffix(version: string): string {
  return version.replace(/\//g, '-');
}
