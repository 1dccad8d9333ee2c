/**
 * A local stand-in for what a deployed stack does with an upload — EventBridge starting the state machine, and the
 * Step Functions API reading its executions — so the deployed-target paths of `submit`, `status --stack` and the
 * console's Batches page are tested against the local stand-ins through the same CloudFormation-output resolution.
 *
 * EventBridge part: fauxqs delivers no S3 notifications, so the stand-in watches the data bucket's `incoming/` prefix
 * (ListObjectsV2 every `pollMs`) and, for each object written after it started, runs the execution the template's
 * rule starts (`LocalSession.runUploaded`: the rule's pattern and input transformer, the real handlers). Executions
 * run one at a time, in upload order (the session's runner keeps one execution's events); objects the rule does not
 * match are ignored, as EventBridge ignores them.
 *
 * Step Functions part (the SDK's awsJson1_0 protocol: `POST /`, `X-Amz-Target: AWSStepFunctions.<Action>`, JSON
 * bodies, timestamps as epoch seconds): ListExecutions (newest first, `statusFilter`, `maxResults` + `nextToken`),
 * DescribeExecution, and GetExecutionHistory built from the local runner's events (`…StateEntered` with the state's
 * name, `TaskFailed` with a failed state's error and cause, `ExecutionFailed`/`ExecutionSucceeded`). Unlike AWS, the
 * history also holds the Distributed Map children's states (AWS keeps them in the child executions). An unknown
 * execution is `ExecutionDoesNotExist` (HTTP 400), as on AWS.
 *
 * Not to be confused with local/step-functions-standin.ts, the local session's own StartExecution endpoint (the
 * Nightly stage's re-drives): this one plays a whole deployed stack for the deployed-target tests.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './listen';
import type { LocalSession } from './local-session';
import type { ExecutionEvent } from './state-machine-runner';

type SessionPart = Pick<LocalSession, 'runUploaded' | 'dataBucket' | 'stack'>;

interface ExecutionEntry {
  executionArn: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  startDate: Date;
  stopDate?: Date;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  events: ExecutionEvent[];
}

export interface StepFunctionsStandIn {
  url: string;
  /** Executions started so far, newest first (tests inspect them). */
  executions(): ReadonlyArray<Readonly<ExecutionEntry>>;
  stop(): Promise<void>;
}

export interface StepFunctionsStandInOptions {
  /** How often the data bucket's incoming/ prefix is listed (default 100 ms). */
  pollMs?: number;
}

const INCOMING_PREFIX = 'incoming/';

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function reply(response: ServerResponse, status: number, payload: unknown): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
  response.end(JSON.stringify(payload));
}

function failure(response: ServerResponse, type: string, message: string): void {
  reply(response, 400, { __type: `com.amazonaws.swf.service.v2.model#${type}`, message });
}

const seconds = (date: Date | undefined): number | undefined => (date === undefined ? undefined : date.getTime() / 1000);

function summary(entry: ExecutionEntry, stateMachineArn: string): Record<string, unknown> {
  return {
    executionArn: entry.executionArn,
    stateMachineArn,
    name: entry.name,
    status: entry.status,
    startDate: seconds(entry.startDate),
    stopDate: seconds(entry.stopDate),
  };
}

/** Each state's Type by name, nested Map processors included (the history's event types name it). */
function stateTypes(definition: Record<string, unknown>, types = new Map<string, string>()): Map<string, string> {
  for (const [name, state] of Object.entries((definition['States'] ?? {}) as Record<string, Record<string, unknown>>)) {
    types.set(name, String(state['Type']));
    const processor = (state['ItemProcessor'] ?? state['Iterator']) as Record<string, unknown> | undefined;
    if (processor !== undefined) stateTypes(processor, types);
  }
  return types;
}

/**
 * The runner's events in the shape of AWS's history events (ids in order; see the module comment): `<Type>StateEntered`
 * per state, and a failed Task as `TaskFailed`. A Fail state only ends the execution (`ExecutionFailed`), as on AWS.
 */
function history(entry: ExecutionEntry, types: Map<string, string>): Array<Record<string, unknown>> {
  const events: Array<Record<string, unknown>> = [{ type: 'ExecutionStarted', executionStartedEventDetails: { input: entry.input } }];
  let current: string | undefined;
  for (const event of entry.events) {
    if (event.type === 'StateEntered' && event.state !== undefined) {
      current = types.get(event.state);
      events.push({ type: `${current ?? 'Task'}StateEntered`, stateEnteredEventDetails: { name: event.state } });
    } else if (event.type === 'StateFailed' && (current === 'Task' || current === 'Map')) {
      events.push({ type: 'TaskFailed', taskFailedEventDetails: { error: event.error, cause: event.cause } });
    }
  }
  if (entry.status === 'FAILED') events.push({ type: 'ExecutionFailed', executionFailedEventDetails: { error: entry.error, cause: entry.cause } });
  if (entry.status === 'SUCCEEDED') events.push({ type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: entry.output } });
  const start = entry.startDate.getTime() / 1000;
  return events.map((event, index) => ({ ...event, id: index + 1, previousEventId: index, timestamp: start }));
}

