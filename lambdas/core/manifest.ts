/**
 * The batch manifest: `manifest.csv` or `manifest.jsonl` at the archive root, one row per asset. Parsing never throws
 * for a bad row (it becomes an asset-level rejection); only a missing/ambiguous manifest or a missing required column
 * refuses the whole batch.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import type { ReasonCode } from './outcomes';
import type { Taxonomy } from './taxonomy';
import { cleanText } from './text';

export const MANIFEST_FILE_NAMES = ['manifest.csv', 'manifest.jsonl'] as const;
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
  /** Unknown columns, kept as the merchant sent them. */
  attributes: Record<string, string>;
}

export type RowVerdict =
  | { ok: true; listing: NormalizedListing }
  | { ok: false; reason: ReasonCode; detail: string; partial: Partial<NormalizedListing> };

export type ManifestParseResult =
  | { ok: true; fileName: string; rows: ManifestRow[] }
  | { ok: false; code: 'MANIFEST_MISSING' | 'MANIFEST_AMBIGUOUS' | 'MANIFEST_UNREADABLE' | 'MANIFEST_MISSING_COLUMN'; message: string };

/** Picks the manifest among the archive's root entries and parses it into raw rows. */
export function parseManifest(entries: ReadonlyMap<string, Buffer>): ManifestParseResult {
  const present = MANIFEST_FILE_NAMES.filter((name) => entries.has(name));
  if (present.length === 0) {
    return { ok: false, code: 'MANIFEST_MISSING', message: 'the archive has no manifest.csv or manifest.jsonl at its root' };
  }
  if (present.length > 1) {
    return { ok: false, code: 'MANIFEST_AMBIGUOUS', message: 'the archive has both manifest.csv and manifest.jsonl; keep one' };
  }
  const fileName = present[0]!;
  const text = entries.get(fileName)!.toString('utf8').replace(/^\uFEFF/, '');
  const parsed = fileName.endsWith('.csv') ? parseCsvRows(text) : parseJsonlRows(text);
  if (!parsed.ok) return { ok: false, code: 'MANIFEST_UNREADABLE', message: `${fileName}: ${parsed.message}` };
  const missing = REQUIRED_COLUMNS.filter((column) => !parsed.columns.has(column));
  if (missing.length > 0) {
    return {
      ok: false,
      code: 'MANIFEST_MISSING_COLUMN',
      message: `${fileName} lacks required column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`,
    };
  }
  return { ok: true, fileName, rows: parsed.rows };
}

type RawParse = { ok: true; columns: Set<string>; rows: ManifestRow[] } | { ok: false; message: string };

function normalizeColumnName(name: string): string {
  return cleanText(name).toLowerCase().replace(/\s+/g, '_');
}

function parseCsvRows(text: string): RawParse {
  let records: string[][];
  try {
    records = parseCsv(text, { relax_column_count: true, skip_empty_lines: true, relax_quotes: true }) as string[][];
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
  return { ok: true, columns: new Set(columns), rows };
}

function parseJsonlRows(text: string): RawParse {
  const columns = new Set<string>();
  const rows: ManifestRow[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
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

/** Normalizes one row against the contract and the taxonomy. Duplicate ids are judged by the caller (batch scope). */
export function normalizeRow(row: ManifestRow, taxonomy: Taxonomy): RowVerdict {
  const value = (column: string): string => cleanText(row.fields[column] ?? '');
  const optional = (column: string): string | undefined => value(column) || undefined;
  const attributes = Object.fromEntries(
    Object.entries(row.fields).filter(([column]) => !KNOWN_COLUMNS.has(column)).map(([k, v]) => [k, cleanText(v)]),
  );
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
  const reject = (reason: ReasonCode, detail: string): RowVerdict => ({ ok: false, reason, detail, partial });

  if (row.unreadable !== undefined) return reject('INVALID_MANIFEST_ROW', `manifest row ${row.rowNumber} ${row.unreadable}`);
  const emptyRequired = REQUIRED_COLUMNS.filter((column) => value(column) === '');
  if (emptyRequired.length > 0) return reject('INVALID_MANIFEST_ROW', `empty required field: ${emptyRequired.join(', ')}`);

  let price: number | undefined;
  const rawPrice = value('price');
  if (rawPrice !== '') {
    price = Number(rawPrice);
    if (!/^\d+(\.\d{1,4})?$/.test(rawPrice) || !Number.isFinite(price)) {
      return reject('INVALID_MANIFEST_ROW', `price "${rawPrice}" is not a non-negative decimal number`);
    }
  }
  const currency = value('currency').toUpperCase() || undefined;
  if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) {
    return reject('INVALID_MANIFEST_ROW', `currency "${currency}" is not a three-letter ISO 4217 code`);
  }
  const declaredCategory = value('declared_category');
  const category = taxonomy.resolveDeclaredCategory(declaredCategory);
  if (category === undefined) {
    return reject('UNKNOWN_CATEGORY', `declared category "${declaredCategory}" is not in taxonomy ${taxonomy.version}`);
  }
  return {
    ok: true,
    listing: {
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
    },
  };
}

/** Manifest paths are compared with archive paths in the same form: forward slashes, no leading "./". */
export function normalizeManifestPath(path: string): string {
  return path.normalize('NFC').replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}
