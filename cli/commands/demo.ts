/** `media-triage demo`: builds the demo batch from photos that ship in npm and runs it (`npm run demo`). */
import { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { demoBatch } from '../../local/demo-batch';
import { phase } from '../../local/progress';
import { ensureStateDir } from '../../local/state-dir';
import { checkStateDir } from '../checks/state-dir';
import { runAndPrint } from '../run-and-print';
import type { CommandContext } from './context';
import { jsonOption, stateDirOption, type JsonOption, type StateDirOption } from './options';

const DEMO_FILE_NAME = 'demo-batch.zip';

export function demoCommand(context: CommandContext): Command {
  return new Command('demo')
    .description(`build the demo batch (<state-dir>/demo/${DEMO_FILE_NAME}) and run it through the local pipeline`)
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .action(async (options: JsonOption & StateDirOption) => {
      const stateDir = await checkStateDir(options.stateDir);
      const json = options.json === true;
      const archive = demoBatch();
      const file = path.join(stateDir, 'demo', DEMO_FILE_NAME);
      // The demo writes into the state dir before the run creates it: create it the marked way (safe reset).
      await ensureStateDir(stateDir);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, archive);
      phase(`Demo batch written to ${path.relative(process.cwd(), file)} (${(archive.byteLength / 1024).toFixed(0)} KiB)`, !json);
      context.setExitCode(await runAndPrint({ archive, fileName: DEMO_FILE_NAME }, { stateDir, json }));
    });
}
