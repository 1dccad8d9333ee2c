/**
 * The report tables, column by column: name, Athena type and description. The CSV writers (below), the Glue tables
 * (lib/constructs/report-analytics.ts), the local DuckDB views (local/report-query.ts) and the README's
 * "Report tables" section all come from here; a test keeps the README in step.
 *
 * Layout: `reports/<table>/dt=YYYY-MM-DD/batch_id=<id>/<table>.csv`. `dt` is the only partition key (a path
 * segment, never a CSV column); `batch_id` is both a path segment and the first column of every table, so queries
 * across batches need no partition values (see the construct for why it is not an injected partition key).
 *
 * Types: Athena reads these CSVs with OpenCSVSerde, which cannot read an empty field as a number, so a column is
 * `bigint` only when every row has a value; optional numbers are `string` (cast with `TRY_CAST(x AS DOUBLE)`).
 * Compatibility: append columns at the end; never rename, reorder or drop one (old files keep their columns).
 */
import { OUTCOMES, type Outcome } from './outcomes';
import { ASSET_COLUMNS, tableCsv } from './report';
import { needsReview, type AssetRecord, type BatchRecord, type ModelLineage } from './records';
import type { ReviewDecision } from './review/decisions';
import type { BatchDrift } from './drift/batch-drift';
import type { GateReport } from './gates/quality-gates';
import type { BatchKpis, RunWindow } from './kpis/batch-kpis';

export type AthenaType = 'string' | 'bigint';

export interface ReportColumn {
  name: string;
  type: AthenaType;
  description: string;
}

export interface ReportTable {
  name: string;
  description: string;
  columns: readonly ReportColumn[];
}

const text = (name: string, description: string): ReportColumn => ({ name, type: 'string', description });
const count = (name: string, description: string): ReportColumn => ({ name, type: 'bigint', description });

const ASSET_DESCRIPTIONS: Record<(typeof ASSET_COLUMNS)[number], string> = {
  batch_id: 'The batch (`<archive-name-slug>-<12 hex of its sha256>`).',
  asset_key: 'The asset within the batch (`row-000003`, or the file name for an archive file no row names).',
  asset_id: 'The merchant’s asset id from the manifest.',
  row_number: 'Manifest row (1 = first data row); empty for a file no row names.',
  file: 'Image file in the archive.',
  merchant_id: 'The merchant.',
  declared_category: 'Declared category as the merchant wrote it.',
  declared_category_id: 'Declared category resolved to a taxonomy id.',
  title: 'Listing title.',
  outcome: 'AUTO_PASS, FLAGGED, NEEDS_REVIEW, REJECTED_INPUT or FAILED.',
  reason_codes: 'Reason codes, `|`-separated.',
  explanation: 'The readable explanation of the outcome.',
  top_category_id: 'Category the image model predicted (empty without a model answer).',
  top_score: 'Score of the predicted category, 0–1 (number as text; empty without a model answer).',
  declared_support: 'Image support for the declared category, 0–1 (number as text; may be empty).',
  policy_max_class: 'Highest-scoring policy class that reached its borderline band; empty when none did.',
  policy_max_score: 'Highest policy score, 0–1 (number as text; may be empty).',
  image_format: 'Decoded image format.',
  image_width: 'Width in pixels (number as text; empty when not decoded).',
  image_height: 'Height in pixels (number as text; empty when not decoded).',
  sha256: 'SHA-256 of the image bytes.',
  perceptual_hash: '64-bit dHash (hex).',
  sent_to_review: '`true` when a review message was sent.',
  review_message_id: 'Id of the latest review message.',
  decided_by: 'Stage that decided the outcome.',
  received_at: 'When the batch was first received (ISO 8601).',
  decided_at: 'When the outcome was decided (ISO 8601).',
  pipeline_version: 'Pipeline (package) version.',
  taxonomy_version: 'Taxonomy version.',
  policy_version: 'Triage policy version.',
  category_model_id: 'Category model id.',
  category_model_version: 'Category model version.',
  category_variant: 'Endpoint production variant that answered for the category model.',
  policy_model_id: 'Policy model id.',
  policy_model_version: 'Policy model version.',
  policy_variant: 'Endpoint production variant that answered for the policy model.',
  audit_sampled: '`true` for an auto-pass sampled for a human audit.',
  duplicate_of: 'First duplicate found (`<batch>/<asset>`).',
  description: 'Listing description (line breaks as spaces).',
  sku: 'Merchant SKU.',
  price: 'Price (number as text; may be empty).',
  currency: 'Currency code.',
  attributes: "The manifest’s extra columns as one JSON object (`json_extract_scalar(attributes, '$.color')`); empty when none.",
};

