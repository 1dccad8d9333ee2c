/** `media-triage run <batch.zip>`: one batch through the local pipeline. */
import { Command, Option } from 'commander';
import { readBatchArchive } from '../checks/batch-archive';
import { checkStateDir } from '../checks/state-dir';
import { readRunnableTemplate } from '../checks/template-file';
import { runAndPrint } from '../run-and-print';
import { optionValue } from '../usage';
import type { CommandContext } from './context';
import { jsonOption, stateDirOption, type JsonOption, type StateDirOption } from './options';

interface RunCommandOptions extends JsonOption, StateDirOption {
  template?: string;
}

export function runCommand(context: CommandContext): Command {
  return new Command('run')
    .description('run a batch archive through the local pipeline and print a summary')
    .argument('<batch.zip>', 'the batch archive: a zip with manifest.csv or manifest.jsonl and the images (README "The batch contract")')
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .addOption(
      new Option('--template <file>', 'run this synthesized template (e.g. cdk.out/MediaTriage.template.json) instead of synthesizing in-process').argParser(
        optionValue,
      ),
    )
    .action(async (file: string, options: RunCommandOptions) => {
      // Every check before anything is synthesized or started: a usage problem costs no synth.
      const batch = await readBatchArchive(file);
      const template = options.template === undefined ? undefined : await readRunnableTemplate(options.template, batch);
      const stateDir = await checkStateDir(options.stateDir);
      context.setExitCode(await runAndPrint(batch, { stateDir, json: options.json === true, template }));
    });
}
