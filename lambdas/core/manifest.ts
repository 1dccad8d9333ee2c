/**
 * The batch manifest: `manifest.csv` or `manifest.jsonl` at the archive root (names compared case-insensitively), one
 * row per asset. Parsing never throws for a bad row (it becomes an asset-level rejection); only a missing, ambiguous,
 * unreadable, empty or oversized manifest, or a missing required column, refuses the whole batch — each with a code
 * and a sentence that says what was found.
 *
 * Text: the encoding is decided from the bytes (manifest-text.ts: BOM, UTF-8, UTF-16, Windows-1252 with a note);
 * CSV delimiter: `,`, `;` or tab, whichever splits the header into the required columns (an Excel `sep=;` first line
 * decides on its own).
 */
import { parse as parseCsv } from 'csv-parse/sync';
import type { ReasonCode } from './outcomes';
import type { Taxonomy } from './taxonomy';
import { ATTRIBUTE_LIMITS, jsonBytes, LISTING_FIELD_LIMITS, truncateToBytes, type LimitedField } from './listing-limits';
import { decodeManifestText, type ManifestEncoding } from './manifest-text';
import { parsePrice } from './manifest-price';
import { cleanText } from './text';

export const MANIFEST_FILE_NAMES = ['manifest.csv', 'manifest.jsonl'] as const;

/**
 * Rows one batch may hold: as many as the archive may hold entries (archive.ts `maxEntries`), so any batch whose
 * rows each name their own image fits. The parser stops one row past it, so a larger manifest costs no more to refuse.
 */
export const MAX_MANIFEST_ROWS = 20_000;
export const REQUIRED_COLUMNS = ['asset_id', 'file', 'merchant_id', 'declared_category', 'title'] as const;
export const OPTIONAL_COLUMNS = ['description', 'sku', 'price', 'currency'] as const;
const KNOWN_COLUMNS = new Set<string>([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS]);

export interface ManifestRow {
  /** 1-based position among the manifest's data rows: the asset's identity inside the batch. */
  rowNumber: number;
  fields: Record<string, string>;
  /** Set when the row could not be read at all (malformed JSON line, wrong CSV column count). */
  unreadable?: string;
}

export interface NormalizedListing {
  assetId: string;
  file: string;
  merchantId: string;
  declaredCategory: string;
  declaredCategoryId: string;
  title: string;
  description?: string;
  sku?: string;
  price?: number;
  currency?: string;
  /** Unknown columns, kept as the merchant sent them (within ATTRIBUTE_LIMITS). */
  attributes: Record<string, string>;
  /**
   * Fields cut to their size limit, with their original size (UTF-8 bytes as JSON text): `title`, `description`,
   * `attributes.<name>` for a cut value, `attributes` (the original total) when attributes were dropped. Absent when
   * nothing was cut. See lambdas/core/listing-limits.ts.
   */
  truncated?: Record<string, number>;
}

export type RowVerdict = { ok: true; listing: NormalizedListing } | { ok: false; reason: ReasonCode; detail: string; partial: Partial<NormalizedListing> };

export type ManifestErrorCode =
  'MANIFEST_MISSING' | 'MANIFEST_AMBIGUOUS' | 'MANIFEST_UNREADABLE' | 'MANIFEST_MISSING_COLUMN' | 'MANIFEST_EMPTY' | 'MANIFEST_TOO_MANY_ROWS';

export interface ManifestFacts {
  encoding: ManifestEncoding;
  /** `,`, `;` or a tab for CSV; absent for JSONL. */
  delimiter?: string;
  /** What was read differently from a plain UTF-8, comma-separated root manifest.csv (for the batch record). */
  notes: string[];
}

export type ManifestParseResult =
  ({ ok: true; fileName: string; rows: ManifestRow[] } & ManifestFacts) | { ok: false; code: ManifestErrorCode; message: string };

/** Picks the manifest among the archive's root entries and parses it into raw rows. */
export function parseManifest(entries: ReadonlyMap<string, Buffer>, maxRows = MAX_MANIFEST_ROWS): ManifestParseResult {
  const chosen = chooseManifest([...entries.keys()]);
  if (!chosen.ok) return chosen;
  return parseManifestBytes(chosen.fileName, entries.get(chosen.fileName)!, maxRows);
}

/**
 * Which of the archive's paths is the manifest: exactly one root file named like one of MANIFEST_FILE_NAMES, case
 * ignored (`Manifest.CSV` is what Windows and some exporters write). When there is none, the refusal names what was
 * found instead: a manifest in a subfolder, or other CSV/JSONL files, so the merchant knows what to move or rename.
 */
