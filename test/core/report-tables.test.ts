/** The report table writers: columns from the table module, which records land in each table, and the CSV guards. */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { OUTCOMES, type Outcome } from '../../lambdas/core/outcomes';
import { assetRecord, type AssetRecord, type BatchRecord, type Lineage } from '../../lambdas/core/records';
import { assetsCsv } from '../../lambdas/core/report';
import {
  ASSETS_TABLE,
  BATCHES_TABLE,
  batchesCsv,
  DECISIONS_TABLE,
  decisionsCsv,
  EXCEPTIONS_TABLE,
  exceptionsCsv,
  REPORT_TABLES,
} from '../../lambdas/core/report-tables';
import type { ReviewDecision } from '../../lambdas/core/review/decisions';

const LINEAGE: Lineage = {
  pipelineVersion: 'pipe-1',
  taxonomyVersion: 'tax-1',
  policyVersion: 'pol-1',
  categoryModel: { modelId: 'clip', modelVersion: 'rev-a', endpointName: 'cat-ep', variant: 'AllTraffic' },
};

function record(assetKey: string, outcome: Outcome, extra: Partial<AssetRecord> = {}): AssetRecord {
  const base = assetRecord(
    { batchId: 'batch-7', receivedAt: '2026-11-20T10:00:00Z', lineage: LINEAGE, now: '2026-11-20T10:05:00Z' },
    {
      assetKey,
      listing: {
        assetId: `id-${assetKey}`,
        merchantId: 'm-1',
        declaredCategoryId: 'pets',
        title: 't',
        description: 'two\nlines',
        sku: '=SUM(A1)',
        price: 12.5,
        currency: 'EUR',
        attributes: { size: 'L', color: 'red' },
      },
      outcome,
      reasons: [],
      explanation: `explanation of ${assetKey}`,
      decidedBy: 'Triage',
    },
  );
  return { ...base, ...extra };
}

const rows = (csv: string): Array<Record<string, string>> => parse(csv, { columns: true }) as Array<Record<string, string>>;
const header = (csv: string): string[] => csv.split('\n')[0]!.split(',');
const names = (table: { columns: readonly { name: string }[] }): string[] => table.columns.map((column) => column.name);

describe('report table definitions', () => {
  it('give every column a name, a type and a description, unique per table, and never dt (the partition key)', () => {
    for (const table of REPORT_TABLES) {
      expect(new Set(names(table)).size, table.name).toBe(table.columns.length);
      expect(names(table)[0], table.name).toBe('batch_id');
      expect(names(table)).not.toContain('dt');
      for (const column of table.columns) expect(column.description.length, `${table.name}.${column.name}`).toBeGreaterThan(0);
    }
  });
});

describe('assets', () => {
  it('appends description, sku, price, currency and the attributes as sorted JSON, guarded and on one line', () => {
    const csv = assetsCsv([record('row-000001', 'AUTO_PASS')]);
    expect(header(csv)).toEqual(names(ASSETS_TABLE));
    const [row] = rows(csv);
    expect(row).toMatchObject({ description: 'two lines', sku: "'=SUM(A1)", price: '12.5', currency: 'EUR', attributes: '{"color":"red","size":"L"}' });
  });
});

