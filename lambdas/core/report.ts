/**
 * Report tables and the batch summary. CSV rows are flat so Athena can read them with OpenCSVSerde; keys live under
 * `reports/<table>/dt=YYYY-MM-DD/batch_id=<id>/` (Hive-style partitions).
 */
import { stringify } from 'csv-stringify/sync';
import { neutralizeRow } from './csv-safety';
import { emptyOutcomeCounts, REASON_CODE_LIST, type Outcome, type ReasonCode } from './outcomes';
import { needsReview, type AssetRecord } from './records';

/** Columns of the `assets` table, in order. Adding a column at the end is compatible; renaming one is not. */
export const ASSET_COLUMNS = [
  'batch_id',
  'asset_key',
  'asset_id',
  'row_number',
  'file',
  'merchant_id',
  'declared_category',
  'declared_category_id',
  'title',
  'outcome',
  'reason_codes',
  'explanation',
  'top_category_id',
  'top_score',
  'declared_support',
  'policy_max_class',
  'policy_max_score',
  'image_format',
  'image_width',
  'image_height',
  'sha256',
  'perceptual_hash',
  'sent_to_review',
  'review_message_id',
  'decided_by',
  'received_at',
  'decided_at',
  'pipeline_version',
  'taxonomy_version',
  'policy_version',
  'category_model_id',
  'category_model_version',
  'category_variant',
  'policy_model_id',
  'policy_model_version',
  'policy_variant',
  'audit_sampled',
  'duplicate_of',
  // Appended for analysts (issue 10): the listing's remaining fields.
  'description',
  'sku',
  'price',
  'currency',
  'attributes',
] as const;

export type AssetRow = Record<(typeof ASSET_COLUMNS)[number], string | number>;

export function assetRow(record: AssetRecord): AssetRow {
  // The class is named only when it reached its borderline band (or above): naming the highest of a set of
  // near-zero scores would suggest a policy finding where there is none. The score column stays informative.
  // When some class did reach it, the two columns describe the highest-scoring such class.
  const policyByScore = [...(record.evidence?.policy ?? [])].sort((a, b) => b.score - a.score);
  const policyMaxFlagged = policyByScore.find((entry) => entry.score >= entry.borderlineThreshold);
  const policyMax = policyMaxFlagged ?? policyByScore[0];
  const { lineage } = record;
  return {
    batch_id: record.batchId,
    asset_key: record.assetKey,
    asset_id: record.listing.assetId ?? '',
    row_number: record.rowNumber ?? '',
    file: record.file ?? '',
    merchant_id: record.listing.merchantId ?? '',
    declared_category: record.listing.declaredCategory ?? '',
    declared_category_id: record.listing.declaredCategoryId ?? '',
    title: record.listing.title ?? '',
    outcome: record.outcome,
    reason_codes: record.reasons.join('|'),
    explanation: record.explanation,
    top_category_id: record.evidence?.category.topCategoryId ?? '',
    top_score: record.evidence?.category.topScore ?? '',
    declared_support: record.evidence?.category.declaredSupport ?? '',
    policy_max_class: policyMaxFlagged?.classId ?? '',
    policy_max_score: policyMax?.score ?? '',
    image_format: record.image?.format ?? '',
    image_width: record.image?.width ?? '',
    image_height: record.image?.height ?? '',
    sha256: record.image?.sha256 ?? '',
    perceptual_hash: record.image?.perceptualHash ?? '',
    sent_to_review: record.reviewMessageId === undefined ? 'false' : 'true',
    review_message_id: record.reviewMessageId ?? '',
    decided_by: record.decidedBy,
    received_at: record.receivedAt,
    decided_at: record.decidedAt,
    pipeline_version: lineage.pipelineVersion,
    taxonomy_version: lineage.taxonomyVersion,
    policy_version: lineage.policyVersion,
    category_model_id: lineage.categoryModel?.modelId ?? '',
    category_model_version: lineage.categoryModel?.modelVersion ?? '',
    category_variant: lineage.categoryModel?.variant ?? '',
    policy_model_id: lineage.policyModel?.modelId ?? '',
    policy_model_version: lineage.policyModel?.modelVersion ?? '',
    policy_variant: lineage.policyModel?.variant ?? '',
    audit_sampled: record.auditSampled === true ? 'true' : 'false',
    duplicate_of: record.duplicates?.[0] === undefined ? '' : `${record.duplicates[0].batchId}/${record.duplicates[0].assetKey}`,
    description: record.listing.description ?? '',
    sku: record.listing.sku ?? '',
    price: record.listing.price ?? '',
    currency: record.listing.currency ?? '',
    // One JSON object (keys sorted so reruns are byte-identical); Athena reads it with json_extract_scalar.
    attributes: attributesJson(record.listing.attributes),
  };
}

