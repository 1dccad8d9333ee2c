/**
 * CSV injection (formula injection) guard for every CSV the project writes. A spreadsheet runs a cell that begins with
 * `=`, `+`, `-` or `@` as a formula (and tab / carriage return can smuggle one past naive checks), so such a text cell
 * is prefixed with a single quote, as OWASP recommends
 * (https://owasp.org/www-community/attacks/CSV_Injection): the quote makes the cell literal text and shows that it was
 * neutralized. Numbers stay numbers: a number value, or a text that is just a plain decimal number (`-12.5`), cannot
 * start a formula and is left as it is, so numeric columns still parse as numbers in Athena and spreadsheets.
 */
const FORMULA_TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r']);
const PLAIN_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export function neutralizeCell(value: string | number | boolean | null | undefined): string | number | boolean | null | undefined {
  if (typeof value !== 'string' || value === '') return value;
  if (!FORMULA_TRIGGERS.has(value[0]!)) return value;
  if (PLAIN_NUMBER.test(value)) return value;
  return `'${value}`;
}

/** The row with every cell neutralized (keys kept). */
export function neutralizeRow<Row extends Record<string, string | number>>(row: Row): Row {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, neutralizeCell(value)])) as Row;
}
