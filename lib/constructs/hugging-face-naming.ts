/**
 * Names of the `HuggingFaceEndpoint` construct's resources: the physical endpoint and endpoint config names (pure, also
 * used by the rollback CLI), construct-id suffixes and version labels, and the validation of given names.
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

/**
 * Physical name of the endpoint config of one model version: `<stack>-<construct id>-<version>`, every run of
 * characters outside `[a-zA-Z0-9]` turned into one `-`, leading hyphens dropped, cut to 54 characters (trailing
 * hyphens dropped), then `-` and the first 8 hex digits of the SHA-256 of `JSON.stringify([stack, constructId,
 * version])`. At most 63 characters, SageMaker's name pattern, and unique per (stack, construct id, version) even
 * when two labels sanitize alike (`v1.0` / `v1_0`) or a long label is cut.
 *
 * Pure: the construct names its configs with it, and the rollback CLI (`lib/ops/model-rollback.ts`) finds a
 * version's config with it.
 *
 * @example endpointConfigNameFor('MediaTriage', 'CategoryModel', 'v1') === 'MediaTriage-CategoryModel-v1-865f87e2'
 */
export function endpointConfigNameFor(stackName: string, constructId: string, version: string): string {
  return hashedName('endpointConfigNameFor', { stackName, constructId, version });
}

/**
 * Physical endpoint name the construct gives an instance-mode endpoint when `endpointName` is not set:
 * `<stack>-<construct id>` sanitized and hashed by the same rule as {@link endpointConfigNameFor}. (The CloudWatch
 * alarms that gate its deployments need the name before the endpoint exists.)
 */
export function endpointNameFor(stackName: string, constructId: string): string {
  return hashedName('endpointNameFor', { stackName, constructId });
}

function hashedName(fn: string, parts: Record<string, string>): string {
  for (const [name, value] of Object.entries(parts)) {
    if (value.trim() === '') throw new Error(`${fn}: ${name} must not be empty.`);
    if (Token.isUnresolved(value)) throw new Error(`${fn}: ${name} must be a literal string, got a token.`);
  }
  const values = Object.values(parts);
  const hash = createHash('sha256').update(JSON.stringify(values)).digest('hex').slice(0, NAME_HASH_LENGTH);
  const readable = values
    .join('-')
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, SAGEMAKER_NAME_MAX - NAME_HASH_LENGTH - 1)
    .replace(/-+$/, '');
  return readable === '' ? hash : `${readable}-${hash}`;
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
