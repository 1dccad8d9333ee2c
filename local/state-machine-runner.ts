/**
 * Executes the synthesized state machine definition with aws-local-stepfunctions, every Lambda task mapped to the
 * real stage handler (found through the function's STAGE_NAME and the stage registry), run in that function's own
 * local sandbox (lambda-sandboxes.ts: a worker thread with the function's environment and timeout).
 *
 * AWS limits the interpreter does not know are enforced here, with AWS's error names: the 256 KiB payload limit on
 * state and execution inputs and outputs (States.DataLimitExceeded, which no Retry or Catch can route), each
 * function's timeout (Sandbox.Timedout) and a Task's own TimeoutSeconds (States.Timeout), and the 5-minute limit of
 * Express executions (States.Timeout).
 *
 * The Distributed Map adapter: the interpreter cannot run a DISTRIBUTED Map with an ItemReader, so in the runner's
 * local copy of the definition (the deployed ASL is untouched) each such Map becomes a Task whose local handler
 * does what the service does: reads the items from (local) S3 as the ItemReader says, batches them as the
 * ItemBatcher says (MaxItemsPerBatch, MaxInputBytesPerBatch, BatchInput), runs the Map's own ItemProcessor definition
 * in a nested interpreter per batch with at most MaxConcurrency at once, and fails with
 * States.ExceedToleratedFailureThreshold past the tolerated failures. The state keeps its ResultPath, Retry, Catch and
 * Next, so the surrounding flow is the template's.
 */
import './promise-with-resolvers';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './local-identity';
import { StateMachine } from 'aws-local-stepfunctions';
import { availableParallelism } from 'node:os';
import { mapWithConcurrency } from '../lambdas/core/concurrency';
import { selectPath } from './json-path';
import { EXPRESS_EXECUTION_LIMIT_MS, executionTimedOut, NO_STATE_TIMEOUT_SECONDS } from './aws-limits';
import { ExecutionGuard } from './execution-guard';
import { recordValidated, wasValidated } from './validated-definitions';
import { batchItems } from './item-batcher';
import { afterTask, beforeTask } from './kill-points';
import type { LocalFunction } from './template';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type StateDefinition = Record<string, unknown>;
type MachineDefinition = { StartAt: string; States: Record<string, StateDefinition>; [key: string]: unknown };
type Handler = (input: unknown) => Promise<unknown>;

export interface ExecutionEvent {
  type: string;
  state?: string;
  error?: string;
  cause?: string;
}

export interface LocalExecutionResult {
  /** The execution's ARN (`$$.Execution.Id` inside it), in the form AWS gives it. */
  executionArn: string;
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  /** The error name, as AWS reports it (e.g. `States.DataLimitExceeded`, or a Fail state's Error). */
  error?: string;
  cause?: string;
  /** States entered, failed, retried and caught, in order (nested map runs included). */
  events: ExecutionEvent[];
}

/** Runs a function's handler the way Lambda does (see LocalLambdaSandboxes). */
export interface LambdaInvoker {
  invoke(fn: LocalFunction, payload: unknown, options?: { concurrency?: number }): Promise<Json>;
}

export interface RunnerOptions {
  functions: LocalFunction[];
  lambdas: LambdaInvoker;
  /** Override retry waits (ms) so local failures do not sleep for the deployed backoff. */
  retryIntervalMs?: number;
  /** The time limit of an Express execution (default 300,000 ms, AWS's); tests lower it. */
  expressTimeoutMs?: number;
  /** Called after each child batch of a Distributed Map finishes (progress reporting). */
  onMapBatch?: (done: number, total: number, assets: number) => void;
  /** Aborts every execution, nested map runs included (Ctrl-C); work in flight is abandoned, not awaited. */
  signal?: AbortSignal;
  s3: S3Client;
}

export interface RunOptions {
  /** The template's StateMachineType: an EXPRESS machine gets the Express time limit too. */
  type?: 'STANDARD' | 'EXPRESS';
  /** The state machine's ARN: the execution's ARN and Context Object (`$$.Execution`, `$$.StateMachine`) derive from it. */
  stateMachineArn?: string;
  /** The execution's name (default: a new UUID, as StartExecution without a name gives). */
  executionName?: string;
}

/** `arn:aws:states:<region>:<account>:stateMachine:<name>` → `…:execution:<name>:<execution name>`, as AWS forms it. */
export function executionArnFor(stateMachineArn: string, executionName: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
}

