/**
 * The worst-case duration of one Express child of the Distributed Map, computed from a synthesized template: follow
 * the Map's ItemProcessor from StartAt; for each Task, every attempt runs for its Lambda function's `Timeout` (found
 * through the task's function reference) or the Task's `TimeoutSeconds`, whichever is smaller, times the attempts
 * all its retriers allow together (1 + Σ MaxAttempts: different errors can use up each retrier in turn), plus every
 * backoff wait those retries could take (`IntervalSeconds × BackoffRate^k`, capped by `MaxDelaySeconds`; jitter only
 * shortens waits, so it is ignored). Defaults are the ASL's: MaxAttempts 3, IntervalSeconds 1, BackoffRate 2.0, and a
 * Lambda `Timeout` of 3 s.
 */

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
export interface CfnTemplateJson {
  readonly Resources: Record<string, CfnResource>;
}

interface Retrier {
  readonly ErrorEquals: string[];
  readonly MaxAttempts?: number;
  readonly IntervalSeconds?: number;
  readonly BackoffRate?: number;
  readonly MaxDelaySeconds?: number;
}
interface State {
  readonly Type: string;
  readonly Next?: string;
  readonly End?: boolean;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly TimeoutSeconds?: number;
  readonly Seconds?: number;
  readonly Retry?: Retrier[];
  readonly ItemProcessor?: Graph;
}
interface Graph {
  readonly StartAt: string;
  readonly States: Record<string, State>;
}

export interface TaskWorstCase {
  readonly state: string;
  readonly functionLogicalId: string;
  readonly secondsPerAttempt: number;
  readonly attempts: number;
  readonly waitSeconds: number;
  readonly seconds: number;
}

/** ASL defaults (Amazon States Language, "Retrying after an error"). */
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_INTERVAL_SECONDS = 1;
const DEFAULT_BACKOFF_RATE = 2;
/** CloudFormation's default `Timeout` of an AWS::Lambda::Function. */
const DEFAULT_LAMBDA_TIMEOUT_SECONDS = 3;

/** `{Ref: X}` → `${X}`, `{Fn::GetAtt: [X, A]}` → `${X.A}`, `Fn::Join` joined: enough to parse a definition string. */
function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if (typeof object['Ref'] === 'string') return `\${${object['Ref']}}`;
  if (Array.isArray(object['Fn::GetAtt'])) return `\${${(object['Fn::GetAtt'] as string[]).join('.')}}`;
  if (Array.isArray(object['Fn::Join'])) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(separator);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

function definitionOf(template: CfnTemplateJson): Graph {
  const machines = Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  return JSON.parse(render(machines[0]!.Properties?.['DefinitionString'])) as Graph;
}

function findState(graph: Graph, name: string): State | undefined {
  for (const [stateName, state] of Object.entries(graph.States)) {
    if (stateName === name) return state;
    const nested = state.ItemProcessor ? findState(state.ItemProcessor, name) : undefined;
    if (nested) return nested;
  }
  return undefined;
}

/** The function a Lambda task calls: its `Resource` (payload-only form) or `Parameters.FunctionName`. */
function functionOf(state: State): string {
  for (const reference of [state.Parameters?.['FunctionName'], state.Resource]) {
    const match = typeof reference === 'string' ? /^\$\{([A-Za-z0-9]+)(\.Arn)?\}(:.*)?$/.exec(reference) : null;
    if (match) return match[1]!;
  }
  throw new Error(`cannot tell which function task ${JSON.stringify(state)} calls`);
}

function retryWaits(retrier: Retrier): number {
  const attempts = retrier.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  let total = 0;
  for (let k = 0; k < attempts; k += 1) {
    const wait = (retrier.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS) * (retrier.BackoffRate ?? DEFAULT_BACKOFF_RATE) ** k;
    total += Math.min(wait, retrier.MaxDelaySeconds ?? Infinity);
  }
  return total;
}

function taskWorstCase(template: CfnTemplateJson, name: string, state: State): TaskWorstCase {
  const functionLogicalId = functionOf(state);
  const fn = template.Resources[functionLogicalId];
  if (fn?.Type !== 'AWS::Lambda::Function') throw new Error(`task ${name} calls ${functionLogicalId}, which is not a Lambda function`);
  const timeout = Number(fn.Properties?.['Timeout'] ?? DEFAULT_LAMBDA_TIMEOUT_SECONDS);
  const secondsPerAttempt = Math.min(timeout, state.TimeoutSeconds ?? Infinity);
  const retriers = state.Retry ?? [];
  const attempts = 1 + retriers.reduce((sum, r) => sum + (r.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS), 0);
  const waitSeconds = retriers.reduce((sum, r) => sum + retryWaits(r), 0);
  return { state: name, functionLogicalId, secondsPerAttempt, attempts, waitSeconds, seconds: secondsPerAttempt * attempts + waitSeconds };
}

/** Worst case of one child of the Map state `mapState`, per task and in total (seconds). */
export function expressChildWorstCase(template: CfnTemplateJson, mapState: string): { seconds: number; tasks: TaskWorstCase[] } {
  const child = findState(definitionOf(template), mapState)?.ItemProcessor;
  if (!child) throw new Error(`no Map state ${mapState} with an ItemProcessor`);
  const tasks: TaskWorstCase[] = [];
  let waits = 0;
  const seen = new Set<string>();
  for (let name: string | undefined = child.StartAt; name !== undefined;) {
    if (seen.has(name)) throw new Error(`the child loops back to ${name}; a loop has no worst case`);
    seen.add(name);
    const state: State | undefined = child.States[name];
    if (!state) throw new Error(`the child has no state ${name}`);
    if (state.Type === 'Task') tasks.push(taskWorstCase(template, name, state));
    else if (state.Type === 'Wait') waits += state.Seconds ?? Infinity;
    else if (!['Pass', 'Succeed', 'Fail'].includes(state.Type)) {
      throw new Error(`state ${name} is a ${state.Type}: extend the worst-case walk before adding one to the child`);
    }
    name = state.End || state.Type === 'Succeed' || state.Type === 'Fail' ? undefined : state.Next;
  }
  return { seconds: tasks.reduce((sum, t) => sum + t.seconds, 0) + waits, tasks };
}
