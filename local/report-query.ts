/**
 * The report tables locally, in DuckDB: one view per table over the CSVs of the local S3 tree
 * (`<state>/s3/<reports bucket>/reports/<table>/dt=…/batch_id=…/*.csv`), typed as the Glue tables are (same columns,
 * `dt` from the path), so the named queries run here as they do in Athena.
 *
 * Read like OpenCSVSerde reads them: every cell as text with no null string (an empty cell is '', not NULL), then
 * the `bigint` columns cast. `union_by_name` lets files written before a column was appended be read with the newer
 * ones (the missing column is empty, as Athena reads a short row).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { REPORT_TABLES, type ReportTable } from '../lambdas/core/report-tables';

/** Prefix of the local reports bucket's name (local/template.ts names buckets `local-<logical id>`). */
const REPORTS_BUCKET_PREFIX = 'local-storagereports';

/** The local reports bucket's `reports/` folder in a state dir, or undefined when no run wrote one yet. */
export async function localReportsDir(stateDir: string): Promise<string | undefined> {
  const s3Dir = path.join(stateDir, 's3');
  const buckets = await readdir(s3Dir).catch(() => [] as string[]);
  const bucket = buckets.filter((name) => name.startsWith(REPORTS_BUCKET_PREFIX)).sort()[0];
  return bucket === undefined ? undefined : path.join(s3Dir, bucket, 'reports');
}

export type QueryRow = Record<string, string | number | boolean | null>;

export interface ReportQueryEngine {
  query(sql: string): Promise<QueryRow[]>;
  close(): void;
}

const DUCKDB_TYPES = { string: 'VARCHAR', bigint: 'BIGINT' } as const;
const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const quoteText = (text: string): string => `'${text.replaceAll("'", "''")}'`;

async function hasCsv(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.some((entry) => entry.endsWith('.csv'));
}

async function viewSql(table: ReportTable, reportsDir: string): Promise<string> {
  const columns = table.columns.map((column) =>
    column.type === 'string' ? quoteIdent(column.name) : `CAST(${quoteIdent(column.name)} AS ${DUCKDB_TYPES[column.type]}) AS ${quoteIdent(column.name)}`,
  );
  const tableDir = path.join(reportsDir, table.name);
  if (!(await hasCsv(tableDir))) {
    // No file yet (e.g. decisions before any review): an empty view with the table's columns, so queries still run.
    const empty = table.columns.map((column) => `CAST(NULL AS ${DUCKDB_TYPES[column.type]}) AS ${quoteIdent(column.name)}`);
    return `CREATE VIEW ${quoteIdent(table.name)} AS SELECT ${empty.join(', ')}, CAST(NULL AS VARCHAR) AS dt WHERE false`;
  }
  const glob = path.join(tableDir, '**', '*.csv');
  // The CSV's own batch_id column and the path's batch_id= segment hold the same value; the view keeps the column.
  const source = `read_csv(${quoteText(glob)}, header = true, all_varchar = true, nullstr = '\u0001', union_by_name = true, hive_partitioning = true, hive_types_autocast = false)`;
  return `CREATE VIEW ${quoteIdent(table.name)} AS SELECT ${columns.join(', ')}, dt FROM ${source}`;
}

/** Counts come back as bigint: a number when it fits (JSON has no bigint); anything else non-scalar as its text. */
function plainValue(value: unknown): QueryRow[string] {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

/** An in-memory DuckDB with one view per report table over the local reports. */
export async function openReportQueryEngine(reportsDir: string): Promise<ReportQueryEngine> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  for (const table of REPORT_TABLES) await connection.run(await viewSql(table, reportsDir));
  return {
    async query(sql) {
      const reader = await connection.runAndReadAll(sql);
      return (await reader.getRowObjectsJS()).map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, plainValue(value)])));
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}