export const ASSETS_TABLE: ReportTable = {
  name: 'assets',
  description: 'One row per asset: listing, outcome, reasons, evidence, image facts and lineage.',
  columns: ASSET_COLUMNS.map((name) => text(name, ASSET_DESCRIPTIONS[name])),
};

const EXCEPTION_SOURCE = {
  batch_id: (r: AssetRecord) => r.batchId,
  asset_key: (r: AssetRecord) => r.assetKey,
  asset_id: (r: AssetRecord) => r.listing.assetId ?? '',
  merchant_id: (r: AssetRecord) => r.listing.merchantId ?? '',
  declared_category_id: (r: AssetRecord) => r.listing.declaredCategoryId ?? '',
  top_category_id: (r: AssetRecord) => r.evidence?.category.topCategoryId ?? '',
  outcome: (r: AssetRecord) => r.outcome,
  reason_codes: (r: AssetRecord) => r.reasons.join('|'),
  explanation: (r: AssetRecord) => r.explanation,
  audit_sampled: (r: AssetRecord) => (r.auditSampled === true ? 'true' : 'false'),
  review_revision: (r: AssetRecord) => r.reviewRevision ?? '',
  review_message_id: (r: AssetRecord) => r.reviewMessageId ?? '',
  review_enqueued_at: (r: AssetRecord) => r.reviewEnqueuedAt ?? '',
  review_status: (r: AssetRecord) => r.reviewStatus ?? '',
  review_outcome: (r: AssetRecord) => r.reviewOutcome ?? '',
  review_outcome_by: (r: AssetRecord) => r.reviewOutcomeBy ?? '',
  reviewed_by: (r: AssetRecord) => (r.reviewedBy ?? []).join('|'),
  reviewed_at: (r: AssetRecord) => r.reviewedAt ?? '',
  received_at: (r: AssetRecord) => r.receivedAt,
  decided_at: (r: AssetRecord) => r.decidedAt,
} satisfies Record<string, (record: AssetRecord) => string | number>;

const EXCEPTION_DESCRIPTIONS: Record<keyof typeof EXCEPTION_SOURCE, string> = {
  batch_id: ASSET_DESCRIPTIONS.batch_id,
  asset_key: ASSET_DESCRIPTIONS.asset_key,
  asset_id: ASSET_DESCRIPTIONS.asset_id,
  merchant_id: ASSET_DESCRIPTIONS.merchant_id,
  declared_category_id: ASSET_DESCRIPTIONS.declared_category_id,
  top_category_id: ASSET_DESCRIPTIONS.top_category_id,
  outcome: 'FLAGGED, NEEDS_REVIEW, or AUTO_PASS for an audit sample (or any outcome a person reviewed).',
  reason_codes: ASSET_DESCRIPTIONS.reason_codes,
  explanation: ASSET_DESCRIPTIONS.explanation,
  audit_sampled: ASSET_DESCRIPTIONS.audit_sampled,
  review_revision: 'The review task’s revision (number as text).',
  review_message_id: ASSET_DESCRIPTIONS.review_message_id,
  review_enqueued_at: 'When the latest review message was sent (ISO 8601; empty before that).',
  review_status: 'Human review of the current revision: OPEN, ADJUDICATION or FINAL; empty before any decision.',
  review_outcome: 'Consolidated review label once final (approve, reject, recategorize:<id>).',
  review_outcome_by: 'consensus or adjudication.',
  reviewed_by: 'Reviewers whose decisions count, `|`-separated.',
  reviewed_at: 'When the review became final (ISO 8601).',
  received_at: ASSET_DESCRIPTIONS.received_at,
  decided_at: ASSET_DESCRIPTIONS.decided_at,
};

