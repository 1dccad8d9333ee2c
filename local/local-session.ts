/**
 * A local session: synthesizes the stack in-process (or reads a given template), starts the stand-ins, creates the
 * template's buckets, queues and table in them, points the real SDK clients at them through the environment the
 * template gives each function, and runs batches through the template's own trigger and state machine.
 *
 * Start-up is kept short: the template comes from the template cache while the sources are unchanged (aws-cdk-lib is
 * imported only to synthesize), the handlers' bundles from the bundle cache, and when a batch is uploaded the
 * sandboxes of the stages it passes first and the local models are started side by side, while PrepareBatch runs,
 * instead of one after the other as the first asset reaches each.
 */
import { traceMark } from './startup-trace';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { resetClients } from '../lambdas/adapters/aws-clients';
import { loadTaxonomy } from '../lambdas/core/taxonomy';
import { PIPELINE_STAGE_NAMES } from '../lambdas/stages';
import { matchesPattern, objectCreatedEvent, transformInput } from './event-routing';
import { LOCAL_ACCOUNT, LOCAL_REGION, startStandIns, type StandIns, type StandInsOptions } from './stand-ins';
import { LocalLambdaSandboxes } from './lambda-sandboxes';
import { PROJECT_ROOT } from './project-root';
import { readCachedTemplate, templateCacheKey } from './template-cache';
import { executionArnFor, LocalStateMachineRunner, type LocalExecutionResult } from './state-machine-runner';
import { startStepFunctionsStandIn, type StartedExecution } from './step-functions-standin';
import { readLocalStack, type CfnTemplate, type LocalFunction, type LocalStack } from './template';

export interface LocalSessionOptions {
  /** Folder for persisted state; omit for an in-memory session (tests). */
  stateDir?: string;
  /** Use this template instead of synthesizing (e.g. cdk.out/MediaTriage.template.json, or an altered copy). */
  template?: CfnTemplate;
  /** Test hook: answer model calls without the models (see the SageMaker stand-in). */
  intercept?: StandInsOptions['intercept'];
  retryIntervalMs?: number;
  /** Test hook: the Express executions' time limit (default 300,000 ms, AWS's 5 minutes). */
  expressTimeoutMs?: number;
  onMapBatch?: (done: number, total: number, assets: number) => void;
  /** Aborts the running execution (Ctrl-C): states in flight are abandoned as a crash would abandon them. */
  signal?: AbortSignal;
  /**
   * Worker threads per function and for the models (default: the machine's cores, and per function no more than the
   * Map's MaxConcurrency). 1 runs every stage and the models one invocation at a time.
   */
  workers?: number;
}

export interface UploadedRunOptions {
  executionName?: string;
  /** Called as the execution starts, with what DescribeExecution reports of a running execution. */
  onStart?: (started: { executionArn: string; input: unknown; startedAt: Date }) => void;
}

export interface LocalSession {
  stack: LocalStack;
  template: CfnTemplate;
  standIns: StandIns;
  dataBucket: string;
  reportsBucket: string;
  /** Uploads an archive under incoming/ and runs every execution the template's rules start for it. */
  runArchive(archive: Buffer, fileName: string): Promise<LocalExecutionResult>;
  /**
   * What EventBridge does for an object already in the data bucket: routes its "Object Created" event with the
   * template's rule and runs the execution the rule starts (`executionName` names it, as AWS would a new UUID).
   * Executions run one at a time per session (the runner keeps one execution's events).
   */
  runUploaded(key: string, size: number, options?: UploadedRunOptions): Promise<LocalExecutionResult>;
  /** Where the reports bucket's `reports/` prefix is on disk (kept current as reports are written). */
  reportsDir(): string | undefined;
  /** Invokes the function of a stage (e.g. the scheduled Nightly) in its sandbox, as its trigger would. */
  invokeStage(stageName: string, payload: unknown): Promise<unknown>;
  /**
   * Runs, one after the other, the executions handlers started through StartExecution (the Nightly sweep's re-drives;
   * local/step-functions-standin.ts), until none is left.
   */
  runStartedExecutions(onStart?: (execution: StartedExecution) => void): Promise<Array<StartedExecution & { result: LocalExecutionResult }>>;
  close(): Promise<void>;
}

/**
 * The template of the current sources: from the template cache when it has it, else synthesized in-process
 * (local/synthesize.ts, imported only then: it loads the whole CDK).
 */
export async function loadTemplate(): Promise<CfnTemplate> {
  const cached = readCachedTemplate(PROJECT_ROOT, templateCacheKey(PROJECT_ROOT));
  if (cached !== undefined) return cached;
  const { synthesizeTemplate } = await import('./synthesize');
  return synthesizeTemplate();
}

