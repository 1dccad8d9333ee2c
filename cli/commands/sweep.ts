/**
 * `media-triage sweep`: the Nightly stage's sweep on the local state, through the same handler in its sandbox as the
 * deployed schedule runs it (lambdas/functions/nightly.ts). Batch archives left in the local `incoming/` that never
 * started (or never finished) are started again and run to the end here; records owing a review message get it.
 *
 * The grace period is 0: the sweep holds the state folder's lock, so no local run can be in flight, and any upload
 * without a batch record is one that never started.
 */
import { Command } from 'commander';
import type { LocalExecutionResult } from '../../local/state-machine-runner';
import type { NightlySummary } from '../../lambdas/functions/nightly';
import { printJsonLine } from '../output';
import type { CommandContext } from './context';
import { jsonOption, stateDirOption, type JsonOption, type StateDirOption } from './options';

/** One re-driven execution as `sweep --json` reports it. */
export interface SweptExecution {
  name: string;
  key: string;
  /** `COMPLETED` or `REFUSED` (the batch's own answer), or `FAILED` (the execution failed). */
  status: 'COMPLETED' | 'REFUSED' | 'FAILED';
  batchId: string | null;
  error: string | null;
}

export interface SweepResult {
  ok: boolean;
  jobs: NightlySummary['jobs'];
  executions: SweptExecution[];
  stateDir: string;
}

function describeExecution(name: string, input: unknown, result: LocalExecutionResult): SweptExecution {
  const key = String((input as { key?: unknown } | null)?.key ?? '');
  const output = result.output as { status?: string; batchId?: string; error?: { message?: string } } | undefined;
  if (result.status === 'FAILED') {
    return {
      name,
      key,
      status: 'FAILED',
      batchId: null,
      error: `${result.error ?? 'execution failed'}${result.cause === undefined ? '' : `: ${result.cause}`}`,
    };
  }
  const refused = output?.status === 'REFUSED';
  return {
    name,
    key,
    status: refused ? 'REFUSED' : 'COMPLETED',
    batchId: output?.batchId ?? null,
    error: refused ? (output?.error?.message ?? 'refused') : null,
  };
}

export function sweepCommand(context: CommandContext): Command {
  return new Command('sweep')
    .description('run the nightly sweep on the local state: start batches in incoming/ that never ran or never finished, send owed review messages')
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .action(async (options: JsonOption & StateDirOption) => {
      const json = options.json === true;
      const [{ checkStateDir }, { withTarget }, { phase, ProgressBar }] = await Promise.all([
        import('../checks/state-dir'),
        import('../target'),
        import('../../local/progress'),
      ]);
      const stateDir = await checkStateDir(options.stateDir);
      phase('Synthesizing the stack and starting local AWS stand-ins…', !json);
      const result = await withTarget({ stateDir, command: 'sweep' }, async (target): Promise<SweepResult> => {
        const session = target.session!;
        phase('Running the Nightly stage’s sweep…', !json);
        const summary = (await session.invokeStage('Nightly', { graceSeconds: 0 })) as NightlySummary;
        const started = summary.jobs['redriveBatches']?.counts['started'] ?? 0;
        const bar = new ProgressBar('Re-driving batches', !json && process.stderr.isTTY === true);
        let done = 0;
        const executions = await session.runStartedExecutions((execution) => {
          bar.update(done, Math.max(started, done + 1), String((execution.input as { key?: unknown }).key ?? ''));
          done += 1;
        });
        bar.done();
        const swept = executions.map((execution) => describeExecution(execution.name, execution.input, execution.result));
        return { ok: summary.ok && swept.every((execution) => execution.status !== 'FAILED'), jobs: summary.jobs, executions: swept, stateDir };
      });
      if (json) printJsonLine(result);
      else console.log(formatSweep(result));
      context.setExitCode(result.ok ? 0 : 1);
    });
}

function formatSweep(result: SweepResult): string {
  const lines = [`Sweep of the local state in ${result.stateDir}: ${result.ok ? 'done' : 'done, with errors'}`];
  for (const [job, outcome] of Object.entries(result.jobs)) {
    const counts = Object.entries(outcome.counts)
      .filter(([, count]) => count > 0)
      .map(([name, count]) => `${name} ${count}`);
    lines.push(`  ${job}: ${counts.length === 0 ? 'nothing to do' : counts.join(', ')}`);
    for (const error of outcome.errors) lines.push(`    error: ${error}`);
  }
  for (const execution of result.executions) {
    lines.push(
      `  ${execution.key} → ${execution.status}${execution.batchId === null ? '' : ` (batch ${execution.batchId})`}${execution.error === null ? '' : `: ${execution.error}`}`,
    );
  }
  return lines.join('\n');
}
