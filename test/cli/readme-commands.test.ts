/** README "Commands" lists every command of the CLI's tree with each of its options: the table and the code agree. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/program';
import { commandWords } from '../../cli/usage';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const commandRows = readme.split('\n').filter((line) => line.startsWith('| `npx media-triage '));

function leaves(command: Command): Command[] {
  return command.commands.length === 0 ? [command] : command.commands.flatMap(leaves);
}

describe('README Commands table', () => {
  const { program } = buildProgram();

  it.each(leaves(program).map((command) => [commandWords(command).join(' '), command] as const))('documents %s with its options', (words, command) => {
    const row = commandRows.find((line) => line.startsWith(`| \`npx media-triage ${words} `));
    expect(row, `no row for ${words}`).toBeDefined();
    const usage = row!.split('` |')[0]!;
    for (const option of command.options) {
      if (option.long !== undefined && option.long !== '--help') expect(usage, `${words}: ${option.long}`).toContain(option.long);
    }
    for (const argument of command.registeredArguments) {
      const choices = argument.argChoices?.join('\\|');
      expect(usage).toContain(choices === undefined ? `<${argument.name()}>` : `<${choices}>`);
    }
  });

  it('documents no command the CLI does not have', () => {
    const known = new Set(leaves(program).map((command) => commandWords(command).join(' ')));
    const documented = commandRows
      .map((line) => /^\| `npx media-triage ([a-z][a-z ]*?)(?= [<[-]|`)/.exec(line)?.[1])
      .filter((words): words is string => words !== undefined);
    expect(documented.filter((words) => !known.has(words))).toEqual([]);
    expect(documented.length).toBeGreaterThan(0);
  });
});
