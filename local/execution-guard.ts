/**
 * Watches one execution (the parent, or one Distributed Map child) for what the interpreter does not enforce: the
 * 256 KiB payload limit and an execution time limit. Either one ends the execution with an error that no Retry or
 * Catch of the definition can route, as on AWS.
 *
 * Where the runner holds the data (a task's input and result, an execution's input and output) it checks directly
 * and throws. State inputs and outputs after InputPath/Parameters/ResultSelector/ResultPath/OutputPath are only seen
 * in the interpreter's event log, which is read asynchronously; so every task first lets the log catch up
 * (`beforeTask`) and refuses to start once the execution has failed, and the execution is aborted. No task after an
 * oversized state ever runs, which is what matters for side effects.
 */
import { checkPayload, payloadBytes, STATE_PAYLOAD_LIMIT_BYTES, dataLimitExceeded } from './aws-limits';

interface StateEvent {
  type: string;
  state?: { name?: string; input?: unknown; output?: unknown };
}

export class ExecutionGuard {
  private failure: Error | undefined;
  private abortExecution: (() => void) | undefined;
  /** Whether the guard (not the interpreter) ended the execution, so the interpreter logged no failure for it. */
  private stoppedByGuard = false;

  /** The interpreter's abort, called when the guard ends the execution from outside a task. */
  attach(abort: () => void): void {
    this.abortExecution = abort;
  }

  /** The error that ended the execution, if a limit did. */
  get error(): Error | undefined {
    return this.failure;
  }

  get stoppedExecution(): boolean {
    return this.stoppedByGuard;
  }

  /** Ends the execution from outside any task (a state seen over the limit, a time limit reached). */
  stop(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.stoppedByGuard = true;
    this.abortExecution?.();
  }

  /** Checks a payload the runner holds; over the limit, the execution fails with States.DataLimitExceeded. */
  check(value: unknown, what: string): void {
    try {
      checkPayload(value, what);
    } catch (error) {
      this.failure ??= error as Error;
      throw error;
    }
  }

  /** Checks the state inputs and outputs the interpreter reports in its event log. */
  observe(event: StateEvent): void {
    const name = event.state?.name ?? '?';
    if (event.type === 'StateEntered') this.observePayload(event.state?.input, `input of state "${name}"`);
    if (event.type === 'StateExited') this.observePayload(event.state?.output, `output of state "${name}"`);
  }

  /**
   * Called by every task before it does anything. Yielding to the event loop once lets the log reader process every
   * event the interpreter has already emitted (it runs on microtasks), so a limit crossed by the previous state is
   * known here.
   */
  async beforeTask(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.failure !== undefined) throw this.failure;
  }

  private observePayload(value: unknown, what: string): void {
    if (this.failure !== undefined || value === undefined) return;
    const bytes = payloadBytes(value);
    if (bytes > STATE_PAYLOAD_LIMIT_BYTES) this.stop(dataLimitExceeded(what, bytes));
  }
}
