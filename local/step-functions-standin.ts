/**
 * The slice of the Step Functions API the Nightly stage calls: `StartExecution` (AWS JSON 1.0 over HTTP, on 127.0.0.1).
 * A Lambda sandbox's SDK client reaches it through AWS_ENDPOINT_URL_SFN, as a deployed function reaches Step Functions.
 *
 * Started executions are queued, not run at once: StartExecution only accepts the execution (as on AWS, where it runs
 * after the call returns), and the session runs the queue through the local state machine runner when the caller asks
 * (`LocalSession.runStartedExecutions`). Names behave as on a Standard state machine: the same name with the same input
 * returns the first execution's ARN, with another input ExecutionAlreadyExists.
 */
import { createServer, type ServerResponse } from 'node:http';
import { text } from 'node:stream/consumers';
import { listenOnLoopback } from './listen';

export interface StartedExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: unknown;
}

export interface StepFunctionsStandIn {
  url: string;
  /** Executions started since the last call, in order; they are handed over once. */
  takeStarted(): StartedExecution[];
  stop(): Promise<void>;
}

function reply(response: ServerResponse, status: number, body: Record<string, unknown>, errorType?: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.0' };
  if (errorType !== undefined) headers['x-amzn-errortype'] = errorType;
  response.writeHead(status, headers).end(JSON.stringify(errorType === undefined ? body : { __type: errorType, ...body }));
}

/** `stateMachineArns`: the machines that exist here; a start on any other is refused as AWS would refuse it. */
export async function startStepFunctionsStandIn(stateMachineArns: readonly string[]): Promise<StepFunctionsStandIn> {
  const byName = new Map<string, { arn: string; input: string }>();
  let started: StartedExecution[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const body = JSON.parse((await text(request)) || '{}') as { stateMachineArn?: string; name?: string; input?: string };
      if (target !== 'AWSStepFunctions.StartExecution') {
        reply(response, 400, { message: `the local Step Functions stand-in does not implement ${target}` }, 'UnknownOperationException');
        return;
      }
      const machine = body.stateMachineArn ?? '';
      if (!stateMachineArns.includes(machine)) {
        reply(response, 400, { message: `State Machine Does Not Exist: '${machine}'` }, 'StateMachineDoesNotExist');
        return;
      }
      const name = body.name ?? `local-${Date.now()}-${started.length}`;
      const input = body.input ?? '{}';
      const executionArn = `${machine.replace(':stateMachine:', ':execution:')}:${name}`;
      const known = byName.get(`${machine}|${name}`);
      if (known !== undefined) {
        if (known.input === input) reply(response, 200, { executionArn: known.arn, startDate: Date.now() / 1000 });
        else reply(response, 400, { message: `Execution Already Exists: '${known.arn}'` }, 'ExecutionAlreadyExists');
        return;
      }
      byName.set(`${machine}|${name}`, { arn: executionArn, input });
      started.push({ executionArn, stateMachineArn: machine, name, input: JSON.parse(input) as unknown });
      reply(response, 200, { executionArn, startDate: Date.now() / 1000 });
    })().catch((error: unknown) => reply(response, 500, { message: String(error) }, 'InternalFailure'));
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    takeStarted() {
      const taken = started;
      started = [];
      return taken;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