export const EXCEPTIONS_TABLE: ReportTable = {
  name: 'exceptions',
  description: 'Assets that need or needed a person (FLAGGED, NEEDS_REVIEW, audit samples), with the review state at report time.',
  columns: Object.keys(EXCEPTION_SOURCE).map((name) => text(name, EXCEPTION_DESCRIPTIONS[name as keyof typeof EXCEPTION_SOURCE])),
};

const DECISION_SOURCE = {
  batch_id: (d: ReviewDecision) => d.batchId,
  asset_key: (d: ReviewDecision) => d.assetKey,
  review_task_id: (d: ReviewDecision) => d.reviewTaskId,
  revision: (d: ReviewDecision) => d.revision,
  reviewer_id: (d: ReviewDecision) => d.reviewerId,
  role: (d: ReviewDecision) => d.role,
  label: (d: ReviewDecision) => d.label,
  note: (d: ReviewDecision) => d.note ?? '',
  claimed_at: (d: ReviewDecision) => d.claimedAt,
  decided_at: (d: ReviewDecision) => d.decidedAt,
  time_to_label_ms: (d: ReviewDecision) => d.timeToLabelMs,
  seen_outcome: (d: ReviewDecision) => d.seen.outcome,
  seen_reason_codes: (d: ReviewDecision) => d.seen.reasons.join('|'),
  review_policy_version: (d: ReviewDecision) => d.seen.reviewPolicyVersion,
  pipeline_version: (d: ReviewDecision) => d.seen.lineage.pipelineVersion,
  taxonomy_version: (d: ReviewDecision) => d.seen.lineage.taxonomyVersion,
  policy_version: (d: ReviewDecision) => d.seen.lineage.policyVersion,
  category_model_id: (d: ReviewDecision) => d.seen.lineage.categoryModel?.modelId ?? '',
  category_model_version: (d: ReviewDecision) => d.seen.lineage.categoryModel?.modelVersion ?? '',
  policy_model_id: (d: ReviewDecision) => d.seen.lineage.policyModel?.modelId ?? '',
  policy_model_version: (d: ReviewDecision) => d.seen.lineage.policyModel?.modelVersion ?? '',
} satisfies Record<string, (decision: ReviewDecision) => string | number>;

const DECISION_TYPES: Partial<Record<keyof typeof DECISION_SOURCE, AthenaType>> = { revision: 'bigint', time_to_label_ms: 'bigint' };
const DECISION_DESCRIPTIONS: Record<keyof typeof DECISION_SOURCE, string> = {
  batch_id: ASSET_DESCRIPTIONS.batch_id,
  asset_key: ASSET_DESCRIPTIONS.asset_key,
  review_task_id: 'The review task (one revision of the asset’s record).',
  revision: 'The record revision the decision was made on.',
  reviewer_id: 'Who decided.',
  role: 'review (blind), adjudication or gold.',
  label: 'approve, reject or recategorize:<id>.',
  note: 'The reviewer’s note.',
  claimed_at: 'When the reviewer claimed the task (ISO 8601).',
  decided_at: 'When the reviewer decided (ISO 8601).',
  time_to_label_ms: 'decided_at − claimed_at in milliseconds.',
  seen_outcome: 'The triage outcome the reviewer saw.',
  seen_reason_codes: 'The reason codes the reviewer saw, `|`-separated.',
  review_policy_version: 'Review policy in force.',
  pipeline_version: 'Pipeline version of the record the reviewer saw.',
  taxonomy_version: 'Taxonomy version of that record.',
  policy_version: 'Triage policy version of that record.',
  category_model_id: 'Category model of that record.',
  category_model_version: 'Its version.',
  policy_model_id: 'Policy model of that record.',
  policy_model_version: 'Its version.',
};

export const DECISIONS_TABLE: ReportTable = {
  name: 'decisions',
  description: 'Reviewer decisions (append-only, one per task and reviewer), written by the review loop with `decisionsCsv`.',
  columns: Object.keys(DECISION_SOURCE).map((name) => {
    const key = name as keyof typeof DECISION_SOURCE;
    return { name, type: DECISION_TYPES[key] ?? 'string', description: DECISION_DESCRIPTIONS[key] };
  }),
};

