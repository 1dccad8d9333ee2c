/**
 * `media-triage submit <batch.zip> --stack NAME`: a batch on a deployed stack. Checks the archive as `run` does,
 * uploads it under `incoming/` of the stack's data bucket (the stack's EventBridge rule starts the execution), follows
 * the execution with a progress bar until the batch is reported, and prints the `run` summary plus `executionArn`.
 * Ctrl-C stops following, never the execution.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { deriveBatchId } from '../../lambdas/core/batch-plan';
import { OUTCOMES, REASON_CODES, type ReasonCode } from '../../lambdas/core/outcomes';
import { readBatchArchive } from '../checks/batch-archive';
import { printError, printJsonLine } from '../output';
import { optionValue } from '../usage';
import type { CommandContext } from './context';
import { jsonOption, type JsonOption } from './options';
import type { SubmitSummary } from '../ops/submit-batch';

interface SubmitOptions extends JsonOption {
  stack: string;
  region?: string;
  timeout: number;
  pollSeconds: number;
}

function positiveSeconds(flag: string): (value: string) => number {
  return (value) => {
    const parsed = Number(optionValue(value));
    if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError(`${flag} "${value}" is not a positive number of seconds`);
    return parsed;
  };
}

export function submitCommand(context: CommandContext): Command {
  return new Command('submit')
    .description('upload a batch archive to a deployed stack and follow its execution until the batch is reported')
    .argument('<batch.zip>', 'the batch archive (README "The batch contract"), uploaded as incoming/<name>.zip')
    .addOption(
      new Option('--stack <name>', 'the deployed stack (bucket, table, queue and state machine from its CloudFormation outputs)')
        .argParser(optionValue)
        .makeOptionMandatory(),
    )
    .addOption(new Option('--region <region>', 'AWS region of --stack (default: from the AWS environment)').argParser(optionValue))
    .addOption(
      new Option('--timeout <seconds>', 'stop following after this long (the execution goes on; see status)')
        .argParser(positiveSeconds('--timeout'))
        .default(3600),
    )
    .addOption(new Option('--poll-seconds <seconds>', 'between polls of the execution and the records').argParser(positiveSeconds('--poll-seconds')).default(2))
    .addOption(jsonOption())
    .action(async (file: string, options: SubmitOptions) => {
      const batch = await readBatchArchive(file);
      context.setExitCode(await submit(batch.archive, batch.fileName, options));
    });
}

async function submit(archive: Buffer, fileName: string, options: SubmitOptions): Promise<number> {
  const started = Date.now();
  const json = options.json === true;
  const [
    { stackTarget, TargetError },
    { uploadBatch, followUpload, resultOfExecution },
    { ProgressBar, phase },
    { watchInterrupts, exitCodeFor },
    { resetExecutionsClient },
  ] = await Promise.all([
    import('../target'),
    import('../ops/submit-batch'),
    import('../../local/progress'),
    import('../../local/interrupts'),
    import('../ops/executions'),
  ]);
  const target = await stackTarget({ stack: options.stack, region: options.region });
  resetExecutionsClient();
  const { names } = target;
  if (names.stateMachineArn === undefined) throw new TargetError(`stack ${options.stack} has no output StateMachineArn: redeploy it with this version`);
  const bars = !json && process.stderr.isTTY === true;
  const interrupts = watchInterrupts((signal) => process.stderr.write(`\n${signal}: stopping following (the execution goes on; again to exit at once)…\n`));
  try {
    const uploading = new ProgressBar('Uploading', bars);
    const uploaded = await uploadBatch(names, archive, fileName, {
      signal: interrupts.signal,
      onBytes: (sent, total) => uploading.update(Math.round(sent / 1024), Math.round(total / 1024), 'KiB'),
    }).catch((error: unknown) => {
      const signal = interrupts.interruptedBy();
      if (signal === undefined) throw error;
      return signal;
    });
    uploading.done();
    if (typeof uploaded === 'string') {
      // Stopped while uploading: the multipart upload was aborted, so nothing landed and nothing started.
      const error = `interrupted by ${uploaded} while uploading: nothing was submitted`;
      const batchId = deriveBatchId(`incoming/${fileName}`, archive);
      printError(error, { status: 'INTERRUPTED', code: 'INTERRUPTED', error, signal: uploaded, batchId, executionArn: null }, { json });
      return exitCodeFor(uploaded);
    }
    phase(`Uploaded s3://${uploaded.bucket}/${uploaded.key} (batch ${uploaded.batchId}); waiting for its execution…`, !json);
    const processing = new ProgressBar('Processing assets', bars);
    const followed = await followUpload(names, uploaded, {
      pollMs: options.pollSeconds * 1000,
      deadline: started + options.timeout * 1000,
      signal: interrupts.signal,
      onExecution: (arn) => phase(`Following execution ${arn}`, !json),
      onProgress: (recorded, expected) => processing.update(recorded, expected ?? 0, 'assets recorded'),
    });
    processing.done();
    const follow = (arn: string | null): string =>
      arn === null
        ? `see media-triage status ${uploaded.batchId} --stack ${options.stack}`
        : `execution ${arn} goes on; see media-triage status ${uploaded.batchId} --stack ${options.stack}`;
    if (followed.kind === 'interrupted') {
      const signal = interrupts.interruptedBy() ?? 'SIGINT';
      const error = `interrupted by ${signal}: stopped following; ${follow(followed.executionArn)}`;
      printError(
        error,
        { status: 'INTERRUPTED', code: 'INTERRUPTED', error, signal, batchId: uploaded.batchId, executionArn: followed.executionArn },
        { json },
      );
      return exitCodeFor(signal);
    }
    if (followed.kind === 'timeout') {
      const code = followed.executionArn === null ? 'NO_EXECUTION' : 'FOLLOW_TIMEOUT';
      const error =
        followed.executionArn === null
          ? `no execution of ${names.stateMachineArn} started for s3://${uploaded.bucket}/${uploaded.key} within ${options.timeout} s (is the stack's EventBridge rule enabled?)`
          : `stopped following after ${options.timeout} s (--timeout); ${follow(followed.executionArn)}`;
      printError(error, { status: 'FAILED', code, error, batchId: uploaded.batchId, executionArn: followed.executionArn }, { json });
      return 1;
    }
    const result = resultOfExecution(names, uploaded, followed, started);
    if (result.status !== 'COMPLETED') {
      printError(result.error, { ...result }, { json });
      return 1;
    }
    if (json) printJsonLine(result);
    else console.log(formatSubmitted(result, target.description));
    return 0;
  } finally {
    interrupts.dispose();
    await target.close();
  }
}

function formatSubmitted(summary: SubmitSummary, where: string): string {
  const lines = [
    '',
    `Batch ${summary.batchId}  (${summary.assets} assets, dt=${summary.dt}, ${(summary.elapsedMs / 1000).toFixed(1)} s, ${where})`,
    '',
    'Outcomes',
  ];
  for (const outcome of OUTCOMES) lines.push(`  ${outcome.padEnd(15)} ${String(summary.outcomes[outcome]).padStart(4)}`);
  lines.push('', 'Reason codes');
  const reasons = Object.entries(summary.reasons) as Array<[ReasonCode, number]>;
  if (reasons.length === 0) lines.push('  (none)');
  for (const [code, count] of reasons) lines.push(`  ${code.padEnd(23)} ${String(count).padStart(4)}  ${REASON_CODES[code]}`);
  lines.push('', `Sent to the review queue ${summary.reviewQueue}: ${summary.sentToReview} (${summary.auditSamples} of them auto-passed audit samples)`);
  lines.push(`Records:   DynamoDB table ${summary.records.table}`);
  lines.push(`Reports:   s3://${summary.reportsBucket}/${summary.reports.assets}`, `           s3://${summary.reportsBucket}/${summary.reports.summary}`);
  lines.push(`Execution: ${summary.executionArn}`);
  lines.push(`Versions:  pipeline ${summary.versions.pipeline}, taxonomy ${summary.versions.taxonomy}, triage policy ${summary.versions.policy}`);
  return lines.join('\n');
}