interface ExecutionLimits {
  /** What the execution is, for error messages ("execution", "child execution 3 of \"ProcessAssets\""). */
  label: string;
  /** Ends the execution with States.Timeout after this long (Express executions). */
  timeoutMs?: number;
  /** How many invocations of one function this execution's tasks may run at once (sandbox pool size). */
  concurrency: number;
  /** The Context Object (`$$`) of a top-level execution; a child execution gets the interpreter's default. */
  context?: Record<string, unknown>;
}

/**
 * Sandboxes kept per function: as many as invocations can run at once (a Map's MaxConcurrency), but no more than
 * the machine's cores, since every extra worker costs a cold start and the cores are what the stages compete for.
 */
function sandboxConcurrency(maxConcurrency?: number): number {
  const cores = availableParallelism();
  return maxConcurrency === undefined || maxConcurrency <= 0 ? cores : Math.min(maxConcurrency, cores);
}

/** The interpreter wraps a state's error in ExecutionError (cause = the error); give back AWS's name and cause. */
function executionFailure(error: unknown, definition: MachineDefinition): Error {
  const wrapped = error as Error & { cause?: unknown };
  if (wrapped.name === 'ExecutionError' && wrapped.cause instanceof Error) {
    const failure = new Error(wrapped.cause.message);
    failure.name = wrapped.cause.name;
    return failure;
  }
  if (wrapped.name === 'ExecutionTimeoutError') return executionTimedOut('the execution', Number(definition['TimeoutSeconds']) * 1000);
  return wrapped;
}

export class LocalStateMachineRunner {
  private readonly functionsByArn: Map<string, LocalFunction>;
  private events: ExecutionEvent[] = [];

  constructor(private readonly options: RunnerOptions) {
    this.functionsByArn = new Map(options.functions.map((fn) => [fn.arn, fn]));
  }