/** What the batches row is made of: the batch record, its asset records and the report time. */
export interface BatchRowSource {
  batch: BatchRecord;
  records: readonly AssetRecord[];
  completedAt: string;
  pipelineVersion: string;
  /** KPIs, drift and gates of the report (adapters/batch-report.ts); their columns are empty without it. */
  quality?: { kpis: BatchKpis; drift: BatchDrift; gates: GateReport; run: RunWindow };
}

const outcomeColumn = (outcome: Outcome): string => `count_${outcome.toLowerCase()}`;
const firstModel = (records: readonly AssetRecord[], pick: (record: AssetRecord) => ModelLineage | undefined): ModelLineage | undefined =>
  records.map(pick).find((model) => model !== undefined && model.modelId !== '');

const BATCH_SOURCE: Array<[ReportColumn, (source: BatchRowSource) => string | number]> = [
  [text('batch_id', ASSET_DESCRIPTIONS.batch_id), ({ batch }) => batch.batchId],
  [text('status', 'Batch status at report time (COMPLETED).'), () => 'COMPLETED'],
  [text('archive_key', 'S3 key of the uploaded archive.'), ({ batch }) => batch.archiveKey],
  [text('archive_sha256', 'SHA-256 of the archive.'), ({ batch }) => batch.archiveSha256],
  [text('manifest_file', 'Manifest file in the archive.'), ({ batch }) => batch.manifestFile ?? ''],
  [count('expected_assets', 'Assets PrepareBatch expected.'), ({ batch, records }) => batch.expectedAssets ?? records.length],
  [count('recorded_assets', 'Asset records at report time (equals expected_assets once Report reconciled).'), ({ records }) => records.length],
  ...OUTCOMES.map((outcome): [ReportColumn, (source: BatchRowSource) => number] => [
    count(outcomeColumn(outcome), `Assets with outcome ${outcome}.`),
    ({ records }) => records.filter((record) => record.outcome === outcome).length,
  ]),
  [count('sent_to_review', 'Assets with a review message.'), ({ records }) => records.filter((r) => needsReview(r) && r.reviewMessageId !== undefined).length],
  [count('audit_samples', 'Auto-passed assets sampled for an audit.'), ({ records }) => records.filter((r) => r.auditSampled === true).length],
  [text('received_at', ASSET_DESCRIPTIONS.received_at), ({ batch }) => batch.receivedAt],
  [text('completed_at', 'When Report completed the batch (ISO 8601).'), ({ completedAt }) => completedAt],
  [text('pipeline_version', ASSET_DESCRIPTIONS.pipeline_version), ({ pipelineVersion }) => pipelineVersion],
  [text('taxonomy_version', ASSET_DESCRIPTIONS.taxonomy_version), ({ batch }) => batch.taxonomyVersion],
  [text('policy_version', ASSET_DESCRIPTIONS.policy_version), ({ batch }) => batch.policyVersion],
  [
    text('category_model_id', 'Category model that answered (first asset with a model answer).'),
    ({ records }) => firstModel(records, (r) => r.lineage.categoryModel)?.modelId ?? '',
  ],
  [text('category_model_version', 'Its version.'), ({ records }) => firstModel(records, (r) => r.lineage.categoryModel)?.modelVersion ?? ''],
  [
    text('policy_model_id', 'Policy model that answered (first asset with a model answer).'),
    ({ records }) => firstModel(records, (r) => r.lineage.policyModel)?.modelId ?? '',
  ],
  [text('policy_model_version', 'Its version.'), ({ records }) => firstModel(records, (r) => r.lineage.policyModel)?.modelVersion ?? ''],
  // Appended with the quality gates (issue 10): KPIs, drift and gate results of the report.
  [text('gates_overall', 'Worst quality gate result: pass, warn or fail (config/quality-gates.json).'), ({ quality }) => quality?.gates.overall ?? ''],
  [text('gates_version', 'Version of config/quality-gates.json the gates were judged with.'), ({ quality }) => quality?.gates.version ?? ''],
  [
    text('gates', 'Every gate as JSON: `[{"gate","status","value","warn","fail"}]`, status pass, warn, fail or skipped (`json_extract`).'),
    ({ quality }) =>
      quality === undefined ? '' : JSON.stringify(quality.gates.gates.map(({ gate, status, value, warn, fail }) => ({ gate, status, value, warn, fail }))),
  ],
  [text('reject_rate', 'REJECTED_INPUT share of the assets, 0–1 (number as text).'), ({ quality }) => numberCell(quality?.kpis.rejectRate)],
  [
    text('review_rate', 'Share of assets sent to a person (reviewable outcomes and audit samples), 0–1 (number as text).'),
    ({ quality }) => numberCell(quality?.kpis.reviewRate),
  ],
  [
    text('category_psi', 'PSI of the predicted-category mix against the baseline window (number as text; empty without a baseline).'),
    ({ quality }) => numberCell(quality?.drift.category.psi),
  ],
  [
    text('policy_psi', 'PSI of the policy-hit mix against the baseline window (number as text; empty without a baseline).'),
    ({ quality }) => numberCell(quality?.drift.policy.psi),
  ],
  [
    text('assets_per_minute', 'Assets decided in the run per minute of it (number as text; empty when the run decided none).'),
    ({ quality }) => numberCell(quality?.kpis.throughput.assetsPerMinute),
  ],
  [
    text('gold_accuracy', 'Reviewers’ accuracy on this batch’s gold items, 0–1 (number as text; empty until answered).'),
    ({ quality }) => numberCell(quality?.kpis.review.goldAccuracy?.accuracy),
  ],
  [
    text('agreement_ac1', 'Gwet’s AC1 among the blind reviews of this batch’s tasks (number as text; empty until a task has two).'),
    ({ quality }) => numberCell(quality?.kpis.review.agreement?.ac1),
  ],
  [text('run_started_at', 'When the reported run started (PrepareBatch; ISO 8601).'), ({ quality }) => quality?.run.startedAt ?? ''],
];