describe('exceptions', () => {
  it('has the reviewable assets and the reviewed ones, with their review state', () => {
    const records = [
      record('row-000001', 'AUTO_PASS'),
      record('row-000002', 'FLAGGED', { reviewMessageId: 'msg-2', reviewRevision: 1 }),
      record('row-000003', 'AUTO_PASS', { auditSampled: true }),
      record('row-000004', 'NEEDS_REVIEW', {
        reviewStatus: 'FINAL',
        reviewOutcome: 'approve',
        reviewOutcomeBy: 'consensus',
        reviewedBy: ['ana', 'ben'],
        reviewedAt: '2026-11-21T09:00:00Z',
      }),
      record('row-000005', 'REJECTED_INPUT'),
    ];
    const csv = exceptionsCsv(records);
    expect(header(csv)).toEqual(names(EXCEPTIONS_TABLE));
    const table = rows(csv);
    expect(table.map((row) => row.asset_key)).toEqual(['row-000002', 'row-000003', 'row-000004']);
    expect(table[0]).toMatchObject({ outcome: 'FLAGGED', review_message_id: 'msg-2', review_revision: '1', review_status: '' });
    expect(table[1]).toMatchObject({ audit_sampled: 'true' });
    expect(table[2]).toMatchObject({
      review_status: 'FINAL',
      review_outcome: 'approve',
      review_outcome_by: 'consensus',
      reviewed_by: 'ana|ben',
      reviewed_at: '2026-11-21T09:00:00Z',
    });
  });
});

describe('decisions', () => {
  const decision = (reviewerId: string, decidedAt: string, note?: string): ReviewDecision => ({
    batchId: 'batch-7',
    assetKey: 'row-000002',
    reviewTaskId: 'batch-7/row-000002/1',
    revision: 1,
    reviewerId,
    role: 'review',
    label: 'recategorize:boats',
    note,
    claimedAt: '2026-11-21T08:00:00Z',
    decidedAt,
    timeToLabelMs: 4200,
    seen: { lineage: LINEAGE, outcome: 'FLAGGED', reasons: ['CATEGORY_MISMATCH', 'LOW_CONFIDENCE'], reviewPolicyVersion: 'rp-3' },
  });

  it('writes one row per decision in decision order, with what the reviewer saw', () => {
    const csv = decisionsCsv([decision('ben', '2026-11-21T08:02:00Z'), decision('ana', '2026-11-21T08:01:00Z', '@me')]);
    expect(header(csv)).toEqual(names(DECISIONS_TABLE));
    const table = rows(csv);
    expect(table.map((row) => row.reviewer_id)).toEqual(['ana', 'ben']);
    expect(table[0]).toMatchObject({
      review_task_id: 'batch-7/row-000002/1',
      revision: '1',
      label: 'recategorize:boats',
      note: "'@me",
      time_to_label_ms: '4200',
      seen_reason_codes: 'CATEGORY_MISMATCH|LOW_CONFIDENCE',
      review_policy_version: 'rp-3',
      category_model_id: 'clip',
      policy_model_id: '',
    });
  });
});

describe('batches', () => {
  it('writes one row with the counts per outcome, expected and recorded assets, timestamps and versions', () => {
    const batch = {
      batchId: 'batch-7',
      archiveKey: 'incoming/b.zip',
      archiveSha256: 'ab',
      receivedAt: '2026-11-20T10:00:00Z',
      expectedAssets: 3,
      taxonomyVersion: 'tax-1',
      policyVersion: 'pol-1',
    } as BatchRecord;
    const records = [record('row-000001', 'AUTO_PASS'), record('row-000002', 'FLAGGED', { reviewMessageId: 'm' }), record('row-000003', 'FLAGGED')];
    const csv = batchesCsv({ batch, records, completedAt: '2026-11-20T10:09:00Z', pipelineVersion: 'pipe-1' });
    expect(header(csv)).toEqual(names(BATCHES_TABLE));
    const [row] = rows(csv);
    const counts = Object.fromEntries(
      OUTCOMES.map((outcome) => [`count_${outcome.toLowerCase()}`, String(records.filter((r) => r.outcome === outcome).length)]),
    );
    expect(row).toMatchObject({
      ...counts,
      expected_assets: '3',
      recorded_assets: '3',
      sent_to_review: '1',
      completed_at: '2026-11-20T10:09:00Z',
      category_model_id: 'clip',
      pipeline_version: 'pipe-1',
    });
    for (const column of BATCHES_TABLE.columns.filter((c) => c.type === 'bigint')) expect(row![column.name], column.name).toMatch(/^\d+$/);
  });
});