  async run(definition: MachineDefinition, input: unknown, options: RunOptions = {}): Promise<LocalExecutionResult> {
    this.events = [];
    const stateMachineArn = options.stateMachineArn ?? `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:local`;
    const executionName = options.executionName ?? randomUUID();
    const executionArn = executionArnFor(stateMachineArn, executionName);
    const context = {
      Execution: {
        Id: executionArn,
        Name: executionName,
        Input: input,
        StartTime: new Date().toISOString(),
        RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/local`,
      },
      StateMachine: { Id: stateMachineArn, Name: stateMachineArn.split(':').pop() },
    };
    try {
      const timeoutMs = options.type === 'EXPRESS' ? this.expressTimeoutMs : undefined;
      const output = await this.execute(definition, input, { label: 'execution', timeoutMs, concurrency: sandboxConcurrency(), context });
      return { executionArn, status: 'SUCCEEDED', output, events: this.events };
    } catch (error) {
      const { name, message } = error as Error;
      return { executionArn, status: 'FAILED', error: name, cause: message, events: this.events };
    }
  }

  private get expressTimeoutMs(): number {
    return this.options.expressTimeoutMs ?? EXPRESS_EXECUTION_LIMIT_MS;
  }

  private async execute(definition: MachineDefinition, input: unknown, limits: ExecutionLimits): Promise<unknown> {
    this.options.signal?.throwIfAborted();
    const guard = new ExecutionGuard();
    guard.check(input, `input of the ${limits.label}`);
    const { local, handlers } = this.localDefinition(definition, guard, limits.concurrency);
    // The interpreter validates a definition with asl-validator, which compiles its JSON schemas on every call
    // (measured here: ~0.8 s of main-thread CPU each, i.e. per Map child): validate each distinct definition once,
    // across processes (validated-definitions.ts).
    const text = JSON.stringify(local);
    const machine = new StateMachine(local as never, { validationOptions: { checkPaths: true, checkArn: false, noValidate: wasValidated(text) } });
    recordValidated(text);
    const retryIntervalOverrides =
      this.options.retryIntervalMs === undefined ? undefined : Object.fromEntries(Object.keys(handlers).map((name) => [name, this.options.retryIntervalMs!]));
    const execution = machine.run(input as Json, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
      context: limits.context as never,
    });
    guard.attach(() => execution.abort());
    const timer =
      limits.timeoutMs === undefined ? undefined : setTimeout(() => guard.stop(executionTimedOut(`the ${limits.label}`, limits.timeoutMs!)), limits.timeoutMs);
    const abort = (): void => execution.abort();
    this.options.signal?.addEventListener('abort', abort, { once: true });
    const logging = (async () => {
      for await (const event of execution.eventLogs) {
        guard.observe(event as never);
        const e = event as { type: string; state?: { name?: string }; Error?: string; Cause?: string; error?: string; cause?: string };
        if (e.type === 'StateSucceeded' || e.type === 'StateExited') continue;
        this.events.push({ type: e.type, state: e.state?.name, error: e.Error ?? e.error, cause: e.Cause ?? e.cause });
      }
    })();
    let output: unknown;
    try {
      output = await execution.result;
    } catch (error) {
      throw guard.error ?? executionFailure(error, definition);
    } finally {
      this.options.signal?.removeEventListener('abort', abort);
      clearTimeout(timer);
      await logging.catch(() => undefined);
      const failure = guard.error;
      // The interpreter logged an abort, not why: say it, as AWS's history would.
      if (failure !== undefined && guard.stoppedExecution) this.events.push({ type: 'ExecutionFailed', error: failure.name, cause: failure.message });
    }
    if (guard.error !== undefined) throw guard.error;
    guard.check(output, `output of the ${limits.label}`);
    return output;
  }

  /** The local copy: Lambda tasks bound to their sandboxes, Distributed Maps replaced by adapter tasks. */
  private localDefinition(
    definition: MachineDefinition,
    guard: ExecutionGuard,
    concurrency: number,
  ): { local: MachineDefinition; handlers: Record<string, Handler> } {
    const handlers: Record<string, Handler> = {};
    const states: Record<string, StateDefinition> = {};
    for (const [name, state] of Object.entries(definition.States)) {
      if (state['Type'] === 'Task') {
        handlers[name] = this.guardedTask(name, guard, this.lambdaTask(name, state, concurrency));
        states[name] = withStateTimeout(state);
      } else if (state['Type'] === 'Map' && isDistributed(state)) {
        handlers[name] = this.guardedTask(name, guard, (input) => this.runDistributedMap(name, state, input));
        states[name] = withStateTimeout(distributedMapAsTask(state));
      } else if (state['Type'] === 'Map' || state['Type'] === 'Parallel') {
        throw new Error(`local mode does not support inline ${String(state['Type'])} state "${name}" yet`);
      } else {
        states[name] = state;
      }
    }
    return { local: { ...definition, States: states }, handlers };
  }

  /** A task that starts only while the execution is within its limits, and whose input and result are checked. */
  private guardedTask(name: string, guard: ExecutionGuard, task: Handler): Handler {
    return async (input) => {
      await guard.beforeTask();
      guard.check(input, `input of task "${name}"`);
      beforeTask(name);
      const result = await task(input);
      guard.check(result, `result of task "${name}"`);
      afterTask(name);
      return result;
    };
  }

  private lambdaTask(name: string, state: StateDefinition, concurrency: number): Handler {
    const resource = String(state['Resource']);
    if (resource === 'arn:aws:states:::lambda:invoke') {
      // The non-optimised integration: input {FunctionName, Payload}, output {Payload, ...}.
      return async (input) => {
        const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
        const fn = this.functionFor(name, FunctionName);
        return { Payload: await this.options.lambdas.invoke(fn, Payload, { concurrency }), StatusCode: 200 };
      };
    }
    const fn = this.functionFor(name, resource);
    return (input) => this.options.lambdas.invoke(fn, input, { concurrency });
  }

  private functionFor(stateName: string, functionRef: string): LocalFunction {
    const fn = this.functionsByArn.get(functionRef) ?? this.options.functions.find((f) => f.logicalId === functionRef || f.name === functionRef);
    if (fn === undefined) throw new Error(`task "${stateName}" calls ${functionRef}, which is not a pipeline stage in the template`);
    return fn;
  }

  private async runDistributedMap(name: string, state: StateDefinition, input: unknown): Promise<unknown> {
    const reader = state['ItemReader'] as { Resource?: string; ReaderConfig?: { InputType?: string }; Parameters?: Record<string, unknown> } | undefined;
    const items = reader === undefined ? (selectPath(input, String(state['ItemsPath'] ?? '$')) as unknown[]) : await this.readItems(reader, input);
    if (state['ItemSelector'] !== undefined) throw new Error(`local Distributed Map adapter: ItemSelector on "${name}" is not supported`);
    const batcher = state['ItemBatcher'] as
      | {
          MaxItemsPerBatch?: number;
          MaxItemsPerBatchPath?: string;
          MaxInputBytesPerBatch?: number;
          MaxInputBytesPerBatchPath?: string;
          BatchInput?: Record<string, unknown>;
        }
      | undefined;
    const batches: unknown[] =
      batcher === undefined
        ? items
        : batchItems(items, {
            maxItems: batcher.MaxItemsPerBatch ?? optionalNumberAt(input, batcher.MaxItemsPerBatchPath),
            maxBytes: batcher.MaxInputBytesPerBatch ?? optionalNumberAt(input, batcher.MaxInputBytesPerBatchPath),
            batchInput: batcher.BatchInput === undefined ? undefined : resolveParameters(batcher.BatchInput, input),
          });
    const processor = (state['ItemProcessor'] ?? state['Iterator']) as MachineDefinition & { ProcessorConfig?: { ExecutionType?: string } };
    const childDefinition: MachineDefinition = { StartAt: processor.StartAt, States: processor.States };
    const express = processor.ProcessorConfig?.ExecutionType === 'EXPRESS';
    const maxConcurrency = Number(state['MaxConcurrency'] ?? 0) || batches.length || 1;
    const concurrency = sandboxConcurrency(Number(state['MaxConcurrency'] ?? 0));
    let done = 0;
    let failed = 0;
    const children: ChildRun[] = [];
    const results = await mapWithConcurrency(batches, maxConcurrency, async (batch, index) => {
      try {
        const label = `child execution ${index + 1} of "${name}"`;
        const output = await this.execute(childDefinition, batch, { label, timeoutMs: express ? this.expressTimeoutMs : undefined, concurrency });
        children[index] = { index, input: batch, status: 'SUCCEEDED', output };
        return output;
      } catch (error) {
        failed += 1;
        this.events.push({ type: 'MapIterationFailed', state: name, error: (error as Error).name, cause: (error as Error).message });
        children[index] = { index, input: batch, status: 'FAILED', error: (error as Error).name, cause: (error as Error).message };
        return null;
      } finally {
        done += 1;
        this.options.onMapBatch?.(
          done,
          batches.length,
          Array.isArray((batch as { Items?: unknown[] }).Items) ? (batch as { Items: unknown[] }).Items.length : 1,
        );
      }
    });
    const toleratedPercent = Number(state['ToleratedFailurePercentage'] ?? 0);
    const toleratedCount = state['ToleratedFailureCount'] === undefined ? undefined : Number(state['ToleratedFailureCount']);
    const overPercent = batches.length > 0 && (failed / batches.length) * 100 > toleratedPercent;
    const overCount = toleratedCount !== undefined && failed > toleratedCount;
    if (failed > 0 && (toleratedCount === undefined ? overPercent : overCount && overPercent)) {
      const error = new Error(`${failed} of ${batches.length} child executions of "${name}" failed, over the tolerated threshold`);
      error.name = 'States.ExceedToleratedFailureThreshold';
      throw error;
    }
    const writer = state['ResultWriter'] as ResultWriterDefinition | undefined;
    return writer === undefined ? results : this.writeResults(name, writer, input, children);
  }

  /**
   * The Map Run's results written to S3 as its ResultWriter says, in the service's layout: `<Prefix>/<map run id>/`
   * holds `manifest.json` and one `SUCCEEDED_0.json` / `FAILED_0.json` with an entry per child execution; the state's
   * result is then only `{MapRunArn, ResultWriterDetails}` — which is why a large batch needs one (without it every
   * child's output adds to the 256 KiB the map's result may hold).
   */
  private async writeResults(name: string, writer: ResultWriterDefinition, input: unknown, children: ChildRun[]): Promise<unknown> {
    if (writer.Resource !== 'arn:aws:states:::s3:putObject') {
      throw new Error(`local Distributed Map adapter: ResultWriter resource ${String(writer.Resource)} is not supported`);
    }
    const parameters = resolveParameters(writer.Parameters ?? {}, input) as { Bucket: string; Prefix?: string };
    const runId = randomUUID();
    const mapRunArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:mapRun:local/${name}:${runId}`;
    const folder = `${parameters.Prefix === undefined || parameters.Prefix === '' ? '' : `${parameters.Prefix.replace(/\/$/, '')}/`}${runId}`;
    const resultFiles: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', Array<{ Key: string; Size: number }>> = { SUCCEEDED: [], FAILED: [], PENDING: [] };
    for (const status of ['SUCCEEDED', 'FAILED'] as const) {
      const entries = children
        .filter((child) => child.status === status)
        .map((child) => ({
          Name: `${runId}-${child.index}`,
          Status: status,
          Input: JSON.stringify(child.input),
          ...(status === 'SUCCEEDED' ? { Output: JSON.stringify(child.output ?? null) } : { Error: child.error, Cause: child.cause }),
        }));
      // Several files per status when the entries are large (the service splits them too): one PutObject each, and
      // a single request to the local S3 stand-in may carry at most ~11 MiB — a 10,000-asset batch's 2,000 children
      // come near that.
      for (const [index, body] of resultFileBodies(entries).entries()) {
        const key = `${folder}/${status}_${index}.json`;
        await this.options.s3.send(new PutObjectCommand({ Bucket: parameters.Bucket, Key: key, Body: Buffer.from(body), ContentType: 'application/json' }));
        resultFiles[status].push({ Key: key, Size: Buffer.byteLength(body) });
      }
    }
    const manifestKey = `${folder}/manifest.json`;
    const manifest = JSON.stringify({ DestinationBucket: parameters.Bucket, MapRunArn: mapRunArn, ResultFiles: resultFiles });
    await this.options.s3.send(
      new PutObjectCommand({ Bucket: parameters.Bucket, Key: manifestKey, Body: Buffer.from(manifest), ContentType: 'application/json' }),
    );
    return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: parameters.Bucket, Key: manifestKey } };
  }