export function chooseManifest(paths: Iterable<string>): { ok: true; fileName: string } | Extract<ManifestParseResult, { ok: false }> {
  const all = [...paths];
  const atRoot = all.filter((path) => !path.includes('/') && isManifestName(path));
  if (atRoot.length === 1) return { ok: true, fileName: atRoot[0]! };
  if (atRoot.length > 1) {
    return { ok: false, code: 'MANIFEST_AMBIGUOUS', message: `the archive has ${atRoot.length} manifests at its root (${atRoot.join(', ')}); keep one` };
  }
  const elsewhere = all.filter((path) => isManifestName(path.split('/').pop() ?? ''));
  const tables = all.filter((path) => /\.(csv|jsonl|tsv|txt)$/i.test(path) && !elsewhere.includes(path));
  const hints: string[] = [];
  if (elsewhere.length > 0) {
    hints.push(`found ${quoteList(elsewhere)}, not at the root: move it to the root of the archive (file paths in it are then relative to the root)`);
  }
  if (tables.length > 0) hints.push(`found ${quoteList(tables)}: a manifest must be named manifest.csv or manifest.jsonl`);
  if (hints.length === 0) hints.push(all.length === 0 ? 'the archive holds no files' : 'no CSV or JSONL file was found');
  return { ok: false, code: 'MANIFEST_MISSING', message: `the archive has no manifest.csv or manifest.jsonl at its root; ${hints.join('; ')}` };
}

function isManifestName(name: string): boolean {
  return (MANIFEST_FILE_NAMES as readonly string[]).includes(name.toLowerCase());
}

function quoteList(paths: readonly string[]): string {
  const shown = paths.slice(0, 3).map((path) => `"${path}"`);
  return paths.length > 3 ? `${shown.join(', ')} and ${paths.length - 3} more` : shown.join(', ');
}

/** Parses the manifest's bytes (CSV or JSONL by its name) into raw rows, checking the required columns. */
export function parseManifestBytes(fileName: string, bytes: Buffer, maxRows = MAX_MANIFEST_ROWS): ManifestParseResult {
  const decoded = decodeManifestText(bytes);
  if (!decoded.ok) return { ok: false, code: 'MANIFEST_UNREADABLE', message: `${fileName} ${decoded.message}` };
  const notes: string[] = [];
  if (decoded.note !== undefined) notes.push(`${fileName}: ${decoded.note}`);
  const text = decoded.text.replace(/^\uFEFF/, '');
  const isCsv = fileName.toLowerCase().endsWith('.csv');
  const parsed = isCsv ? parseCsvRows(text, maxRows) : parseJsonlRows(text, maxRows);
  if (!parsed.ok) return { ok: false, code: parsed.code ?? 'MANIFEST_UNREADABLE', message: `${fileName}: ${parsed.message}` };
  const missing = REQUIRED_COLUMNS.filter((column) => !parsed.columns.has(column));
  if (missing.length > 0) {
    const seen = [...parsed.columns].filter((column) => column !== '').slice(0, 12);
    return {
      ok: false,
      code: 'MANIFEST_MISSING_COLUMN',
      message: `${fileName} lacks required column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (its header has: ${seen.join(', ') || 'nothing'})`,
    };
  }
  if (parsed.rows.length === 0) {
    return { ok: false, code: 'MANIFEST_EMPTY', message: `${fileName} has a header but no rows: there is nothing to triage` };
  }
  if (parsed.rows.length > maxRows) {
    return {
      ok: false,
      code: 'MANIFEST_TOO_MANY_ROWS',
      message: `${fileName} has more than ${maxRows.toLocaleString('en-US')} rows, the limit for one batch; split it into several archives`,
    };
  }
  if (parsed.delimiter !== undefined && parsed.delimiter !== ',') notes.push(`${fileName}: ${describeDelimiter(parsed.delimiter)}-separated`);
  const facts: ManifestFacts = { encoding: decoded.encoding, notes };
  if (parsed.delimiter !== undefined) facts.delimiter = parsed.delimiter;
  return { ok: true, fileName, rows: parsed.rows, ...facts };
}

function describeDelimiter(delimiter: string): string {
  return delimiter === '\t' ? 'tab' : delimiter === ';' ? 'semicolon' : `"${delimiter}"`;
}

type RawParse = { ok: true; columns: Set<string>; rows: ManifestRow[]; delimiter?: string } | { ok: false; message: string; code?: ManifestErrorCode };