/** An optional figure as a CSV cell: rounded to 6 decimals, empty when absent. */
function numberCell(value: number | null | undefined): string | number {
  return value === null || value === undefined ? '' : Math.round(value * 1e6) / 1e6;
}

export const BATCHES_TABLE: ReportTable = {
  name: 'batches',
  description: 'One row per batch: counts per outcome, expected and recorded assets, timestamps, versions, KPIs and quality gates.',
  columns: BATCH_SOURCE.map(([column]) => column),
};

export const REPORT_TABLES: readonly ReportTable[] = [ASSETS_TABLE, EXCEPTIONS_TABLE, DECISIONS_TABLE, BATCHES_TABLE];

const names = (table: ReportTable): string[] => table.columns.map((column) => column.name);
const rowFrom = <Source>(source: Source, entries: Array<[string, (source: Source) => string | number]>): Record<string, string | number> =>
  Object.fromEntries(entries.map(([name, value]) => [name, value(source)]));
const byAsset = <T extends { batchId: string; assetKey: string }>(a: T, b: T): number =>
  a.batchId.localeCompare(b.batchId) || a.assetKey.localeCompare(b.assetKey);

/** The records that belong in `exceptions`: reviewable now, or reviewed at some point. */
export function isException(record: AssetRecord): boolean {
  return needsReview(record) || record.reviewStatus !== undefined;
}

export function exceptionsCsv(records: readonly AssetRecord[]): string {
  const rows = records
    .filter(isException)
    .sort(byAsset)
    .map((record) => rowFrom(record, Object.entries(EXCEPTION_SOURCE)));
  return tableCsv(names(EXCEPTIONS_TABLE), rows);
}

/** The decisions table for a set of decisions (e.g. all of a batch's, rewritten whole since they are append-only). */
export function decisionsCsv(decisions: readonly ReviewDecision[]): string {
  const rows = [...decisions]
    .sort((a, b) => byAsset(a, b) || a.decidedAt.localeCompare(b.decidedAt) || a.reviewerId.localeCompare(b.reviewerId))
    .map((decision) => rowFrom(decision, Object.entries(DECISION_SOURCE)));
  return tableCsv(names(DECISIONS_TABLE), rows);
}

export function batchesCsv(source: BatchRowSource): string {
  return tableCsv(names(BATCHES_TABLE), [
    rowFrom(
      source,
      BATCH_SOURCE.map(([column, value]) => [column.name, value]),
    ),
  ]);
}
