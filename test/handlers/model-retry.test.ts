/**
 * The model-call retry policy on its own: which failures are retried, the jittered backoff bounds, the attempt cap
 * and the deadline (an attempt is aborted when it comes). The calls are plain functions standing in for the endpoint;
 * the pipeline test (test/e2e/pipeline.test.ts) runs the same retries against the SageMaker stand-in.
 */
import { describe, expect, it } from 'vitest';
import {
  MODEL_CALL_MAX_ATTEMPTS,
  MODEL_RETRY_MAX_DELAY_MS,
  ModelCallGaveUpError,
  backoffMs,
  isRetryableModelFailure,
  withModelRetries,
} from '../../lambdas/adapters/model-retry';

const failure = (name: string, httpStatusCode?: number): Error => Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode } });
const budget = (ms: number) => ({ deadline: Date.now() + ms, baseDelayMs: 1 });

describe('isRetryableModelFailure', () => {
  it.each(['ModelError', 'ModelNotReadyException', 'ServiceUnavailable', 'ThrottlingException', 'InternalFailure'])('retries %s', (name) => {
    expect(isRetryableModelFailure(failure(name))).toBe(true);
  });
  it('retries 429 and 5xx answers and dropped connections, whatever their name', () => {
    expect(isRetryableModelFailure(failure('Unknown', 429))).toBe(true);
    expect(isRetryableModelFailure(failure('Unknown', 503))).toBe(true);
    expect(isRetryableModelFailure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  });
  it('does not retry what is wrong with the request itself', () => {
    expect(isRetryableModelFailure(failure('ValidationError', 400))).toBe(false);
    expect(isRetryableModelFailure(failure('AccessDeniedException', 403))).toBe(false);
    expect(isRetryableModelFailure(new Error('bug'))).toBe(false);
  });
});

describe('backoffMs', () => {
  it('is a random wait up to base × 2^(attempt-1), capped', () => {
    expect(backoffMs(1, 500, () => 0.999)).toBe(499);
    expect(backoffMs(3, 500, () => 0.5)).toBe(1000);
    expect(backoffMs(30, 500, () => 0.999)).toBeLessThan(MODEL_RETRY_MAX_DELAY_MS);
    expect(backoffMs(4, 500, () => 0)).toBe(0);
  });
});

describe('withModelRetries', () => {
  it('returns the first answer after retryable failures', async () => {
    let calls = 0;
    const answer = await withModelRetries('ep', budget(60_000), () => {
      calls += 1;
      return calls < 3 ? Promise.reject(failure('ModelError', 424)) : Promise.resolve('labels');
    });
    expect(answer).toBe('labels');
    expect(calls).toBe(3);
  });

  it(`gives up after ${MODEL_CALL_MAX_ATTEMPTS} attempts, naming them and the last error`, async () => {
    let calls = 0;
    const error = await withModelRetries('ep', budget(60_000), () => {
      calls += 1;
      return Promise.reject(failure('ModelError', 424));
    }).catch((e: unknown) => e);
    expect(calls).toBe(MODEL_CALL_MAX_ATTEMPTS);
    expect(error).toBeInstanceOf(ModelCallGaveUpError);
    expect(error).toMatchObject({ attempts: MODEL_CALL_MAX_ATTEMPTS, outOfTime: false });
    expect((error as Error).message).toBe(`endpoint ep failed ${MODEL_CALL_MAX_ATTEMPTS} attempts; last error: ModelError: ModelError happened`);
  });

  it('rethrows a failure that is not retryable at once', async () => {
    let calls = 0;
    const denied = failure('AccessDeniedException', 403);
    await expect(withModelRetries('ep', budget(60_000), () => ((calls += 1), Promise.reject(denied)))).rejects.toBe(denied);
    expect(calls).toBe(1);
  });

  it('aborts an attempt still running at the deadline and gives up, out of time', async () => {
    const error = await withModelRetries(
      'ep',
      budget(50),
      (signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' })));
        }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ModelCallGaveUpError', attempts: 1, outOfTime: true });
    expect((error as Error).message).toMatch(/before Classify's model-call time budget ran out; last error: AbortError/);
  });

  it('does not call at all once the budget is spent', async () => {
    let calls = 0;
    const error = await withModelRetries('ep', { deadline: Date.now() - 1, baseDelayMs: 1 }, () => ((calls += 1), Promise.resolve(1))).catch((e: unknown) => e);
    expect(calls).toBe(0);
    expect((error as Error).message).toBe("endpoint ep was not called: Classify's model-call time budget had run out");
  });
});