function normalizeColumnName(name: string): string {
  return cleanText(name).toLowerCase().replace(/\s+/g, '_');
}

const DELIMITERS = [',', ';', '\t'] as const;

/**
 * The delimiter that splits the header into the most required columns (a tie goes to the comma), so
 * `asset_id;file;…` is read as semicolon-separated. An Excel `sep=X` first line names it outright and is not data.
 */
function detectDelimiter(text: string): { delimiter: string; body: string } {
  const firstLine = /^[^\r\n]*/.exec(text)![0];
  const hint = /^sep=(.)$/i.exec(firstLine);
  if (hint !== null) return { delimiter: hint[1]!, body: text.slice(firstLine.length).replace(/^\r?\n/, '') };
  const score = (delimiter: string): number => {
    const names = firstLine.split(delimiter).map((name) => normalizeColumnName(name.replace(/^"|"$/g, '')));
    return REQUIRED_COLUMNS.filter((column) => names.includes(column)).length;
  };
  let best: string = DELIMITERS[0];
  for (const delimiter of DELIMITERS.slice(1)) if (score(delimiter) > score(best)) best = delimiter;
  return { delimiter: best, body: text };
}

function parseCsvRows(text: string, maxRows: number): RawParse {
  const { delimiter, body } = detectDelimiter(text);
  let records: string[][];
  try {
    // `to` stops the parser one row past the limit: a huge manifest is refused without parsing all of it.
    records = parseCsv(body, { delimiter, relax_column_count: true, skip_empty_lines: true, relax_quotes: true, to: maxRows + 2 }) as string[][];
  } catch (error) {
    return { ok: false, message: `not valid CSV (${(error as Error).message})` };
  }
  const [header, ...data] = records;
  if (header === undefined) return { ok: false, message: 'empty file' };
  const columns = header.map(normalizeColumnName);
  const rows = data.map((record, index): ManifestRow => {
    const fields: Record<string, string> = {};
    columns.forEach((column, i) => {
      if (column !== '') fields[column] = record[i] ?? '';
    });
    const row: ManifestRow = { rowNumber: index + 1, fields };
    if (record.length !== columns.length) {
      row.unreadable = `has ${record.length} fields where the header has ${columns.length}`;
    }
    return row;
  });
  return { ok: true, columns: new Set(columns), rows, delimiter };
}

function parseJsonlRows(text: string, maxRows: number): RawParse {
  const columns = new Set<string>();
  const rows: ManifestRow[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    if (rows.length > maxRows) break;
    const row: ManifestRow = { rowNumber: rows.length + 1, fields: {} };
    rows.push(row);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      row.unreadable = 'is not valid JSON';
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      row.unreadable = 'is not a JSON object';
      continue;
    }
    for (const [key, raw] of Object.entries(value)) {
      const column = normalizeColumnName(key);
      columns.add(column);
      if (raw !== null && raw !== undefined) row.fields[column] = typeof raw === 'string' ? raw : JSON.stringify(raw);
    }
  }
  if (rows.length === 0) return { ok: false, message: 'empty file' };
  return { ok: true, columns, rows };
}

/**
 * Normalizes one row against the contract and the taxonomy. Duplicate ids are judged by the caller (batch scope).
 * Every value is bounded (LISTING_FIELD_LIMITS) before anything else, so even a rejected row's partial listing is.
 */
