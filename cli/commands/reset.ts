/** `media-triage reset`: deletes the local state (records, review queue, reports). */
import { Command } from 'commander';
import { resetStateDir } from '../../local/state-dir';
import { checkStateDir } from '../checks/state-dir';
import { printError, printJsonLine } from '../output';
import type { CommandContext } from './context';
import { jsonOption, stateDirOption, type JsonOption, type StateDirOption } from './options';

export function resetCommand(context: CommandContext): Command {
  return new Command('reset')
    .description('delete the local state (records, review queue, reports)')
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .action(async (options: JsonOption & StateDirOption) => {
      const stateDir = await checkStateDir(options.stateDir);
      // Deletes only a folder media-triage made (its marker) and no run holds (its lock).
      const reset = await resetStateDir(stateDir);
      if (!reset.ok) {
        printError(reset.error, { error: reset.error, code: reset.code, stateDir }, { json: options.json === true });
        context.setExitCode(1);
        return;
      }
      if (options.json === true) printJsonLine({ reset: reset.removed, stateDir });
      else console.log(reset.removed ? `Removed local state in ${stateDir}` : `No local state in ${stateDir}; nothing to remove`);
      context.setExitCode(0);
    });
}
