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
/**
 * Longest wait for one attempt: SageMaker ends an invocation at 60 s itself, so an answer still missing 5 s later
 * is a lost connection, and the attempt is aborted and retried (`ModelCallTimeout`) rather than left to eat the
 * whole budget of the invocation, and with it the other assets' calls.
 */
export const MODEL_ATTEMPT_TIMEOUT_MS = 65_000;

export interface ModelCallBudget {
  /** Epoch ms by which every attempt and wait must be over. */
  readonly deadline: number;
  /** First backoff wait's upper bound, in ms. */
  readonly baseDelayMs: number;
  /** Told about every attempt that got an answer or an error (Classify turns these into metrics). */
  readonly onAttempt?: (attempt: { attempt: number; durationMs: number; ok: boolean }) => void;
  /** One attempt's time limit (default {@link MODEL_ATTEMPT_TIMEOUT_MS}). */
  readonly attemptTimeoutMs?: number;
}

/** The endpoint call failed on every attempt, or the deadline came first. */
export class ModelCallGaveUpError extends Error {
  /**
   * The failure's code for records and counts: `ModelCallTimeout` when the deadline ended it (an attempt aborted,
   * or no time left for one), else the last error's name (`ThrottlingException`, `ModelError`, …).
   */
  readonly code: string;

  constructor(
    readonly endpointName: string,
    readonly attempts: number,
    readonly lastError: string,
    readonly outOfTime: boolean,
    lastErrorName = '',
  ) {
    super(
      attempts === 0
        ? `endpoint ${endpointName} was not called: Classify's model-call time budget had run out`
        : `endpoint ${endpointName} failed ${attempts} attempt${attempts === 1 ? '' : 's'}` +
            `${outOfTime ? " before Classify's model-call time budget ran out" : ''}; last error: ${lastError}`,
    );
    this.name = 'ModelCallGaveUpError';
    this.code = outOfTime ? 'ModelCallTimeout' : lastErrorName === '' || lastErrorName === 'Error' ? 'ModelCallFailed' : lastErrorName;
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
export async function withModelRetries<T>(endpointName: string, budget: ModelCallBudget, call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  let lastError = '';
  let lastName = '';
  for (let attempt = 1; ; attempt += 1) {
    const remaining = budget.deadline - Date.now();
    if (remaining <= 0) throw new ModelCallGaveUpError(endpointName, attempt - 1, lastError, true);
    const attemptMs = Math.min(remaining, budget.attemptTimeoutMs ?? MODEL_ATTEMPT_TIMEOUT_MS);
    const attemptStarted = Date.now();
    try {
      const result = await call(AbortSignal.timeout(attemptMs));
      budget.onAttempt?.({ attempt, durationMs: Date.now() - attemptStarted, ok: true });
      return result;
    } catch (error) {
      budget.onAttempt?.({ attempt, durationMs: Date.now() - attemptStarted, ok: false });
      const abortedByDeadline = Date.now() >= budget.deadline;
      const abortedAttempt = !abortedByDeadline && isAbort(error) && Date.now() - attemptStarted >= attemptMs;
      const aborted = abortedByDeadline || (isAbort(error) && !abortedAttempt);
      if (!aborted && !abortedAttempt && !isRetryableModelFailure(error)) throw error;
      lastError = abortedAttempt ? `no answer within ${attemptMs} ms (attempt aborted)` : describe(error);
      lastName = abortedAttempt ? 'ModelCallTimeout' : String((error as { name?: unknown }).name ?? '');
      if (aborted) throw new ModelCallGaveUpError(endpointName, attempt, lastError, true, lastName);
      if (attempt >= MODEL_CALL_MAX_ATTEMPTS) throw new ModelCallGaveUpError(endpointName, attempt, lastError, false, lastName);
      const wait = backoffMs(attempt, budget.baseDelayMs);
      if (Date.now() + wait >= budget.deadline) throw new ModelCallGaveUpError(endpointName, attempt, lastError, true, lastName);
      await sleep(wait);
    }
  }
}

function isAbort(error: unknown): boolean {
  const name = (error as { name?: unknown }).name;
  return name === 'AbortError' || (name === 'TimeoutError' && (error as { code?: unknown }).code === 23);
}

function describe(error: unknown): string {
  const { name, message } = error as { name?: unknown; message?: unknown };
  const text = typeof message === 'string' && message !== '' ? message : String(error);
  return (typeof name === 'string' && name !== 'Error' ? `${name}: ${text}` : text).replace(/\s+/g, ' ').trim();
}