export function normalizeRow(row: ManifestRow, taxonomy: Taxonomy): RowVerdict {
  const truncated: Record<string, number> = {};
  const overLimit: string[] = [];
  const bounded = new Map<LimitedField, string>();
  for (const [field, limit] of Object.entries(LISTING_FIELD_LIMITS) as Array<[LimitedField, (typeof LISTING_FIELD_LIMITS)[LimitedField]]>) {
    const raw = cleanText(row.fields[field] ?? '');
    const size = jsonBytes(raw);
    if (size > limit.maxBytes) {
      // An identity field is shown cut on the rejected row's record, but the row itself is rejected.
      if (limit.over === 'reject') overLimit.push(`${field} is ${size} bytes, above the ${limit.maxBytes}-byte limit`);
      truncated[field] = size;
    }
    bounded.set(field, truncateToBytes(raw, limit.maxBytes));
  }
  const value = (column: LimitedField): string => bounded.get(column) ?? '';
  const optional = (column: LimitedField): string | undefined => value(column) || undefined;
  const attributes = boundedAttributes(row.fields, truncated);
  const partial: Partial<NormalizedListing> = {
    assetId: optional('asset_id'),
    file: optional('file') === undefined ? undefined : normalizeManifestPath(value('file')),
    merchantId: optional('merchant_id'),
    declaredCategory: optional('declared_category'),
    title: optional('title'),
    description: optional('description'),
    sku: optional('sku'),
    currency: optional('currency'),
    attributes,
  };
  if (Object.keys(truncated).length > 0) partial.truncated = truncated;
  const reject = (reason: ReasonCode, detail: string): RowVerdict => ({ ok: false, reason, detail, partial });

  if (row.unreadable !== undefined) return reject('INVALID_MANIFEST_ROW', `manifest row ${row.rowNumber} ${row.unreadable}`);
  const emptyRequired = REQUIRED_COLUMNS.filter((column) => value(column) === '');
  if (emptyRequired.length > 0) return reject('INVALID_MANIFEST_ROW', `empty required field: ${emptyRequired.join(', ')}`);
  if (overLimit.length > 0) return reject('INVALID_MANIFEST_ROW', overLimit.join('; '));

  const currencyColumn = value('currency').toUpperCase() || undefined;
  const currencyIsCode = currencyColumn === undefined || /^[A-Z]{3}$/.test(currencyColumn);
  let price: number | undefined;
  let signCurrency: string | undefined;
  const rawPrice = value('price');
  if (rawPrice !== '') {
    const parsed = parsePrice(rawPrice, currencyIsCode ? currencyColumn : undefined);
    if (!parsed.ok) return reject('INVALID_MANIFEST_ROW', parsed.reason);
    price = parsed.value;
    signCurrency = parsed.currency;
  }
  if (!currencyIsCode) {
    return reject('INVALID_MANIFEST_ROW', `currency "${currencyColumn}" is not a three-letter ISO 4217 code`);
  }
  const currency = currencyColumn ?? signCurrency;
  const declaredCategory = value('declared_category');
  const category = taxonomy.resolveDeclaredCategory(declaredCategory);
  if (category === undefined) {
    return reject('UNKNOWN_CATEGORY', `declared category "${declaredCategory}" is not in taxonomy ${taxonomy.version}`);
  }
  const listing: NormalizedListing = {
    assetId: value('asset_id'),
    file: normalizeManifestPath(value('file')),
    merchantId: value('merchant_id'),
    declaredCategory,
    declaredCategoryId: category.id,
    title: value('title'),
    description: optional('description'),
    sku: optional('sku'),
    price,
    currency,
    attributes,
  };
  if (partial.truncated !== undefined) listing.truncated = partial.truncated;
  return { ok: true, listing };
}

/**
 * Unknown columns within ATTRIBUTE_LIMITS, in column order: a name too long is dropped, a value too long is cut, and
 * once the total is reached the remaining attributes are dropped. Cuts and drops are added to `truncated`.
 */
function boundedAttributes(fields: Record<string, string>, truncated: Record<string, number>): Record<string, string> {
  const all = Object.entries(fields)
    .filter(([column]) => !KNOWN_COLUMNS.has(column))
    .map(([name, raw]) => [name, cleanText(raw)] as const);
  const attributes: Record<string, string> = {};
  let total = 2; // "{}"
  let dropped = false;
  let full = false;
  for (const [name, original] of all) {
    const nameBytes = jsonBytes(name);
    if (nameBytes > ATTRIBUTE_LIMITS.maxNameBytes) {
      dropped = true;
      continue;
    }
    const cut = truncateToBytes(original, ATTRIBUTE_LIMITS.maxValueBytes);
    // "name":"value" plus the comma before it (the first one's comma pays for nothing, which errs on the safe side).
    const size = nameBytes + jsonBytes(cut) + 6;
    if (full || total + size > ATTRIBUTE_LIMITS.maxTotalBytes) {
      full = true;
      dropped = true;
      continue;
    }
    if (cut !== original) truncated[`attributes.${name}`] = jsonBytes(original);
    attributes[name] = cut;
    total += size;
  }
  if (dropped) truncated['attributes'] = Buffer.byteLength(JSON.stringify(Object.fromEntries(all)), 'utf8');
  return attributes;
}

/** Manifest paths are compared with archive paths in the same form: forward slashes, no leading "./". */
export function normalizeManifestPath(path: string): string {
  return path
    .normalize('NFC')
    .replace(/\\/g, '/')
    .replace(/^(\.\/)+/, '');
}