export async function openLocalSession(options: LocalSessionOptions = {}): Promise<LocalSession> {
  const template = options.template ?? (await loadTemplate());
  // Endpoints and queue URLs depend on the stand-ins' ports, so read the template once to learn the endpoints...
  const endpoints = readLocalStack(template, (name) => name).endpoints;
  const standIns = await startStandIns({
    stateDir: options.stateDir,
    taxonomy: loadTaxonomy(),
    endpoints: Object.fromEntries(endpoints.map((endpoint) => [endpoint.name, { task: endpoint.task }])),
    intercept: options.intercept,
    modelWorkers: options.workers,
  });
  traceMark('session: stand-ins up');
  let stopStepFunctions = async (): Promise<void> => undefined;
  try {
    // fauxqs's queue URL form; the region in the host is part of the queue's identity.
    const queueUrl = (name: string): string => `http://sqs.${LOCAL_REGION}.localhost:${standIns.fauxqs.port}/${LOCAL_ACCOUNT}/${name}`;
    // ...and again with the real queue URLs.
    const stack = readLocalStack(template, queueUrl);
    applyEnvironment(standIns.env, stack);
    await createResources(standIns, stack);
    const dataBucket = bucketFor(stack, 'DATA_BUCKET_NAME');
    const reportsBucket = bucketFor(stack, 'REPORTS_BUCKET_NAME');
    const s3 = new S3Client({});
    // StartExecution (the Nightly stage's re-drives) reaches a stand-in that queues the executions for this runner.
    const stepFunctions = await startStepFunctionsStandIn([stack.stateMachine.arn]);
    stopStepFunctions = () => stepFunctions.stop();
    // Each function's handler runs in sandboxes of its own, with its own environment (not process.env).
    const lambdas = new LocalLambdaSandboxes(
      PROJECT_ROOT,
      { ...standIns.env, AWS_ENDPOINT_URL_SFN: stepFunctions.url },
      { maxWorkersPerFunction: options.workers },
    );
    // The state machine's stages now; a scheduled one (Nightly) is bundled when it is first invoked.
    lambdas.prepare(stack.functions.filter((fn) => (PIPELINE_STAGE_NAMES as readonly string[]).includes(fn.stageName)));
    traceMark('session: resources created, sandboxes prepared');
    const runner = new LocalStateMachineRunner({
      functions: stack.functions,
      lambdas,
      retryIntervalMs: options.retryIntervalMs,
      expressTimeoutMs: options.expressTimeoutMs,
      onMapBatch: options.onMapBatch,
      signal: options.signal,
      s3,
    });

    const session: LocalSession = {
      stack,
      template,
      standIns,
      dataBucket,
      reportsBucket,
      async runArchive(archive, fileName) {
        // Cold starts now, beside the upload and PrepareBatch. With an intercept (tests, the bench's instant models)
        // the models may never be asked: they load on the first call that reaches them.
        lambdas.warm(firstStages(stack));
        if (options.intercept === undefined) standIns.warmUpModels().catch(() => undefined);
        const key = `incoming/${path.basename(fileName)}`;
        // Multipart, as the S3 console and CLI upload large archives (fauxqs also caps a single request at 11 MiB).
        await new Upload({ client: s3, params: { Bucket: dataBucket, Key: key, Body: archive, ContentType: 'application/zip' } }).done();
        traceMark('session: archive uploaded');
        return session.runUploaded(key, archive.byteLength);
      },
      async runUploaded(key, size, runOptions = {}) {
        const event = objectCreatedEvent(dataBucket, key, size);
        const rule = stack.rules.find((candidate) => candidate.targetArn === stack.stateMachine.arn && matchesPattern(candidate.eventPattern, event));
        if (rule === undefined) {
          throw new Error(`no EventBridge rule in the template starts the state machine for s3://${dataBucket}/${key} (is it a .zip under incoming/?)`);
        }
        const input = transformInput(rule, event);
        const executionName = runOptions.executionName ?? randomUUID();
        runOptions.onStart?.({ executionArn: executionArnFor(stack.stateMachine.arn, executionName), input, startedAt: new Date() });
        return runner.run(stack.stateMachine.definition as never, input, {
          type: stack.stateMachine.type,
          stateMachineArn: stack.stateMachine.arn,
          executionName,
        });
      },
      reportsDir: () => (standIns.s3Dir === undefined ? undefined : path.join(standIns.s3Dir, reportsBucket, 'reports')),
      async invokeStage(stageName, payload) {
        const fn = stack.functions.find((candidate) => candidate.stageName === stageName);
        if (fn === undefined) throw new Error(`the template has no function for stage ${stageName}`);
        return lambdas.invoke(fn, payload, { concurrency: 1 });
      },
      async runStartedExecutions(onStart) {
        const done: Array<StartedExecution & { result: LocalExecutionResult }> = [];
        for (let batch = stepFunctions.takeStarted(); batch.length > 0; batch = stepFunctions.takeStarted()) {
          for (const execution of batch) {
            onStart?.(execution);
            done.push({
              ...execution,
              result: await runner.run(stack.stateMachine.definition as never, execution.input, {
                type: stack.stateMachine.type,
                stateMachineArn: stack.stateMachine.arn,
                executionName: execution.name,
              }),
            });
          }
        }
        return done;
      },
      async close() {
        try {
          await lambdas.close();
        } finally {
          await stepFunctions.stop();
          await standIns.stop();
        }
      },
    };
    return session;
  } catch (error) {
    await stopStepFunctions();
    await standIns.stop();
    throw error;
  }
}