function attributesJson(attributes: Record<string, string> | undefined): string {
  const entries = Object.entries(attributes ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '' : JSON.stringify(Object.fromEntries(entries));
}

/**
 * CSV with a header row; rows sorted by asset key so reruns produce byte-identical files. Cells that a spreadsheet
 * would run as a formula are neutralized (core/csv-safety.ts).
 */
export function assetsCsv(records: AssetRecord[]): string {
  return tableCsv(ASSET_COLUMNS, [...records].sort((a, b) => a.assetKey.localeCompare(b.assetKey)).map(assetRow));
}

/**
 * The CSV of one report table: header row, then each row's cells in column order. Line breaks inside a cell become
 * spaces because Athena's OpenCSVSerde cannot read a quoted field that spans lines; then every cell goes through the
 * CSV-injection guard.
 */
export function tableCsv<Column extends string>(columns: readonly Column[], rows: ReadonlyArray<Record<Column, string | number>>): string {
  const cells = rows.map((row) =>
    neutralizeRow(Object.fromEntries(columns.map((column) => [column, singleLine(row[column])])) as Record<Column, string | number>),
  );
  return stringify(cells, { header: true, columns: [...columns] });
}

function singleLine(value: string | number): string | number {
  return typeof value === 'string' ? value.replace(/\r\n|[\r\n]/g, ' ') : value;
}

export function reportKey(table: string, dt: string, batchId: string, fileName: string): string {
  return `reports/${table}/dt=${dt}/batch_id=${batchId}/${fileName}`;
}

/** S3 keys (reports bucket) of a batch's report files. */
export interface ReportKeys {
  assets: string;
  summary: string;
  exceptions: string;
  batches: string;
  /** The batch's stakeholder page (reports/html/dt=…/batch_id=…/index.html; core/report-html/). */
  html: string;
}

export interface BatchSummary {
  batchId: string;
  dt: string;
  assets: number;
  outcomes: Record<Outcome, number>;
  reasons: Partial<Record<ReasonCode, number>>;
  sentToReview: number;
  /** Auto-passed assets sampled for a human audit (included in sentToReview). */
  auditSamples: number;
  reports: ReportKeys;
  versions: { pipeline: string; taxonomy: string; policy: string };
}

export function summarize(
  batch: { batchId: string; dt: string; pipelineVersion: string; taxonomyVersion: string; policyVersion: string },
  records: AssetRecord[],
  reports: ReportKeys,
): BatchSummary {
  const outcomes = emptyOutcomeCounts();
  const reasonCounts = new Map<ReasonCode, number>();
  for (const record of records) {
    outcomes[record.outcome] += 1;
    for (const reason of record.reasons) reasonCounts.set(reason, (reasonCounts.get(reason) ?? 0) + 1);
  }
  // Closed-list order keeps the JSON stable across runs.
  const reasons = Object.fromEntries(REASON_CODE_LIST.filter((code) => reasonCounts.has(code)).map((code) => [code, reasonCounts.get(code)!]));
  return {
    batchId: batch.batchId,
    dt: batch.dt,
    assets: records.length,
    outcomes,
    reasons,
    sentToReview: records.filter((record) => needsReview(record) && record.reviewMessageId !== undefined).length,
    auditSamples: records.filter((record) => record.auditSampled === true).length,
    reports,
    versions: { pipeline: batch.pipelineVersion, taxonomy: batch.taxonomyVersion, policy: batch.policyVersion },
  };
}
