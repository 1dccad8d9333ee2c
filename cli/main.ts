/**
 * Runs the CLI on the given arguments and returns the exit code: 0 done, 1 a refused or failed batch or an
 * unexpected error, 2 a usage problem. No stack trace reaches the user unless --debug asks for it.
 */
import { printError } from './output';
import { buildProgram, isCleanExit } from './program';
import { hasFlag, usageLine, UsageError, USAGE_EXIT_CODE } from './usage';

interface ErrorSettings {
  json: boolean;
  debug: boolean;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  // Read from the raw arguments: an error can come before commander has parsed --json or --debug.
  const settings: ErrorSettings = { json: hasFlag(argv, '--json'), debug: hasFlag(argv, '--debug') };
  catchStrayErrors(settings);
  const cli = buildProgram();
  try {
    await cli.program.parseAsync([...argv], { from: 'user' });
    return cli.exitCode();
  } catch (error) {
    if (isCleanExit(error)) return 0;
    if (error instanceof UsageError) {
      const line = usageLine(error, cli.actionCommand() ?? cli.program);
      printError(line, { error: line, code: 'USAGE' }, { json: settings.json });
      return USAGE_EXIT_CODE;
    }
    reportUnexpected(error, settings);
    return 1;
  }
}

/** Errors whose `code` is part of the JSON contract (README "CLI output"); anything else is code ERROR. */
const CODED_ERRORS = new Set(['ReviewError', 'StateDirError', 'TargetError']);

function reportUnexpected(error: unknown, settings: ErrorSettings): void {
  const message = error instanceof Error ? error.message || error.name : String(error);
  const stack = settings.debug && error instanceof Error ? error.stack : undefined;
  const own = error instanceof Error && CODED_ERRORS.has(error.name) ? (error as { code?: unknown }).code : undefined;
  const code = typeof own === 'string' ? own : error instanceof Error && error.name === 'TargetError' ? 'TARGET' : 'ERROR';
  printError(message, { error: message, code }, { json: settings.json, stack });
}

/** An error thrown outside the awaited chain (a stand-in's socket, a timer) still ends as one line, not a trace. */
function catchStrayErrors(settings: ErrorSettings): void {
  // `media-triage show … | head`: the reader went away, which is not an error of the command.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
  });
  const fail = (error: unknown): void => {
    reportUnexpected(error, settings);
    process.exit(1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}
