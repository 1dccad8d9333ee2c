/**
 * Step Functions executions of a deployed stack's state machine, as `submit`, `status` and the console's Batches page
 * read them: which execution an upload started, its state, and — when it failed — the state that failed and why.
 *
 * An upload under `incoming/` starts its execution through EventBridge, which names no execution and returns
 * nothing to the uploader. The execution is found by its input instead: the rule's input transformer gives
 * `{bucket, key, receivedAt}`, so the newest execution started after the object was written whose input names this
 * object is the one. S3 and Step Functions clocks are both AWS's, so "after" needs no local clock; the object's
 * LastModified has one-second resolution, hence the second of slack. PrepareBatch also stores the execution's ARN on
 * the batch record (`executionArn`), which is how `status` finds it later.
 */
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';

/** The state of one execution (`status --json` → `execution`, `submit` errors). */
export interface ExecutionState {
  executionArn: string;
  /** RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE. */
  status: string;
  startedAt: string | null;
  stoppedAt: string | null;
  /** The execution's own error and cause (e.g. the Fail state's `BatchFailed`); null unless it failed. */
  error: string | null;
  cause: string | null;
  /** The last state that failed inside it (a task's error after its retries), when the history names one. */
  failedState: { state: string; error: string | null; cause: string | null } | null;
}

export const STOPPED_UNSUCCESSFULLY = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

let client: SFNClient | undefined;

/** One client per process; the SDK reads region, credentials and `AWS_ENDPOINT_URL_SFN` from the environment. */
function sfn(): SFNClient {
  client ??= new SFNClient({});
  return client;
}

/** Forgets the client (after the target changed AWS_REGION). */
export function resetExecutionsClient(): void {
  client?.destroy();
  client = undefined;
}

function iso(date: Date | undefined): string | null {
  return date === undefined ? null : date.toISOString();
}

/** S3 event keys may be URL-encoded (`red+flower.zip`): compare both forms, as PrepareBatch does. */
function sameKey(eventKey: string, key: string): boolean {
  if (eventKey === key) return true;
  try {
    return decodeURIComponent(eventKey.replace(/\+/g, ' ')) === key;
  } catch {
    return false;
  }
}

/**
 * The execution started for `s3://bucket/key` no earlier than `writtenAt` (the object's LastModified), or undefined
 * when none has started yet. `checked` remembers executions already ruled out, across polls.
 */
export async function findExecutionFor(
  stateMachineArn: string,
  object: { bucket: string; key: string; writtenAt: Date },
  checked: Set<string> = new Set(),
): Promise<string | undefined> {
  const earliest = object.writtenAt.getTime() - 1000;
  let nextToken: string | undefined;
  do {
    const page = await sfn().send(new ListExecutionsCommand({ stateMachineArn, maxResults: 50, nextToken }));
    for (const execution of page.executions ?? []) {
      // Newest first: past the upload's time nothing further down can be ours.
      if ((execution.startDate?.getTime() ?? 0) < earliest) return undefined;
      const arn = execution.executionArn!;
      if (checked.has(arn)) continue;
      const described = await sfn().send(new DescribeExecutionCommand({ executionArn: arn }));
      checked.add(arn);
      const input = parseJson(described.input) as { bucket?: unknown; key?: unknown } | undefined;
      if (input?.bucket === object.bucket && typeof input.key === 'string' && sameKey(input.key, object.key)) return arn;
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return undefined;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** DescribeExecution plus its output (parsed), and the failed state's error from the history when it failed. */
export async function describeExecution(executionArn: string): Promise<{ state: ExecutionState; output: unknown }> {
  const described = await sfn().send(new DescribeExecutionCommand({ executionArn }));
  const status = described.status ?? 'RUNNING';
  const state: ExecutionState = {
    executionArn,
    status,
    startedAt: iso(described.startDate),
    stoppedAt: iso(described.stopDate),
    error: described.error ?? null,
    cause: described.cause ?? null,
    failedState: STOPPED_UNSUCCESSFULLY.has(status) ? await lastFailedState(executionArn) : null,
  };
  return { state, output: parseJson(described.output) };
}

/** Event types whose details carry the error of a state that failed (not the execution's own end). */
const FAILURE_DETAILS: Array<keyof HistoryEvent> = [
  'taskFailedEventDetails',
  'lambdaFunctionFailedEventDetails',
  'taskTimedOutEventDetails',
  'lambdaFunctionTimedOutEventDetails',
  'mapRunFailedEventDetails',
];

/**
 * The newest failure of a state in the execution's history, with the name of the state it happened in (the last
 * `…StateEntered` before it). The history is read newest first and only as far as that failure.
 */
export async function lastFailedState(executionArn: string): Promise<ExecutionState['failedState']> {
  let failure: { error: string | null; cause: string | null } | undefined;
  let nextToken: string | undefined;
  do {
    const page = await sfn().send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 200, nextToken, includeExecutionData: true }));
    for (const event of page.events ?? []) {
      if (failure === undefined) {
        const details = FAILURE_DETAILS.map((field) => event[field] as { error?: string; cause?: string } | undefined).find((found) => found !== undefined);
        if (details !== undefined) failure = { error: details.error ?? null, cause: details.cause ?? null };
      } else if (event.stateEnteredEventDetails?.name !== undefined) {
        return { state: event.stateEnteredEventDetails.name, ...failure };
      }
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return failure === undefined ? null : { state: '?', ...failure };
}

/** "execution X FAILED in state Report: ResourceNotFoundException: …" */
export function describeFailure(state: ExecutionState): string {
  const where =
    state.failedState === null
      ? ''
      : ` in state ${state.failedState.state}: ${[state.failedState.error, state.failedState.cause].filter((part) => part !== null).join(': ')}`;
  const own = [state.error, state.cause].filter((part) => part !== null).join(': ');
  return `execution ${state.executionArn} ${state.status}${where}${own === '' ? '' : ` (${own})`}`;
}
