/**
 * `media-triage show <batchId> [assetKey]` (records as a person reads them) and `media-triage status <batchId>`
 * (the batch record and its counts), on the local state or a deployed stack.
 */
import { Argument, Command, Option } from 'commander';
import { printJsonLine } from '../output';
import { optionValue, UsageError } from '../usage';
import type { CommandContext } from './context';
import { jsonOption, stateDirOption, type JsonOption, type StateDirOption } from './options';
import type { Target } from '../target';
import type { BatchExecution } from '../ops/batch-execution';

interface TargetOptions extends JsonOption, StateDirOption {
  stack?: string;
  region?: string;
}

function withTargetOptions(command: Command): Command {
  return command
    .addOption(new Option('--stack <name>', 'read a deployed stack (names from its CloudFormation outputs) instead of the local state').argParser(optionValue))
    .addOption(new Option('--region <region>', 'AWS region of --stack (default: from the AWS environment)').argParser(optionValue))
    .addOption(stateDirOption())
    .addOption(jsonOption());
}

async function inTarget<T>(options: TargetOptions, command: string, work: (tableName: string, description: string, target: Target) => Promise<T>): Promise<T> {
  const [{ withTarget }, { checkStateDir }] = await Promise.all([import('../target'), import('../checks/state-dir')]);
  const stateDir = await checkStateDir(options.stateDir);
  return withTarget({ stack: options.stack, region: options.region, stateDir, command }, (target) => work(target.names.tableName, target.description, target));
}

export function showCommand(context: CommandContext): Command {
  return withTargetOptions(
    new Command('show')
      .description('a batch’s asset records (or one asset’s record) as a person reads them: outcome, reasons, explanation, evidence, lineage, review state')
      .addArgument(new Argument('<batchId>', 'the batch id a run printed'))
      .addArgument(new Argument('[assetKey]', 'one asset (e.g. row-000003); all of the batch when absent')),
  ).action(async (batchId: string, assetKey: string | undefined, options: TargetOptions) => {
    await inTarget(options, 'show', async (tableName) => {
      const { listAssetRecords, getBatchRecord } = await import('../../lambdas/adapters/record-store');
      const batch = await getBatchRecord(batchId, tableName);
      if (batch === undefined) throw new UsageError(`no batch ${batchId} (see the batchId a run printed)`);
      const records = (await listAssetRecords(batchId, tableName)).filter((record) => assetKey === undefined || record.assetKey === assetKey);
      if (assetKey !== undefined && records.length === 0) throw new UsageError(`batch ${batchId} has no asset ${assetKey}`);
      const { formatRecord } = await import('../records-output');
      if (options.json === true) printJsonLine(assetKey === undefined ? { batchId, records } : records[0]);
      else console.log(records.map(formatRecord).join('\n\n'));
    });
    context.setExitCode(0);
  });
}

export function statusCommand(context: CommandContext): Command {
  return withTargetOptions(
    new Command('status')
      .description('a batch’s record: status, counts per outcome, when it was received and completed, and its execution’s state')
      .addArgument(new Argument('<batchId>', 'the batch id a run printed')),
  ).action(async (batchId: string, options: TargetOptions) => {
    await inTarget(options, 'status', async (tableName, description, target) => {
      const { listAssetRecords, getBatchRecord } = await import('../../lambdas/adapters/record-store');
      const batch = await getBatchRecord(batchId, tableName);
      if (batch === undefined) throw new UsageError(`no batch ${batchId} in ${description}`);
      const records = await listAssetRecords(batchId, tableName);
      const counts: Record<string, number> = {};
      for (const record of records) counts[record.outcome] = (counts[record.outcome] ?? 0) + 1;
      const reviewed = records.filter((record) => record.reviewStatus === 'FINAL').length;
      const result = {
        batchId,
        status: batch.status,
        receivedAt: batch.receivedAt,
        completedAt: batch.completedAt ?? null,
        expectedAssets: batch.expectedAssets ?? null,
        recorded: records.length,
        counts,
        failures: batch.failures ?? {},
        reviewed,
        error: batch.error ?? null,
        archive: `s3://${batch.archiveBucket}/${batch.archiveKey}`,
        target: description,
        execution: await (await import('../ops/batch-execution')).batchExecution(target, batch),
      };
      if (options.json === true) printJsonLine(result);
      else {
        console.log(
          `Batch ${batchId} (${description}): ${batch.status}, ${records.length}/${batch.expectedAssets ?? '?'} assets recorded, ${reviewed} reviewed`,
        );
        console.log(`  received ${batch.receivedAt}${batch.completedAt === undefined ? '' : `, completed ${batch.completedAt}`}`);
        for (const [outcome, count] of Object.entries(counts)) console.log(`  ${outcome.padEnd(15)} ${count}`);
        for (const [code, count] of Object.entries(batch.failures ?? {})) console.log(`  failed: ${code} × ${count}`);
        if (batch.error !== undefined) console.log(`  refused: ${batch.error.code}: ${batch.error.message}`);
        console.log(`  ${formatExecution(result.execution)}`);
      }
    });
    context.setExitCode(0);
  });
}

function formatExecution(execution: BatchExecution): string {
  const arn = execution.executionArn === null ? '' : ` ${execution.executionArn}`;
  const when = [execution.startedAt === null ? '' : `started ${execution.startedAt}`, execution.stoppedAt === null ? '' : `stopped ${execution.stoppedAt}`]
    .filter((part) => part !== '')
    .join(', ');
  const failed =
    execution.failedState === null
      ? ''
      : `; failed in ${execution.failedState.state}: ${[execution.failedState.error, execution.failedState.cause].filter((part) => part !== null).join(': ')}`;
  const own = execution.error === null ? '' : ` (${[execution.error, execution.cause].filter((part) => part !== null).join(': ')})`;
  const resume = execution.resumable ? ' — run the same archive again to resume' : '';
  return `execution${arn}: ${execution.status}${when === '' ? '' : `, ${when}`}${failed}${own}${resume}`;
}
