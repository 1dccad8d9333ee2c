/** README "Report tables" documents every table column by column, and every named query: generated text and README agree. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPORT_TABLES, type ReportTable } from '../../lambdas/core/report-tables';
import { REPORT_QUERIES } from '../../lib/constructs/report-queries';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const cell = (text: string): string => text.replaceAll('|', '\\|');

/** The README block of one table: its heading line, then the column table. */
function tableBlock(table: ReportTable): string {
  return [
    `#### \`${table.name}\` — ${cell(table.description)}`,
    '',
    '| Column | Type | Description |',
    '|---|---|---|',
    ...table.columns.map((column) => `| \`${column.name}\` | ${column.type} | ${cell(column.description)} |`),
  ].join('\n');
}

describe('README report tables', () => {
  it.each(REPORT_TABLES.map((table) => [table.name, table] as const))('documents %s column by column, in order', (_name, table) => {
    expect(readme).toContain(tableBlock(table));
  });

  it('lists every named query with its description', () => {
    for (const query of REPORT_QUERIES) expect(readme, query.name).toContain(`| \`${query.name}\` | ${cell(query.description)} |`);
  });
});
