/**
 * Runs a checked batch through the local pipeline (local/run-batch.ts) and prints the outcome: `run` and `demo`
 * share it. Everything here comes after the usage checks; the heavy modules (CDK, stand-ins, models) are imported
 * only now, so a usage error never pays for them.
 */
import { phase, ProgressBar } from '../local/progress';
import type { CfnTemplate } from '../local/template';
import type { BatchArchive } from './checks/batch-archive';
import { printError, printJsonLine } from './output';
import { formatSummary } from './run-summary';

export interface RunOptions {
  stateDir: string;
  json: boolean;
  /** A checked --template; synthesized in-process when absent. */
  template?: CfnTemplate;
}

/** Returns the exit code: 0 when the batch completed, 1 when it was refused or the execution failed. */
export async function runAndPrint(batch: BatchArchive, options: RunOptions): Promise<number> {
  const starting = options.template === undefined ? 'Synthesizing the stack and starting local AWS stand-ins…' : 'Starting local AWS stand-ins…';
  phase(starting, !options.json);
  // On a first run the models take seconds to load: the model server starts now, beside the imports below.
  void import('../local/sagemaker/model-server-client').then((client) => client.prestartModelServer());
  const { runBatchLocally, runExitCode } = await import('../local/run-batch');
  const bar = new ProgressBar('Processing assets', !options.json && process.stderr.isTTY === true);
  let assetsDone = 0;
  const run = await runBatchLocally(batch.archive, batch.fileName, {
    stateDir: options.stateDir,
    template: options.template,
    onMapBatch: (done, total, assets) => {
      assetsDone += assets;
      bar.update(done, total, `batches (${assetsDone} assets)`);
    },
  });
  bar.done();
  const { result } = run;
  if (result.status !== 'COMPLETED') {
    printError(result.error, { ...result }, { json: options.json });
    // 1 for a refused or failed batch; 130 (143) when Ctrl-C (TERM) interrupted the run.
    return runExitCode(result);
  }
  if (options.json) printJsonLine(result);
  else {
    console.log(formatSummary(result, run));
    await mentionModelServer();
  }
  return 0;
}

/** After the run that started the background model server: say that it stays, for how long, and how to end it. */
async function mentionModelServer(): Promise<void> {
  const { modelServerStartedHere } = await import('../local/sagemaker/model-server-client');
  const server = modelServerStartedHere();
  if (server === undefined) return;
  const minutes = Math.round(server.idleSeconds / 60);
  process.stderr.write(
    `The models stay loaded in a background process (pid ${server.pid}) so the next runs start faster; it exits after ${minutes} min without work (media-triage model-server stop ends it now).\n`,
  );
}