/** A page of `items` from an opaque `nextToken` (the index to start at). */
function page<T>(items: T[], maxResults: unknown, nextToken: unknown): { items: T[]; nextToken?: string } {
  const start = typeof nextToken === 'string' ? Number(nextToken) : 0;
  const size = typeof maxResults === 'number' && maxResults > 0 ? maxResults : 100;
  const end = start + size;
  return { items: items.slice(start, end), nextToken: end < items.length ? String(end) : undefined };
}

export async function startStepFunctionsStandIn(session: SessionPart, options: StepFunctionsStandInOptions = {}): Promise<StepFunctionsStandIn> {
  const stateMachineArn = session.stack.stateMachine.arn;
  const types = stateTypes(session.stack.stateMachine.definition);
  const entries: ExecutionEntry[] = [];
  const s3 = new S3Client({});
  const seen = new Map<string, string>();
  let queue: Promise<void> = Promise.resolve();
  let stopped = false;

  /** Object versions as a listing shows them (a re-upload of the same bytes has a new LastModified). */
  async function listIncoming(): Promise<Array<{ key: string; size: number; version: string }>> {
    const objects: Array<{ key: string; size: number; version: string }> = [];
    let token: string | undefined;
    do {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: session.dataBucket, Prefix: INCOMING_PREFIX, ContinuationToken: token }));
      for (const object of listed.Contents ?? [])
        objects.push({ key: object.Key!, size: object.Size ?? 0, version: `${object.ETag}@${object.LastModified?.toISOString()}` });
      token = listed.NextContinuationToken;
    } while (token !== undefined);
    return objects;
  }

  async function run(key: string, size: number): Promise<void> {
    let entry: ExecutionEntry | undefined;
    try {
      const result = await session.runUploaded(key, size, {
        onStart: ({ executionArn, input, startedAt }) => {
          entry = { executionArn, name: executionArn.split(':').pop()!, status: 'RUNNING', startDate: startedAt, input: JSON.stringify(input), events: [] };
          entries.unshift(entry);
        },
      });
      if (entry === undefined) return;
      Object.assign(entry, {
        status: result.status,
        stopDate: new Date(),
        output: result.output === undefined ? undefined : JSON.stringify(result.output),
        error: result.error,
        cause: result.cause,
        events: result.events,
      });
    } catch (error) {
      // No rule matched the object (EventBridge drops the event), or the run itself broke.
      if (entry !== undefined) Object.assign(entry, { status: 'FAILED', stopDate: new Date(), error: (error as Error).name, cause: (error as Error).message });
    }
  }

  async function poll(): Promise<void> {
    for (const object of await listIncoming()) {
      if (seen.get(object.key) === object.version) continue;
      seen.set(object.key, object.version);
      queue = queue.then(() => run(object.key, object.size));
    }
  }

  // What is there already was uploaded before this "EventBridge" existed.
  for (const object of await listIncoming()) seen.set(object.key, object.version);
  const pollMs = options.pollMs ?? 100;
  let polling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    polling = polling.then(() => (stopped ? undefined : poll().catch(() => undefined)));
  }, pollMs);

  const actions: Record<string, (request: Record<string, unknown>, response: ServerResponse) => void> = {
    ListExecutions(request, response) {
      if (request['stateMachineArn'] !== stateMachineArn)
        return failure(response, 'StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(request['stateMachineArn'])}'`);
      const filtered = entries.filter((entry) => request['statusFilter'] === undefined || entry.status === request['statusFilter']);
      const { items, nextToken } = page(filtered, request['maxResults'], request['nextToken']);
      reply(response, 200, { executions: items.map((entry) => summary(entry, stateMachineArn)), nextToken });
    },
    DescribeExecution(request, response) {
      const entry = entries.find((candidate) => candidate.executionArn === request['executionArn']);
      if (entry === undefined) return failure(response, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${String(request['executionArn'])}'`);
      reply(response, 200, { ...summary(entry, stateMachineArn), input: entry.input, output: entry.output, error: entry.error, cause: entry.cause });
    },
    GetExecutionHistory(request, response) {
      const entry = entries.find((candidate) => candidate.executionArn === request['executionArn']);
      if (entry === undefined) return failure(response, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${String(request['executionArn'])}'`);
      const events = history(entry, types);
      if (request['reverseOrder'] === true) events.reverse();
      const { items, nextToken } = page(events, request['maxResults'], request['nextToken']);
      reply(response, 200, { events: items, nextToken });
    },
  };

  const server = createServer((request, response) => {
    void body(request).then((raw) => {
      const action = String(request.headers['x-amz-target'] ?? '').replace(/^AWSStepFunctions\./, '');
      const handler = actions[action];
      if (request.method !== 'POST' || handler === undefined)
        return failure(response, 'UnknownOperationException', `the local Step Functions stand-in does not support ${action || request.method}`);
      handler(JSON.parse(raw === '' ? '{}' : raw) as Record<string, unknown>, response);
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    executions: () => entries,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await polling;
      // Executions still running are not waited for: like AWS's, they outlive whoever watched them (the session's
      // close abandons them).
      s3.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