  private async readItems(
    reader: { Resource?: string; ReaderConfig?: { InputType?: string }; Parameters?: Record<string, unknown> },
    input: unknown,
  ): Promise<unknown[]> {
    if (reader.Resource !== 'arn:aws:states:::s3:getObject') {
      throw new Error(`local Distributed Map adapter: ItemReader resource ${String(reader.Resource)} is not supported`);
    }
    const parameters = resolveParameters(reader.Parameters ?? {}, input) as { Bucket: string; Key: string };
    const response = await this.options.s3.send(new GetObjectCommand({ Bucket: parameters.Bucket, Key: parameters.Key }));
    const text = await response.Body!.transformToString();
    const inputType = reader.ReaderConfig?.InputType ?? 'JSON';
    if (inputType === 'JSONL')
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
    if (inputType === 'JSON') return JSON.parse(text) as unknown[];
    throw new Error(`local Distributed Map adapter: ItemReader InputType ${inputType} is not supported`);
  }
}

/** Largest result file the local ResultWriter writes (bytes of JSON). */
export const RESULT_FILE_MAX_BYTES = 4 * 1024 * 1024;

/** The entries as JSON arrays of at most RESULT_FILE_MAX_BYTES each (an entry larger than that gets a file of its own). */
export function resultFileBodies(entries: readonly unknown[], maxBytes = RESULT_FILE_MAX_BYTES): string[] {
  const bodies: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const entry of entries) {
    const json = JSON.stringify(entry);
    const added = Buffer.byteLength(json) + (current.length === 0 ? 0 : 1);
    if (current.length > 0 && size + added > maxBytes) {
      bodies.push(`[${current.join(',')}]`);
      current = [];
      size = 2;
    }
    current.push(json);
    size += Buffer.byteLength(json) + (current.length === 1 ? 0 : 1);
  }
  if (current.length > 0) bodies.push(`[${current.join(',')}]`);
  return bodies;
}

