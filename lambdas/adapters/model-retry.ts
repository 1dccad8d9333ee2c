/**
 * Retries of one SageMaker endpoint call inside Classify, bounded by a deadline so Classify never runs into its
 * function timeout (a timed-out Classify would fail the whole child, and Step Functions does not retry it).
 *
 * Retried: errors that a later call can get past — `ModelError` (e.g. a cold serverless endpoint whose model
 * download passes the 60 s invocation limit: the container keeps loading and the next call finds it warm),
 * `ModelNotReadyException`, throttling and 5xx answers the SDK's own (adaptive) retries gave up on, and dropped
 * connections. Not retried: anything about the request itself (validation, access, a missing endpoint), which fails
 * the task as before.
 *
 * Schedule: exponential backoff with full jitter (a random wait up to `baseDelayMs × 2^(attempt-1)`, capped at
 * {@link MODEL_RETRY_MAX_DELAY_MS}), at most {@link MODEL_CALL_MAX_ATTEMPTS} attempts, and never past the deadline:
 * each attempt is aborted when the deadline comes, and no retry starts whose wait would end after it.
 */

/** Attempts per endpoint call, the first included. */
export const MODEL_CALL_MAX_ATTEMPTS = 5;
/** Longest single backoff wait. */
export const MODEL_RETRY_MAX_DELAY_MS = 8_000;

export interface ModelCallBudget {
  /** Epoch ms by which every attempt and wait must be over. */
  readonly deadline: number;
  /** First backoff wait's upper bound, in ms. */
  readonly baseDelayMs: number;
  /** Told about every attempt that got an answer or an error (Classify turns these into metrics). */
  readonly onAttempt?: (attempt: { attempt: number; durationMs: number; ok: boolean }) => void;
}

/** The endpoint call failed on every attempt, or the deadline came first. */
export class ModelCallGaveUpError extends Error {
  constructor(
    readonly endpointName: string,
    readonly attempts: number,
    readonly lastError: string,
    readonly outOfTime: boolean,
  ) {
    super(
      attempts === 0
        ? `endpoint ${endpointName} was not called: Classify's model-call time budget had run out`
        : `endpoint ${endpointName} failed ${attempts} attempt${attempts === 1 ? '' : 's'}` +
            `${outOfTime ? ' before Classify\'s model-call time budget ran out' : ''}; last error: ${lastError}`,
    );
    this.name = 'ModelCallGaveUpError';
  }
}

const RETRYABLE_NAMES = new Set([
  'ModelError',
  'ModelNotReadyException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'InternalFailure',
  'InternalDependencyException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);
const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether a later call could succeed where this one failed. */
export function isRetryableModelFailure(error: unknown): boolean {
  const { name, code, $metadata } = (error ?? {}) as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof name === 'string' && RETRYABLE_NAMES.has(name)) return true;
  if (typeof code === 'string' && RETRYABLE_NETWORK_CODES.has(code)) return true;
  const status = $metadata?.httpStatusCode;
  return status === 429 || (status !== undefined && status >= 500);
}

/** Full-jitter wait before attempt `attempt + 1` (attempt ≥ 1). */
export function backoffMs(attempt: number, baseDelayMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(MODEL_RETRY_MAX_DELAY_MS, baseDelayMs * 2 ** (attempt - 1)));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `call` until it succeeds, fails with an error that is not retryable (rethrown), or the attempts or the budget
 * run out ({@link ModelCallGaveUpError}). `call` gets a signal that aborts at the deadline; pass it to the SDK.
 */
export async function withModelRetries<T>(
  endpointName: string,
  budget: ModelCallBudget,
  call: (abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  let lastError = '';
  for (let attempt = 1; ; attempt += 1) {
    const remaining = budget.deadline - Date.now();
    if (remaining <= 0) throw new ModelCallGaveUpError(endpointName, attempt - 1, lastError, true);
    const startedAt = Date.now();
    try {
      const result = await call(AbortSignal.timeout(remaining));
      budget.onAttempt?.({ attempt, durationMs: Date.now() - startedAt, ok: true });
      return result;
    } catch (error) {
      budget.onAttempt?.({ attempt, durationMs: Date.now() - startedAt, ok: false });
      const aborted = (error as { name?: unknown }).name === 'AbortError' || Date.now() >= budget.deadline;
      if (!aborted && !isRetryableModelFailure(error)) throw error;
      lastError = describe(error);
      if (aborted) throw new ModelCallGaveUpError(endpointName, attempt, lastError, true);
      if (attempt >= MODEL_CALL_MAX_ATTEMPTS) throw new ModelCallGaveUpError(endpointName, attempt, lastError, false);
      const wait = backoffMs(attempt, budget.baseDelayMs);
      if (Date.now() + wait >= budget.deadline) throw new ModelCallGaveUpError(endpointName, attempt, lastError, true);
      await sleep(wait);
    }
  }
}

function describe(error: unknown): string {
  const { name, message } = error as { name?: unknown; message?: unknown };
  const text = typeof message === 'string' && message !== '' ? message : String(error);
  return (typeof name === 'string' && name !== 'Error' ? `${name}: ${text}` : text).replace(/\s+/g, ' ').trim();
}
