/**
 * `media-triage query "<sql>"`, `query --named <name>`, `query --list`: SQL over the local report tables with DuckDB
 * (local/report-query.ts), the same tables and named queries Athena has in the stack. No stand-in starts: the
 * views read the CSVs of the state dir's S3 tree directly, and DuckDB loads only when a query runs.
 */
import { Argument, Command, Option } from 'commander';
import { REPORT_QUERIES } from '../../lib/constructs/report-queries';
import { printJsonLine } from '../output';
import { optionValue, UsageError } from '../usage';
import type { CommandContext } from './context';
import { jsonOption, stateDirOption, type JsonOption, type StateDirOption } from './options';

interface QueryOptions extends JsonOption, StateDirOption {
  named?: string;
  list?: boolean;
}

export function queryCommand(context: CommandContext): Command {
  return new Command('query')
    .description('SQL over the local report tables (assets, exceptions, decisions, batches) with DuckDB, or one of the named queries Athena has')
    .addArgument(new Argument('[sql]', 'the SQL to run (tables: assets, exceptions, decisions, batches)'))
    .addOption(new Option('--named <name>', 'run a named query (see --list)').argParser(optionValue))
    .addOption(new Option('--list', 'print the named queries’ names, one per line'))
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .action(async (sql: string | undefined, options: QueryOptions) => {
      if (options.list === true) {
        for (const query of REPORT_QUERIES) console.log(query.name);
        context.setExitCode(0);
        return;
      }
      const text = chosenSql(sql, options.named);
      const [{ checkStateDir }, { localReportsDir, openReportQueryEngine }] = await Promise.all([
        import('../checks/state-dir'),
        import('../../local/report-query'),
      ]);
      const stateDir = await checkStateDir(options.stateDir);
      const reportsDir = await localReportsDir(stateDir);
      if (reportsDir === undefined) throw new UsageError(`no local reports in ${stateDir} (run a batch first: media-triage demo)`);
      const engine = await openReportQueryEngine(reportsDir);
      try {
        const rows = await engine.query(text);
        if (options.json === true) printJsonLine(rows);
        else printTable(rows);
      } finally {
        engine.close();
      }
      context.setExitCode(0);
    });
}

function chosenSql(sql: string | undefined, named: string | undefined): string {
  if (named !== undefined && sql !== undefined) throw new UsageError('give either <sql> or --named, not both');
  if (named !== undefined) {
    const query = REPORT_QUERIES.find((candidate) => candidate.name === named);
    if (query === undefined) throw new UsageError(`no named query ${named} (media-triage query --list names them)`);
    return query.sql;
  }
  if (sql === undefined || sql.trim() === '') throw new UsageError('give the SQL to run, --named <name> or --list');
  return sql;
}

/** Tab-separated with a header row: readable in a terminal and pastes into a spreadsheet. */
function printTable(rows: ReadonlyArray<Record<string, unknown>>): void {
  if (rows.length === 0) {
    console.log('(no rows)');
    return;
  }
  const columns = Object.keys(rows[0]!);
  console.log(columns.join('\t'));
  for (const row of rows) console.log(columns.map((column) => String(row[column] ?? '')).join('\t'));
  console.log(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
}