/**
 * The functions a batch reaches first: the state machine's first task and the tasks of its Map's item processor
 * (every asset passes them). Later stages (CrossCheck, Report) start when they are reached, after the map.
 */
function firstStages(stack: LocalStack): LocalFunction[] {
  type State = { Type?: string; Resource?: string; Parameters?: { FunctionName?: string }; ItemProcessor?: Machine; Iterator?: Machine };
  type Machine = { StartAt: string; States: Record<string, State> };
  const machine = stack.stateMachine.definition as unknown as Machine;
  const refs = new Set<string>();
  const addTask = (state: State | undefined): void => {
    if (state?.Type !== 'Task') return;
    refs.add(state.Parameters?.FunctionName ?? state.Resource ?? '');
  };
  addTask(machine.States[machine.StartAt]);
  for (const state of Object.values(machine.States)) {
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor !== undefined) for (const child of Object.values(processor.States)) addTask(child);
  }
  return stack.functions.filter((fn) => refs.has(fn.arn) || refs.has(fn.name) || refs.has(fn.logicalId));
}

function bucketFor(stack: LocalStack, variable: string): string {
  const value = stack.functions.map((fn) => fn.environment[variable]).find((name) => name !== undefined);
  if (value === undefined) throw new Error(`no function in the template has ${variable}`);
  return value;
}

/**
 * The session's own process (not the stages: each runs in its sandbox with its function's environment only) gets
 * the stand-ins' endpoints, for the session's clients and for code that calls adapters or handlers directly (tests),
 * plus every template variable on which the functions that set it agree, for that same code.
 */
function applyEnvironment(standInEnv: Record<string, string>, stack: LocalStack): void {
  const shared: Record<string, string> = {};
  const conflicting = new Set<string>();
  for (const fn of stack.functions) {
    for (const [name, value] of Object.entries(fn.environment)) {
      if (name === 'STAGE_NAME') continue;
      if (shared[name] !== undefined && shared[name] !== value) conflicting.add(name);
      shared[name] = value;
    }
  }
  for (const name of conflicting) delete shared[name];
  Object.assign(process.env, shared, standInEnv, { LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'ERROR' });
  resetClients();
}

async function createResources(standIns: StandIns, stack: LocalStack): Promise<void> {
  // Buckets and queues restored from the state folder are kept as they are (with their objects and messages).
  for (const bucket of stack.buckets) standIns.fauxqs.createBucket(bucket.name);
  // Dead-letter queues first, so redrive policies point at queues that exist.
  const ordered = [...stack.queues].sort((a, b) => Number(a.deadLetterTargetArn !== undefined) - Number(b.deadLetterTargetArn !== undefined));
  for (const queue of ordered) {
    const attributes: Record<string, string> = { ...queue.fifoAttributes };
    if (queue.visibilityTimeout !== undefined) attributes['VisibilityTimeout'] = String(queue.visibilityTimeout);
    if (queue.deadLetterTargetArn !== undefined) {
      attributes['RedrivePolicy'] = JSON.stringify({ deadLetterTargetArn: queue.deadLetterTargetArn, maxReceiveCount: queue.maxReceiveCount ?? 5 });
    }
    const created = standIns.fauxqs.ensureQueue(queue.name, { attributes, region: LOCAL_REGION });
    if (created.queueUrl !== queue.url) throw new Error(`local queue URL mismatch: ${created.queueUrl} vs ${queue.url}`);
  }
  const dynamo = new DynamoDBClient({});
  for (const table of stack.tables) {
    try {
      await dynamo.send(new DescribeTableCommand({ TableName: table.name }));
      continue;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException) && (error as Error).name !== 'ResourceNotFoundException') throw error;
    }
    await dynamo.send(
      new CreateTableCommand({
        TableName: table.name,
        KeySchema: table.keySchema as never,
        AttributeDefinitions: table.attributeDefinitions as never,
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: table.globalSecondaryIndexes.length === 0 ? undefined : (table.globalSecondaryIndexes as never),
      }),
    );
  }
}

export async function readTemplateFile(file: string): Promise<CfnTemplate> {
  return JSON.parse(await readFile(file, 'utf8')) as CfnTemplate;
}
