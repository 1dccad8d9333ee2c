/**
 * What a stage records about an AWS call that still failed after the SDK's retries (standard mode: up to
 * AWS_MAX_ATTEMPTS attempts, default 3, exponential backoff with jitter; throttling — S3 `SlowDown`, DynamoDB
 * `ProvisionedThroughputExceededException`/`ThrottlingException` — and 5xx answers and dropped connections are
 * retried, errors about the request are not): the error's code and a one-line message, so the asset can be recorded
 * FAILED with it and the batch record can count failures per code.
 */

export interface ErrorSummary {
  code: string;
  message: string;
}

export function summarizeError(error: unknown, doing: string): ErrorSummary {
  const { name, code, message } = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  const errorCode = typeof name === 'string' && name !== '' && name !== 'Error' ? name : typeof code === 'string' ? code : 'Error';
  const text = typeof message === 'string' && message !== '' ? message : String(error);
  return { code: errorCode, message: `${doing} failed: ${errorCode}: ${text}`.replace(/\s+/g, ' ').trim() };
}

/**
 * An error from an AWS call — a service answer (it carries `$metadata`/`$fault`) or a dropped connection — rather
 * than a bug: only those fail a single asset; anything else still fails the task at once.
 */
export function isAwsCallError(error: unknown): boolean {
  const { $metadata, $fault, code } = (error ?? {}) as { $metadata?: unknown; $fault?: unknown; code?: unknown };
  return $metadata !== undefined || $fault !== undefined || (typeof code === 'string' && /^E[A-Z]+$/.test(code));
}
