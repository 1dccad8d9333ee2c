/**
 * The command tree. Each command lives in cli/commands/ and its action is one call into the modules that do the work
 * (local/, cli/ops/). Here: the global options, help, and routing commander's own errors and output through
 * cli/usage.ts, so a usage problem is one line, exit 2 and `{"code":"USAGE"}` wherever it is found.
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import type { CommandContext } from './commands/context';
import { costCommand } from './commands/cost';
import { demoCommand } from './commands/demo';
import { modelCommand } from './commands/model';
import { modelServerCommand } from './commands/model-server';
import { purgeCommand } from './commands/purge';
import { queryCommand } from './commands/query';
import { reportCommand } from './commands/report';
import { resetCommand } from './commands/reset';
import { datasetCommand, reviewCommand } from './commands/review';
import { showCommand, statusCommand } from './commands/records';
import { runCommand } from './commands/run';
import { submitCommand } from './commands/submit';
import { sweepCommand } from './commands/sweep';
import { CLI_NAME, fromCommanderError } from './usage';

const AFTER_HELP = `
Exit codes: 0 done, 1 the batch was refused or failed or another error, 2 a usage problem (nothing was started).
With --json the last stdout line is one JSON object; errors are {"error": "...", "code": "..."} (README "CLI output").`;

export interface CliProgram {
  program: Command;
  /** The exit code the action that ran asked for (0 when none ran, e.g. --help). */
  exitCode(): number;
  /** The command whose action ran, to name it in a usage problem its checks found. */
  actionCommand(): Command | undefined;
}

export function buildProgram(): CliProgram {
  let exitCode = 0;
  let actionCommand: Command | undefined;
  const context: CommandContext = { setExitCode: (code) => void (exitCode = code) };
  const program = new Command(CLI_NAME)
    .description('Batch image triage: run batches through the local pipeline, and operate a deployed stack.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--debug', 'print stack traces of unexpected errors')
    .addHelpText('after', AFTER_HELP)
    .addCommand(runCommand(context))
    .addCommand(demoCommand(context))
    .addCommand(resetCommand(context))
    .addCommand(modelCommand(context))
    .addCommand(modelServerCommand(context))
    .addCommand(reviewCommand(context))
    .addCommand(datasetCommand(context))
    .addCommand(submitCommand(context))
    .addCommand(showCommand(context))
    .addCommand(statusCommand(context))
    .addCommand(queryCommand(context))
    .addCommand(reportCommand(context))
    .addCommand(costCommand(context))
    .addCommand(purgeCommand(context))
    .addCommand(sweepCommand(context))
    .hook('preAction', (_program, action) => {
      actionCommand = action;
    });
  for (const command of commandTree(program)) routeCommanderOutput(command);
  return { program, exitCode: () => exitCode, actionCommand: () => actionCommand };
}

function* commandTree(command: Command): Generator<Command> {
  yield command;
  for (const sub of command.commands) yield* commandTree(sub);
}

/**
 * Commander prints its errors itself and would exit the process; instead each command throws: the help and version
 * exits as they are (exit 0), every other error as a UsageError that names the command it concerns.
 */
function routeCommanderOutput(command: Command): void {
  command
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      // Commander writes only error text and "help on error" here; both become our one line instead.
      writeErr: () => undefined,
      outputError: () => undefined,
    })
    .exitOverride((error) => {
      if (error.exitCode === 0) throw error;
      throw fromCommanderError(error, command);
    });
}

/** Whether commander ended the parse without an error: --help, help, --version. */
export function isCleanExit(error: unknown): boolean {
  return error instanceof CommanderError && error.exitCode === 0;
}

function packageVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('../package.json') as { version: string }).version;
}
