/**
 * The AWS limits the local runner enforces, and the errors it fails with: the same names AWS uses, so a template's
 * Retry and Catch react to them locally as they would on AWS.
 */

/** Step Functions' maximum state input/output, execution input/output and child batch input: 256 KiB of UTF-8 JSON. */
export const STATE_PAYLOAD_LIMIT_BYTES = 262_144;

/** An Express execution (e.g. a Distributed Map child) stops after 5 minutes, retries included. */
export const EXPRESS_EXECUTION_LIMIT_MS = 300_000;

/**
 * The timeout given, in the runner's local copy only, to a Task the template leaves without one. AWS then has none to
 * speak of (99,999,999 s); the interpreter would apply 60 s. Node's timers cap a delay at about 24.8 days, hence this.
 */
export const NO_STATE_TIMEOUT_SECONDS = 2_000_000;

/** Lambda's default function timeout when a template gives none. */
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 3;

/** Lambda's default memory size when a template gives none. */
export const DEFAULT_FUNCTION_MEMORY_MB = 128;

/** Size as Step Functions counts it: the UTF-8 bytes of the JSON text. */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');
}

/**
 * A Step Functions runtime error that no Retry or Catch may match (not even States.ALL), which is how AWS treats
 * States.DataLimitExceeded. aws-local-stepfunctions reads `isRetryable`/`isCatchable` off any error a task throws.
 */
export class UncatchableStatesError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;

  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export function dataLimitExceeded(what: string, bytes: number): UncatchableStatesError {
  return new UncatchableStatesError(
    'States.DataLimitExceeded',
    `The ${what} is ${bytes} bytes, over the ${STATE_PAYLOAD_LIMIT_BYTES}-byte (256 KiB) limit of Step Functions`,
  );
}

/** Throws States.DataLimitExceeded when `value` is over the payload limit. */
export function checkPayload(value: unknown, what: string): void {
  const bytes = payloadBytes(value);
  if (bytes > STATE_PAYLOAD_LIMIT_BYTES) throw dataLimitExceeded(what, bytes);
}

/** A Lambda function that ran past its timeout: the error a Task sees (Retry/Catch on States.TaskFailed match it). */
export function sandboxTimedOut(functionName: string, timeoutSeconds: number): Error {
  const error = new Error(`${functionName}: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`);
  error.name = 'Sandbox.Timedout';
  return error;
}

/** An execution that ran past its time limit (an Express child after 5 minutes, or the definition's TimeoutSeconds). */
export function executionTimedOut(what: string, limitMs: number): Error {
  const error = new Error(`${what} timed out after ${limitMs} ms`);
  error.name = 'States.Timeout';
  return error;
}
