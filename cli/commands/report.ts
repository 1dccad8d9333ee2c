/**
 * `media-triage report [<batchId>] [--date D] [--out F]`: writes (refreshes) the stakeholder pages from the local
 * state — after reviews happened, the review figures and gates move. With a batch id: that batch's page (and the
 * roll-up of its day); otherwise the daily roll-up of `--date` (default today, UTC), every batch of that report
 * partition refreshed first, and the day's `decisions` table partition (adapters/daily-rollup.ts).
 */
import { Argument, Command, Option } from 'commander';
import { printJsonLine } from '../output';
import { optionValue, UsageError } from '../usage';
import type { CommandContext } from './context';
import { jsonOption, stateDirOption, type JsonOption, type StateDirOption } from './options';

interface ReportOptions extends JsonOption, StateDirOption {
  date?: string;
  out?: string;
}

/** The `--json` line of `report` (README "CLI output"). */
export interface ReportCommandResult {
  batchId: string | null;
  date: string;
  /** Local path of the batch's page (null for a roll-up run). */
  reportHtml: string | null;
  /** Local path of the day's roll-up page. */
  rollupHtml: string;
  /** Where --out copied the page (null without --out). */
  out: string | null;
  /** The batch's gates (null for a roll-up run). */
  gates: unknown;
  batches: string[];
  refreshed: string[];
  decisions: number;
  decisionFiles: string[];
}

function checkDate(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw new UsageError(`--date ${value} is not a date (YYYY-MM-DD)`);
  return value;
}

export function reportCommand(context: CommandContext): Command {
  return new Command('report')
    .description('writes (refreshes) the HTML report of a batch, or the daily roll-up of a day, from the local state')
    .addArgument(new Argument('[batchId]', 'the batch to report (the batchId a run printed); the day’s roll-up when absent'))
    .addOption(new Option('--date <day>', 'the day of the roll-up, YYYY-MM-DD (default: today, UTC)').argParser(optionValue))
    .addOption(new Option('--out <file>', 'also copy the page to this file').argParser(optionValue))
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .action(async (batchId: string | undefined, options: ReportOptions) => {
      if (batchId !== undefined && options.date !== undefined) throw new UsageError('give either <batchId> or --date, not both');
      const date = options.date === undefined ? new Date().toISOString().slice(0, 10) : checkDate(options.date);
      const [{ withTarget }, { checkStateDir }] = await Promise.all([import('../target'), import('../checks/state-dir')]);
      const stateDir = await checkStateDir(options.stateDir);
      const result = await withTarget({ stateDir, command: 'report' }, async (target) => {
        const [{ getBatchRecord, listAssetRecords }, { refreshBatchReport }, { writeDailyRollup }, { localReportPath }] = await Promise.all([
          import('../../lambdas/adapters/record-store'),
          import('../../lambdas/adapters/batch-report'),
          import('../../lambdas/adapters/daily-rollup'),
          import('../../local/run-batch'),
        ]);
        const reportsDir = target.session?.reportsDir();
        if (reportsDir === undefined) throw new UsageError(`the local state in ${stateDir} keeps no reports on disk`);
        const { tableName, reportsBucket } = target.names;
        const now = new Date().toISOString();
        let page: { batchId: string; key: string; gates: unknown } | undefined;
        let day = date;
        if (batchId !== undefined) {
          const batch = await getBatchRecord(batchId, tableName);
          if (batch === undefined) throw new UsageError(`no batch ${batchId} in ${target.description}`);
          const summary = await refreshBatchReport({ batch, records: await listAssetRecords(batchId, tableName), now, reportsBucket, tableName });
          if (summary === undefined) throw new UsageError(`batch ${batchId} is ${batch.status}, not COMPLETED: it has no report`);
          page = { batchId, key: summary.reports.html, gates: summary.gates };
          day = batch.dt;
        }
        const rollup = await writeDailyRollup({
          date: day,
          reportsBucket,
          tableName,
          now,
          refreshBatches: batchId === undefined,
          onRefresh: (id, index, total) => process.stderr.write(`refreshing ${id} (${index + 1}/${total})\n`),
        });
        return {
          batchId: page?.batchId ?? null,
          date: day,
          reportHtml: page === undefined ? null : localReportPath(reportsDir, page.key),
          rollupHtml: localReportPath(reportsDir, rollup.rollupKey),
          out: null as string | null,
          gates: page?.gates ?? null,
          batches: rollup.batches,
          refreshed: page === undefined ? rollup.refreshed : [page.batchId],
          decisions: rollup.decisions,
          decisionFiles: rollup.decisionKeys.map((key) => localReportPath(reportsDir, key)),
        } satisfies ReportCommandResult;
      });
      if (options.out !== undefined) {
        const [{ copyFile, mkdir }, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
        const out = path.resolve(options.out);
        await mkdir(path.dirname(out), { recursive: true });
        await copyFile(result.reportHtml ?? result.rollupHtml, out);
        result.out = out;
      }
      if (options.json === true) printJsonLine(result);
      else {
        if (result.reportHtml !== null) console.log(`Batch page: ${result.reportHtml}`);
        console.log(`Roll-up ${result.date}: ${result.rollupHtml} (${result.batches.length} batch(es))`);
        if (result.decisions > 0) console.log(`Decisions of ${result.date}: ${result.decisions} in ${result.decisionFiles.length} file(s)`);
        if (result.out !== null) console.log(`Copied to ${result.out}`);
      }
      context.setExitCode(0);
    });
}
