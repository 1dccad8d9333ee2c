/**
 * Executes the synthesized state machine definition in-process with aws-local-stepfunctions, every Lambda task
 * mapped to the real stage handler (found through the function's STAGE_NAME and the stage registry).
 *
 * The Distributed Map adapter: the interpreter cannot run a DISTRIBUTED Map with an ItemReader, so in the runner's
 * local copy of the definition (the deployed ASL is untouched) each such Map becomes a Task whose local handler
 * does what the service does: reads the items from (local) S3 as the ItemReader says, batches them as the
 * ItemBatcher says, runs the Map's own ItemProcessor definition in a nested interpreter per batch with at most
 * MaxConcurrency at once, and fails with States.ExceedToleratedFailureThreshold past the tolerated failures. The
 * state keeps its ResultPath, Retry, Catch and Next, so the surrounding flow is the template's.
 */
import './promise-with-resolvers';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { StateMachine } from 'aws-local-stepfunctions';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { mapWithConcurrency } from '../../lambdas/core/concurrency';
import { isStageName, STAGES } from '../../lambdas/stages';
import { selectPath } from './json-path';
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
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string;
  cause?: string;
  /** States entered, failed, retried and caught, in order (nested map runs included). */
  events: ExecutionEvent[];
}

export interface RunnerOptions {
  projectRoot: string;
  functions: LocalFunction[];
  /** Override retry waits (ms) so local failures do not sleep for the deployed backoff. */
  retryIntervalMs?: number;
  /** Called after each child batch of a Distributed Map finishes (progress reporting). */
  onMapBatch?: (done: number, total: number, assets: number) => void;
  /** Aborts every execution, nested map runs included (Ctrl-C); work in flight is abandoned, not awaited. */
  signal?: AbortSignal;
  s3: S3Client;
}

const handlerCache = new Map<string, Promise<Handler>>();

async function loadStageHandler(projectRoot: string, stageName: string): Promise<Handler> {
  if (!isStageName(stageName)) throw new Error(`function STAGE_NAME "${stageName}" is not in the stage registry`);
  let loaded = handlerCache.get(stageName);
  if (loaded === undefined) {
    const url = pathToFileURL(path.join(projectRoot, STAGES[stageName].entry)).href;
    loaded = import(url).then((module: { handler?: Handler }) => {
      if (typeof module.handler !== 'function') throw new Error(`${STAGES[stageName].entry} exports no handler`);
      return module.handler;
    });
    handlerCache.set(stageName, loaded);
  }
  return loaded;
}

/** Invokes a handler the way Lambda does: JSON in, JSON out (so nothing non-serializable leaks between stages). */
async function invokeLikeLambda(handler: Handler, payload: unknown): Promise<Json> {
  const result = await handler(JSON.parse(JSON.stringify(payload ?? null)));
  return JSON.parse(JSON.stringify(result ?? null)) as Json;
}

export class LocalStateMachineRunner {
  private readonly functionsByArn: Map<string, LocalFunction>;
  private events: ExecutionEvent[] = [];

  constructor(private readonly options: RunnerOptions) {
    this.functionsByArn = new Map(options.functions.map((fn) => [fn.arn, fn]));
  }

  async run(definition: MachineDefinition, input: unknown): Promise<LocalExecutionResult> {
    this.events = [];
    try {
      const output = await this.execute(definition, input);
      return { status: 'SUCCEEDED', output, events: this.events };
    } catch (error) {
      const { name, message } = error as Error;
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      return { status: 'FAILED', error: name, cause: cause ?? message, events: this.events };
    }
  }

