/**
 * The concurrency guard across executions: at most N model calls in flight per endpoint, whatever number of batches
 * (state machine executions) and map children run at once. A Distributed Map's MaxConcurrency bounds one execution
 * only, and Step Functions has no limit across executions, so several batches arriving together would otherwise
 * multiply the calls and a serverless endpoint would throttle (its MaxConcurrency) or, worse, the account's shared
 * serverless concurrency would be exhausted.
 *
 * A counting semaphore in the records table, one item per slot: `pk = SEMAPHORE#<endpoint>`, `sk = SLOT#<i>` for
 * i < N, holding the holder's id and a lease expiry. Taking a slot is a conditional put (free, or its lease expired:
 * a holder that crashed frees its slot when the lease runs out); releasing is a delete conditioned on being the
 * holder. One slot is held per call attempt — not across the backoff between attempts — and the lease outlasts the
 * attempt's own time limit. Cost: two small writes per model call. N comes from the template (the endpoint's
 * serverless MaxConcurrency), so the guard and the endpoint cannot disagree.
 */
import { randomUUID } from 'node:crypto';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from './aws-clients';
import { MODEL_ATTEMPT_TIMEOUT_MS } from './model-retry';

/** A slot's lease: one attempt's time limit plus slack for the release after it. */
export const SLOT_LEASE_MS = MODEL_ATTEMPT_TIMEOUT_MS + 5_000;
/** Longest wait between two rounds of trying every slot (full jitter below it). */
const MAX_WAIT_MS = 500;

export const semaphorePk = (endpointName: string): string => `SEMAPHORE#${endpointName}`;

export interface SlotRequest {
  tableName: string;
  endpointName: string;
  /** Slots of this endpoint (calls in flight at most). */
  limit: number;
  /** Aborts the wait (the attempt's time limit or the invocation's deadline). */
  signal: AbortSignal;
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown }).name === 'ConditionalCheckFailedException';
}

async function tryTake(request: SlotRequest, slot: number, holder: string): Promise<boolean> {
  const now = Date.now();
  try {
    await documentClient().send(
      new PutCommand({
        TableName: request.tableName,
        Item: { pk: semaphorePk(request.endpointName), sk: `SLOT#${slot}`, recordType: 'SEMAPHORE', holder, expiresAt: now + SLOT_LEASE_MS },
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
        ExpressionAttributeValues: { ':now': now },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

async function release(request: SlotRequest, slot: number, holder: string): Promise<void> {
  try {
    await documentClient().send(
      new DeleteCommand({
        TableName: request.tableName,
        Key: { pk: semaphorePk(request.endpointName), sk: `SLOT#${slot}` },
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: { ':holder': holder },
      }),
    );
  } catch (error) {
    // Taken over after our lease ran out: the slot is someone else's now.
    if (!isConditionFailure(error)) throw error;
  }
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(
    new Error(`no free slot of the endpoint's concurrency guard before the attempt's time ran out (${String(signal.reason ?? 'aborted')})`),
    {
      name: 'AbortError',
    },
  );
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Runs `work` holding one of the endpoint's slots; waits (jittered) for a free one until the signal aborts. */
export async function withEndpointSlot<T>(request: SlotRequest, work: () => Promise<T>): Promise<T> {
  if (!Number.isInteger(request.limit) || request.limit < 1)
    throw new Error(`endpoint ${request.endpointName}: concurrency limit must be a positive integer, got ${request.limit}`);
  const holder = randomUUID();
  for (;;) {
    if (request.signal.aborted) throw abortError(request.signal);
    // Start at a random slot so concurrent callers do not all contend for slot 0.
    const first = Math.floor(Math.random() * request.limit);
    for (let offset = 0; offset < request.limit; offset += 1) {
      const slot = (first + offset) % request.limit;
      if (!(await tryTake(request, slot, holder))) continue;
      try {
        return await work();
      } finally {
        await release(request, slot, holder);
      }
    }
    await pause(Math.floor(Math.random() * MAX_WAIT_MS), request.signal);
  }
}