interface ResultWriterDefinition {
  Resource?: string;
  Parameters?: Record<string, unknown>;
}

interface ChildRun {
  index: number;
  input: unknown;
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string;
  cause?: string;
}

function optionalNumberAt(input: unknown, jsonPath: string | undefined): number | undefined {
  return jsonPath === undefined ? undefined : Number(selectPath(input, jsonPath));
}

/**
 * A Task without TimeoutSeconds has no state timeout on AWS, but the interpreter would give it 60 s: the local copy
 * gets a practically unbounded one instead. One the template sets is kept (the interpreter fails it with
 * States.Timeout, which Retry/Catch on States.TaskFailed do not match, as on AWS).
 */
function withStateTimeout(state: StateDefinition): StateDefinition {
  if (state['TimeoutSeconds'] !== undefined || state['TimeoutSecondsPath'] !== undefined) return state;
  return { ...state, TimeoutSeconds: NO_STATE_TIMEOUT_SECONDS };
}

function isDistributed(state: StateDefinition): boolean {
  const processor = state['ItemProcessor'] as { ProcessorConfig?: { Mode?: string } } | undefined;
  return processor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
}

/** Keeps the fields that shape the flow around the state; drops the Map-only ones. */
function distributedMapAsTask(state: StateDefinition): StateDefinition {
  const kept = ['InputPath', 'OutputPath', 'ResultPath', 'ResultSelector', 'Retry', 'Catch', 'Next', 'End', 'Comment'];
  const task: StateDefinition = { Type: 'Task', Resource: 'arn:aws:states:::local:distributedMap' };
  for (const field of kept) if (state[field] !== undefined) task[field] = state[field];
  return task;
}

/** ASL Parameters: keys ending in `.$` take the value at a JSONPath of the input. */
export function resolveParameters(parameters: Record<string, unknown>, input: unknown): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(parameters).map(([key, value]) => {
      if (key.endsWith('.$')) return [key.slice(0, -2), selectPath(input, String(value))];
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return [key, resolveParameters(value as Record<string, unknown>, input)];
      return [key, value];
    }),
  );
}
