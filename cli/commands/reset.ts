/** `media-triage reset`: deletes the local state (records, review queue, reports). */
import { Command } from 'commander';
import { rm } from 'node:fs/promises';
import { checkStateDir } from '../checks/state-dir';
import { printJsonLine } from '../output';
import type { CommandContext } from './context';
import { jsonOption, stateDirOption, type JsonOption, type StateDirOption } from './options';

export function resetCommand(context: CommandContext): Command {
  return new Command('reset')
    .description('delete the local state (records, review queue, reports)')
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .action(async (options: JsonOption & StateDirOption) => {
      const stateDir = await checkStateDir(options.stateDir);
      // The one call that deletes; a guarded reset (lib/local/) replaces exactly this line.
      await rm(stateDir, { recursive: true, force: true });
      if (options.json === true) printJsonLine({ reset: true, stateDir });
      else console.log(`Removed local state in ${stateDir}`);
      context.setExitCode(0);
    });
}
