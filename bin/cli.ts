/**
 * media-triage CLI. Every command has a --json form whose last stdout line is one JSON object (README "CLI output").
 *
 *   media-triage run <batch.zip> [--json] [--state-dir DIR] [--template FILE]
 *   media-triage demo [--json] [--state-dir DIR]
 *   media-triage reset [--state-dir DIR] [--json]
 *   media-triage model rollback <category|policy> --to VERSION --endpoint NAME [--stack NAME] [--region R] [--wait]
 *     [--keep-guardrails] [--json]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { OUTCOMES, REASON_CODES, type ReasonCode } from '../lambdas/core/outcomes';
import { STACK_NAME } from '../lib/app';
import { formatRollback, rollbackModel } from '../lib/ops/model-rollback';
import { demoBatch } from '../lib/local/demo-batch';
import { readTemplateFile } from '../lib/local/local-session';
import { phase, ProgressBar } from '../lib/local/progress';
import { runBatchLocally, runExitCode, type RunResult, type RunSummary } from '../lib/local/run-batch';
import { ensureStateDir, resetStateDir } from '../lib/local/state-dir';

const USAGE = `usage:
  media-triage run <batch.zip> [--json] [--state-dir DIR] [--template FILE]
  media-triage demo [--json] [--state-dir DIR]
  media-triage reset [--json] [--state-dir DIR]
  media-triage model rollback <category|policy> --to VERSION --endpoint NAME [--stack NAME] [--region R]
                              [--wait] [--keep-guardrails] [--json]

  --state-dir DIR     where local state persists (default: .media-triage in the current folder)
  --template FILE     run this synthesized template instead of synthesizing the stack in-process
  --to VERSION        model rollback: the listed version label to go back to
  --endpoint NAME     model rollback: the endpoint (stack output CategoryEndpointName / PolicyEndpointName)
  --stack NAME        model rollback: the CloudFormation stack (default: ${STACK_NAME})
  --region R          model rollback: AWS region (default: from the AWS environment)
  --wait              model rollback: wait until the endpoint is InService on the new version
  --keep-guardrails   model rollback: keep the endpoint's blue/green alarms for this update`;

/** `model rollback` targets: CLI name -> HuggingFaceEndpoint construct id in lib/media-triage-stack.ts. */
const MODEL_CONSTRUCTS: Record<string, string> = { category: 'CategoryModel', policy: 'PolicyModel' };

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      'state-dir': { type: 'string' },
      template: { type: 'string' },
      to: { type: 'string' },
      endpoint: { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      wait: { type: 'boolean', default: false },
      'keep-guardrails': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const json = values.json === true;
  const stateDir = path.resolve(values['state-dir'] ?? process.env['MEDIA_TRIAGE_HOME'] ?? '.media-triage');
  const [command, ...rest] = positionals;
  try {
    if (values.help || command === undefined || command === 'help') {
      console.log(USAGE);
      return command === undefined && !values.help ? 2 : 0;
    }
    switch (command) {
      case 'run': {
        const file = rest[0];
        if (file === undefined) throw new UsageError('run needs the path of a batch archive (.zip)');
        const archive = await readFile(file).catch((error: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
        });
        return await runAndPrint(archive, path.basename(file), stateDir, json, values.template);
      }
      case 'demo': {
        const archive = demoBatch();
        const file = path.join(stateDir, 'demo', 'demo-batch.zip');
        await ensureStateDir(stateDir);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, archive);
        phase(`Demo batch written to ${path.relative(process.cwd(), file)} (${(archive.byteLength / 1024).toFixed(0)} KiB)`, !json);
        return await runAndPrint(archive, 'demo-batch.zip', stateDir, json, undefined);
      }
      case 'reset': {
        const reset = await resetStateDir(stateDir);
        if (!reset.ok) {
          console.error(`error: ${reset.error}`);
          if (json) console.log(JSON.stringify({ error: reset.error, code: reset.code, stateDir }));
          return 1;
        }
        if (json) console.log(JSON.stringify({ reset: reset.removed, stateDir }));
        else console.log(reset.removed ? `Removed local state in ${stateDir}` : `No local state in ${stateDir}; nothing to remove`);
        return 0;
      }
      case 'model': {
        const [action, which] = rest;
        if (action !== 'rollback') throw new UsageError('model needs a subcommand: model rollback <category|policy> --to VERSION --endpoint NAME');
        const constructId = Object.hasOwn(MODEL_CONSTRUCTS, which ?? '') ? MODEL_CONSTRUCTS[which ?? ''] : undefined;
        if (constructId === undefined) throw new UsageError(`model rollback needs the endpoint: category or policy, got "${which ?? ''}"`);
        if (values.to === undefined) throw new UsageError('model rollback needs --to VERSION (a version label listed in the stack)');
        if (values.endpoint === undefined) throw new UsageError('model rollback needs --endpoint NAME (stack output CategoryEndpointName / PolicyEndpointName)');
        const result = await rollbackModel({
          endpointName: values.endpoint,
          toVersion: values.to,
          stackName: values.stack ?? STACK_NAME,
          constructId,
          client: new SageMakerClient(values.region === undefined ? {} : { region: values.region }),
          wait: values.wait === true,
          keepGuardrails: values['keep-guardrails'] === true,
        });
        if (json) console.log(JSON.stringify(result));
        else console.log(formatRollback(result));
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    const message = (error as Error).message;
    console.error(`error: ${message}`);
    if (json) console.log(JSON.stringify({ error: message, code: error instanceof UsageError ? 'USAGE' : 'ERROR' }));
    return error instanceof UsageError ? 2 : 1;
  }
}

async function runAndPrint(archive: Buffer, fileName: string, stateDir: string, json: boolean, templateFile: string | undefined): Promise<number> {
  phase('Synthesizing the stack and starting local AWS stand-ins…', !json);
  const bar = new ProgressBar('Processing assets', !json && process.stderr.isTTY === true);
  let assetsDone = 0;
  const run = await runBatchLocally(archive, fileName, {
    stateDir,
    template: templateFile === undefined ? undefined : await readTemplateFile(templateFile),
    onMapBatch: (done, total, assets) => {
      assetsDone += assets;
      bar.update(done, total, `batches (${assetsDone} assets)`);
    },
  });
  bar.done();
  const { result } = run;
  if (result.status !== 'COMPLETED') {
    console.error(`error: ${result.error}`);
    if (json) console.log(JSON.stringify(result));
    return runExitCode(result);
  }
  if (json) console.log(JSON.stringify(result));
  else printSummary(result, run);
  return 0;
}

function printSummary(summary: RunSummary, run: RunResult): void {
  const lines: string[] = [];
  lines.push('', `Batch ${summary.batchId}  (${summary.assets} assets, dt=${summary.dt}, ${(summary.elapsedMs / 1000).toFixed(1)} s)`, '');
  lines.push('Outcomes');
  for (const outcome of OUTCOMES) lines.push(`  ${outcome.padEnd(15)} ${String(summary.outcomes[outcome]).padStart(4)}`);
  lines.push('', 'Reason codes');
  const reasons = Object.entries(summary.reasons) as Array<[ReasonCode, number]>;
  if (reasons.length === 0) lines.push('  (none)');
  for (const [code, count] of reasons) lines.push(`  ${code.padEnd(23)} ${String(count).padStart(4)}  ${REASON_CODES[code]}`);
  if (run.attention.length > 0) {
    lines.push('', 'Assets that need attention');
    for (const record of run.attention) {
      const id = record.listing.assetId ?? record.assetKey;
      lines.push(`  ${record.outcome.padEnd(14)} ${id.padEnd(12)} ${record.reasons.join(', ')}`);
      for (const line of wrap(record.explanation, 100)) lines.push(`  ${''.padEnd(14)} ${''.padEnd(12)} ${line}`);
    }
  }
  lines.push('', `Sent to the review queue: ${summary.sentToReview} (${summary.auditSamples} of them auto-passed audit samples)`);
  lines.push(`Records:  DynamoDB table ${summary.records.table} (local, in ${summary.records.stateDir ?? 'memory'})`);
  lines.push(`Reports:  ${summary.reportsDir ?? '(in memory)'}`);
  lines.push(`          ${summary.reports.assets}`, `          ${summary.reports.summary}`);
  lines.push(`Versions: pipeline ${summary.versions.pipeline}, taxonomy ${summary.versions.taxonomy}, triage policy ${summary.versions.policy}`);
  console.log(lines.join('\n'));
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

process.exitCode = await main(process.argv.slice(2));
