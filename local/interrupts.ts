/**
 * Ctrl-C (SIGINT) and SIGTERM during a run: the first aborts the run through an AbortSignal — the execution stops
 * where it is, work in flight is abandoned as a crash would abandon it (every stand-in writes through, so nothing
 * acknowledged is lost and the next run resumes) — and the run reports INTERRUPTED. A second signal exits at once.
 */
export interface InterruptWatch {
  readonly signal: AbortSignal;
  /** The signal that interrupted the run, if one did. */
  interruptedBy(): NodeJS.Signals | undefined;
  dispose(): void;
}

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

export function exitCodeFor(signal: NodeJS.Signals): number {
  return EXIT_CODES[signal] ?? 1;
}

export function watchInterrupts(onFirst?: (signal: NodeJS.Signals) => void): InterruptWatch {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals): void => {
    if (received !== undefined) {
      process.stderr.write(`\n${signal} again: exiting now (the local state is already on disk).\n`);
      process.exit(exitCodeFor(signal));
    }
    received = signal;
    onFirst?.(signal);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    interruptedBy: () => received,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/**
 * After an interrupted run has printed its summary, stop the process even if abandoned work (a handler's SDK call
 * backing off, a model still busy) would keep it alive. The timer is unref'd: a process with nothing left exits on
 * its own first, with the exit code the CLI set.
 */
export function exitSoonAfterInterrupt(signal: NodeJS.Signals, delayMs = 500): void {
  setTimeout(() => process.exit(process.exitCode ?? exitCodeFor(signal)), delayMs).unref();
}