  private async execute(definition: MachineDefinition, input: unknown): Promise<unknown> {
    this.options.signal?.throwIfAborted();
    const { local, handlers } = await this.localDefinition(definition);
    const machine = new StateMachine(local as never, { validationOptions: { checkPaths: true, checkArn: false } });
    const retryIntervalOverrides =
      this.options.retryIntervalMs === undefined
        ? undefined
        : Object.fromEntries(Object.keys(handlers).map((name) => [name, this.options.retryIntervalMs!]));
    const execution = machine.run(input as Json, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
    });
    const abort = (): void => execution.abort();
    this.options.signal?.addEventListener('abort', abort, { once: true });
    const logging = (async () => {
      for await (const event of execution.eventLogs) {
        const e = event as { type: string; state?: { name?: string }; Error?: string; Cause?: string; error?: string; cause?: string };
        if (e.type === 'StateSucceeded' || e.type === 'StateExited') continue;
        this.events.push({ type: e.type, state: e.state?.name, error: e.Error ?? e.error, cause: e.Cause ?? e.cause });
      }
    })();
    try {
      return await execution.result;
    } finally {
      this.options.signal?.removeEventListener('abort', abort);
      await logging.catch(() => undefined);
    }
  }

  /** The local copy: Lambda tasks bound to handlers, Distributed Maps replaced by adapter tasks. */
  private async localDefinition(definition: MachineDefinition): Promise<{ local: MachineDefinition; handlers: Record<string, Handler> }> {
    const handlers: Record<string, Handler> = {};
    const states: Record<string, StateDefinition> = {};
    for (const [name, state] of Object.entries(definition.States)) {
      if (state['Type'] === 'Task') {
        handlers[name] = await this.taskHandler(name, state);
        states[name] = state;
      } else if (state['Type'] === 'Map' && isDistributed(state)) {
        handlers[name] = (input) => this.runDistributedMap(name, state, input);
        states[name] = distributedMapAsTask(state);
      } else if (state['Type'] === 'Map' || state['Type'] === 'Parallel') {
        throw new Error(`local mode does not support inline ${String(state['Type'])} state "${name}" yet`);
      } else {
        states[name] = state;
      }
    }
    return { local: { ...definition, States: states }, handlers };
  }

  private async taskHandler(name: string, state: StateDefinition): Promise<Handler> {
    const resource = String(state['Resource']);
    if (resource === 'arn:aws:states:::lambda:invoke') {
      // The non-optimised integration: input {FunctionName, Payload}, output {Payload, ...}.
      return async (input) => {
        const { FunctionName, Payload } = input as { FunctionName: string; Payload: unknown };
        const handler = await this.lambdaHandler(name, FunctionName);
        return { Payload: await invokeLikeLambda(handler, Payload), StatusCode: 200 };
      };
    }
    const handler = await this.lambdaHandler(name, resource);
    return (input) => invokeLikeLambda(handler, input);
  }

  private async lambdaHandler(stateName: string, functionRef: string): Promise<Handler> {
    const fn = this.functionsByArn.get(functionRef) ?? this.options.functions.find((f) => f.logicalId === functionRef);
    if (fn === undefined) throw new Error(`task "${stateName}" calls ${functionRef}, which is not a pipeline stage in the template`);
    return loadStageHandler(this.options.projectRoot, fn.stageName);
  }

  private async runDistributedMap(name: string, state: StateDefinition, input: unknown): Promise<unknown> {
    const reader = state['ItemReader'] as { Resource?: string; ReaderConfig?: { InputType?: string }; Parameters?: Record<string, unknown> } | undefined;
    const items = reader === undefined ? (selectPath(input, String(state['ItemsPath'] ?? '$')) as unknown[]) : await this.readItems(reader, input);
    if (state['ItemSelector'] !== undefined) throw new Error(`local Distributed Map adapter: ItemSelector on "${name}" is not supported`);
    const batcher = state['ItemBatcher'] as { MaxItemsPerBatch?: number; BatchInput?: Record<string, unknown> } | undefined;
    const batches: unknown[] =
      batcher === undefined
        ? items
        : chunk(items, batcher.MaxItemsPerBatch ?? items.length).map((Items) => ({
            Items,
            ...(batcher.BatchInput === undefined ? {} : { BatchInput: resolveParameters(batcher.BatchInput, input) }),
          }));
    const processor = (state['ItemProcessor'] ?? state['Iterator']) as MachineDefinition;
    const childDefinition: MachineDefinition = { StartAt: processor.StartAt, States: processor.States };
    const maxConcurrency = Number(state['MaxConcurrency'] ?? 0) || batches.length || 1;
    let done = 0;
    let failed = 0;
    const results = await mapWithConcurrency(batches, maxConcurrency, async (batch) => {
      try {
        return await this.execute(childDefinition, batch);
      } catch (error) {
        failed += 1;
        this.events.push({ type: 'MapIterationFailed', state: name, error: (error as Error).name, cause: (error as Error).message });
        return null;
      } finally {
        done += 1;
        this.options.onMapBatch?.(done, batches.length, Array.isArray((batch as { Items?: unknown[] }).Items) ? (batch as { Items: unknown[] }).Items.length : 1);
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
    return results;
  }

  private async readItems(reader: { Resource?: string; ReaderConfig?: { InputType?: string }; Parameters?: Record<string, unknown> }, input: unknown): Promise<unknown[]> {
    if (reader.Resource !== 'arn:aws:states:::s3:getObject') {
      throw new Error(`local Distributed Map adapter: ItemReader resource ${String(reader.Resource)} is not supported`);
    }
    const parameters = resolveParameters(reader.Parameters ?? {}, input) as { Bucket: string; Key: string };
    const response = await this.options.s3.send(new GetObjectCommand({ Bucket: parameters.Bucket, Key: parameters.Key }));
    const text = await response.Body!.transformToString();
    const inputType = reader.ReaderConfig?.InputType ?? 'JSON';
    if (inputType === 'JSONL') return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown);
    if (inputType === 'JSON') return JSON.parse(text) as unknown[];
    throw new Error(`local Distributed Map adapter: ItemReader InputType ${inputType} is not supported`);
  }
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

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
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
