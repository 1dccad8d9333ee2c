/**
 * Usage problems: how the CLI was called, as opposed to what happened while it ran. Each one becomes exit 2, a single
 * `error: …` line that names the problem and where to read more, and `{"error","code":"USAGE"}` with --json. They are
 * all found before anything is synthesized or started, so a typo costs a fraction of a second, not a stack synth.
 */
import { InvalidArgumentError, type Command, type CommanderError } from 'commander';

/** The CLI's name as a person types it (the package's bin). */
export const CLI_NAME = 'media-triage';

export const USAGE_EXIT_CODE = 2;

/** A usage problem; `command` is the one it concerns when known (else the command whose action found it). */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  constructor(
    problem: string,
    readonly command?: Command,
  ) {
    super(problem);
  }
}

/**
 * Whether a flag was given, read from the raw arguments. Errors found while commander is still parsing (an unknown
 * flag before `--json`, say) must honour `--json` and `--debug` although commander never got to set them.
 */
export function hasFlag(argv: readonly string[], flag: string): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes(flag);
}

/** `run`, `model rollback`: the words after the program name that name the command. */
export function commandWords(command: Command): string[] {
  const words: string[] = [];
  for (let current: Command | null = command; current?.parent != null; current = current.parent) words.unshift(current.name());
  return words;
}

/** The one line printed for a usage problem: what is wrong, then where the command's help is. */
export function usageLine(error: UsageError, fallback: Command): string {
  const command = error.command ?? fallback;
  return `${error.message} (see ${[CLI_NAME, ...commandWords(command), '--help'].join(' ')})`;
}

function forCommand(command: Command): string {
  const words = commandWords(command);
  return words.length === 0 ? '' : ` for '${words.join(' ')}'`;
}

/**
 * Commander's error for `command` as one line a person can act on: which command, what was wrong, where the help
 * is. Commander's texts are kept where they already say that, and put on one line (its suggestions come on a second).
 */
export function fromCommanderError(error: CommanderError, command: Command): UsageError {
  const suggested = /\n\(Did you mean (.+)\?\)$/.exec(error.message);
  const suggestion = suggested === null ? '' : `; did you mean ${suggested[1]}?`;
  const text = error.message
    .slice(0, suggested?.index)
    .replace(/^error: /, '')
    .replace(/ is invalid\. /, ' is invalid: ')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\.$/, '');
  switch (error.code) {
    case 'commander.excessArguments': {
      const expected = command.registeredArguments.map((argument) => `<${argument.name()}>`);
      const extra = command.args.slice(expected.length).map((arg) => `'${arg}'`);
      const takes = expected.length === 0 ? 'which takes no arguments' : `which takes ${expected.join(' ')}`;
      return new UsageError(`unexpected argument ${extra.join(' ')}${forCommand(command)}, ${takes}`, command);
    }
    case 'commander.help': {
      // Commander's "no subcommand given" (or `help <unknown>`): it would print the whole help on stderr.
      const [first, second] = command.args;
      if (first === 'help' && second !== undefined) return new UsageError(`unknown command '${second}'${forCommand(command)}`, command);
      return missingCommand(command);
    }
    case 'commander.unknownOption':
      if (isSubcommandOptionWithoutSubcommand(command)) return missingCommand(command);
      return new UsageError(`${text}${forCommand(command)}${suggestion}`, command);
    case 'commander.invalidArgument': {
      const flagAsValue = new RegExp(`^option '(.+?)' argument '(-.*)' is invalid: ${FLAG_AS_VALUE}`).exec(text);
      if (flagAsValue === null) return new UsageError(text, command);
      const [, flags, value] = flagAsValue;
      return new UsageError(`option '${flags}' argument missing${forCommand(command)} (the next word, '${value}', is a flag)`, command);
    }
    case 'commander.optionMissingArgument':
    case 'commander.missingMandatoryOptionValue':
    case 'commander.missingArgument':
    case 'commander.unknownCommand':
      return new UsageError(`${text}${forCommand(command)}${suggestion}`, command);
    default:
      return new UsageError(`${text}${suggestion}`, command);
  }
}

function missingCommand(command: Command): UsageError {
  const names = command.commands.map((sub) => sub.name()).join(', ');
  return new UsageError(`missing command${forCommand(command)}: one of ${names}`, command);
}

/**
 * `media-triage --json`, `media-triage model --json`: a flag of the commands below, with no command named. The
 * missing command is the problem to report, not that this level does not know the flag.
 */
function isSubcommandOptionWithoutSubcommand(command: Command): boolean {
  if (command.commands.length === 0 || command.args.some((arg) => !arg.startsWith('-'))) return false;
  const below = new Set<string>();
  const collect = (parent: Command): void => {
    for (const sub of parent.commands) {
      for (const option of sub.options) if (option.long !== undefined) below.add(option.long);
      collect(sub);
    }
  };
  collect(command);
  return command.args.every((arg) => below.has(arg.split('=')[0]!));
}

const FLAG_AS_VALUE = 'the value is missing';

/**
 * Parser for an option's value. Commander takes the next word as the value even when it is a flag, so
 * `--state-dir --json` would silently make a folder called "--json"; a value that looks like a flag is a missing value.
 */
export function optionValue(value: string): string {
  if (value === '') throw new InvalidArgumentError('the value is empty');
  if (value.startsWith('-')) throw new InvalidArgumentError(FLAG_AS_VALUE);
  return value;
}
