import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { OUTCOMES } from '../../lambdas/core/outcomes';
import type { Outcome, ReasonCode } from '../../lambdas/core/outcomes';
import { assetRecord, partitionDate } from '../../lambdas/core/records';
import type { AssetRecord, Lineage } from '../../lambdas/core/records';
import { ASSET_COLUMNS, assetRow, assetsCsv, reportKey, summarize } from '../../lambdas/core/report';
import type { TriageEvidence } from '../../lambdas/core/triage';

const LINEAGE: Lineage = {
  pipelineVersion: 'pipe-1.2.3',
  taxonomyVersion: 'tax-2026.11.1',
  policyVersion: 'pol-2026.11.1',
  categoryModel: { modelId: 'openai/clip-vit-base-patch32', modelVersion: 'rev-abc', endpointName: 'cat-ep', variant: 'AllTraffic' },
  policyModel: { modelId: 'nsfw-mobilenet', modelVersion: 'v2', endpointName: 'pol-ep', variant: 'Blue' },
};

const EVIDENCE: TriageEvidence = {
  category: {
    declaredCategoryId: 'animals.pets',
    declaredSupport: 0.05,
    topCategoryId: 'food',
    topScore: 0.85,
    scores: [{ categoryId: 'food', score: 0.85 }],
    thresholds: { lowConfidence: 0.35, mismatch: 0.55, pass: 0.45 },
  },
  text: { mentions: [], conflict: false, imageConflict: false },
  policy: [
    { classId: 'sexual_explicit', score: 0.1, threshold: 0.4, borderlineThreshold: 0.2, sensitive: false, borderline: false },
    { classId: 'suggestive', score: 0.3, threshold: 0.6, borderlineThreshold: 0.25, sensitive: false, borderline: true },
  ],
};

function record(
  assetKey: string,
  outcome: Outcome,
  extra: { reasons?: ReasonCode[]; title?: string; reviewMessageId?: string; evidence?: TriageEvidence; lineage?: Lineage; rowNumber?: number } = {},
): AssetRecord {
  const result = assetRecord(
    { batchId: 'batch-7', receivedAt: '2026-11-20T10:00:00Z', lineage: extra.lineage ?? LINEAGE, now: '2026-11-20T10:05:00Z' },
    {
      assetKey,
      rowNumber: extra.rowNumber,
      file: assetKey.startsWith('file:') ? assetKey.slice(5) : 'img/a.jpg',
      listing: assetKey.startsWith('file:')
        ? {}
        : {
            assetId: `id-${assetKey}`,
            merchantId: 'm-1',
            declaredCategory: 'Pets',
            declaredCategoryId: 'animals.pets',
            title: extra.title ?? 'Cat tree',
            attributes: {},
          },
      outcome,
      reasons: extra.reasons ?? [],
      explanation: `explanation of ${assetKey}`,
      decidedBy: 'Triage',
      evidence: extra.evidence,
      image:
        outcome === 'REJECTED_INPUT'
          ? undefined
          : { format: 'jpeg', width: 640, height: 480, bytes: 1234, sha256: 'ab'.repeat(32), perceptualHash: 'f0f0f0f0f0f0f0f0', modelInputKey: 'k' },
    },
  );
  if (extra.reviewMessageId !== undefined) result.reviewMessageId = extra.reviewMessageId;
  return result;
}

function parseCsv(csv: string): Array<Record<string, string>> {
  return parse(csv, { columns: true }) as Array<Record<string, string>>;
}

describe('assetsCsv', () => {
  it('has exactly the ASSET_COLUMNS header, in order', () => {
    const csv = assetsCsv([record('row-000001', 'AUTO_PASS')]);
    const [header] = parse(csv) as string[][];
    expect(header).toEqual([...ASSET_COLUMNS]);
    expect(csv.split('\n')[0]).toBe(ASSET_COLUMNS.join(','));
  });

  it('writes only the header for no records', () => {
    const rows = parse(assetsCsv([])) as string[][];
    expect(rows).toEqual([[...ASSET_COLUMNS]]);
  });

  it('writes one row per record, sorted by asset key whatever the input order', () => {
    const records = [
      record('row-000010', 'AUTO_PASS'),
      record('file:z.jpg', 'REJECTED_INPUT'),
      record('row-000002', 'FLAGGED'),
      record('row-000001', 'NEEDS_REVIEW'),
    ];
    const rows = parseCsv(assetsCsv(records));
    expect(rows.map((r) => r['asset_key'])).toEqual(['file:z.jpg', 'row-000001', 'row-000002', 'row-000010']);
    expect(assetsCsv([...records].reverse())).toBe(assetsCsv(records));
  });

  // Athena's OpenCSVSerde cannot read a quoted cell that spans lines, so a line break becomes one space.
  it('escapes commas and quotes so titles round-trip, and writes line breaks as spaces', () => {
    const titles = ['Cat tree, large', 'The "best" mug', 'two\nlines', 'mixed, "all"\r\nof it', ' padded '];
    const records = titles.map((title, i) => record(`row-00000${i + 1}`, 'AUTO_PASS', { title }));
    const rows = parseCsv(assetsCsv(records));
    expect(rows).toHaveLength(titles.length);
    expect(rows.map((r) => r['title'])).toEqual(['Cat tree, large', 'The "best" mug', 'two lines', 'mixed, "all" of it', ' padded ']);
    expect(assetsCsv(records).split('\n')).toHaveLength(titles.length + 2);
    for (const r of rows) expect(Object.keys(r)).toEqual([...ASSET_COLUMNS]);
  });

  it('names a policy class only when one reached its borderline band (the score column still shows the highest score)', () => {
    const below: TriageEvidence = {
      ...EVIDENCE,
      policy: [
        { classId: 'sexual_explicit', score: 0.05, threshold: 0.4, borderlineThreshold: 0.2, sensitive: false, borderline: false },
        { classId: 'suggestive', score: 0.08, threshold: 0.6, borderlineThreshold: 0.1, sensitive: false, borderline: false },
      ],
    };
    const [quiet] = parseCsv(assetsCsv([record('row-000001', 'AUTO_PASS', { evidence: below })]));
    expect(quiet).toMatchObject({ policy_max_class: '', policy_max_score: '0.08' });
    // A lower-scoring class inside its band is the one named, with its own score.
    const banded: TriageEvidence = {
      ...EVIDENCE,
      policy: [
        { classId: 'sexual_explicit', score: 0.25, threshold: 0.4, borderlineThreshold: 0.2, sensitive: false, borderline: true },
        { classId: 'suggestive', score: 0.3, threshold: 0.6, borderlineThreshold: 0.5, sensitive: false, borderline: false },
      ],
    };
    const [named] = parseCsv(assetsCsv([record('row-000002', 'NEEDS_REVIEW', { evidence: banded })]));
    expect(named).toMatchObject({ policy_max_class: 'sexual_explicit', policy_max_score: '0.25' });
  });

  it('fills lineage, evidence, image and review columns', () => {
    const rows = parseCsv(
      assetsCsv([
        record('row-000003', 'FLAGGED', { reasons: ['CATEGORY_MISMATCH', 'POLICY_SENSITIVE'], evidence: EVIDENCE, reviewMessageId: 'msg-1', rowNumber: 3 }),
      ]),
    );
    expect(rows[0]).toMatchObject({
      batch_id: 'batch-7',
      asset_key: 'row-000003',
      asset_id: 'id-row-000003',
      row_number: '3',
      file: 'img/a.jpg',
      merchant_id: 'm-1',
      declared_category: 'Pets',
      declared_category_id: 'animals.pets',
      outcome: 'FLAGGED',
      reason_codes: 'CATEGORY_MISMATCH|POLICY_SENSITIVE',
      explanation: 'explanation of row-000003',
      top_category_id: 'food',
      top_score: '0.85',
      declared_support: '0.05',
      policy_max_class: 'suggestive',
      policy_max_score: '0.3',
      image_format: 'jpeg',
      image_width: '640',
      image_height: '480',
      sha256: 'ab'.repeat(32),
      perceptual_hash: 'f0f0f0f0f0f0f0f0',
      sent_to_review: 'true',
      review_message_id: 'msg-1',
      decided_by: 'Triage',
      received_at: '2026-11-20T10:00:00Z',
      decided_at: '2026-11-20T10:05:00Z',
      pipeline_version: 'pipe-1.2.3',
      taxonomy_version: 'tax-2026.11.1',
      policy_version: 'pol-2026.11.1',
      category_model_id: 'openai/clip-vit-base-patch32',
      category_model_version: 'rev-abc',
      category_variant: 'AllTraffic',
      policy_model_id: 'nsfw-mobilenet',
      policy_model_version: 'v2',
      policy_variant: 'Blue',
    });
  });

  it('leaves optional columns empty for a rejected file without evidence, image or models', () => {
    const bare: Lineage = { pipelineVersion: 'p', taxonomyVersion: 't', policyVersion: 'q' };
    const rows = parseCsv(assetsCsv([record('file:orphan.jpg', 'REJECTED_INPUT', { reasons: ['ORPHAN_FILE'], lineage: bare })]));
    const only = rows[0]!;
    for (const column of [
      'asset_id',
      'row_number',
      'merchant_id',
      'title',
      'top_category_id',
      'top_score',
      'policy_max_class',
      'image_width',
      'review_message_id',
      'category_model_id',
      'policy_variant',
    ]) {
      expect(only[column], column).toBe('');
    }
    expect(only).toMatchObject({ file: 'orphan.jpg', reason_codes: 'ORPHAN_FILE', sent_to_review: 'false', pipeline_version: 'p' });
  });

  it('assetRow keeps numbers as numbers', () => {
    const row = assetRow(record('row-000001', 'AUTO_PASS', { evidence: EVIDENCE, rowNumber: 1 }));
    expect(row.row_number).toBe(1);
    expect(row.top_score).toBe(0.85);
    expect(row.image_width).toBe(640);
    expect(Object.keys(row)).toEqual([...ASSET_COLUMNS]);
  });
});

describe('summarize', () => {
  const batch = { batchId: 'batch-7', dt: '2026-11-20', pipelineVersion: 'p1', taxonomyVersion: 't1', policyVersion: 'q1' };
  const reports = {
    assets: 'reports/assets/x.csv',
    summary: 'reports/summary/x.json',
    exceptions: 'reports/exceptions/x.csv',
    batches: 'reports/batches/x.csv',
    html: 'reports/html/x.html',
  };

  it('counts every outcome, zeros included, and every reason', () => {
    const records = [
      record('row-000001', 'AUTO_PASS'),
      record('row-000002', 'AUTO_PASS'),
      record('row-000003', 'FLAGGED', { reasons: ['CATEGORY_MISMATCH', 'POLICY_SENSITIVE'], reviewMessageId: 'm3' }),
      record('row-000004', 'NEEDS_REVIEW', { reasons: ['POLICY_SENSITIVE'], reviewMessageId: 'm4' }),
      record('file:x.jpg', 'REJECTED_INPUT', { reasons: ['EMPTY_FILE', 'ORPHAN_FILE'] }),
    ];
    const summary = summarize(batch, records, reports);
    expect(summary.assets).toBe(5);
    expect(summary.outcomes).toEqual({ AUTO_PASS: 2, FLAGGED: 1, NEEDS_REVIEW: 1, REJECTED_INPUT: 1, FAILED: 0 });
    expect(Object.keys(summary.outcomes).sort()).toEqual([...OUTCOMES].sort());
    expect(summary.reasons).toEqual({ CATEGORY_MISMATCH: 1, POLICY_SENSITIVE: 2, ORPHAN_FILE: 1, EMPTY_FILE: 1 });
    expect(summary.sentToReview).toBe(2);
    expect(summary).toMatchObject({ batchId: 'batch-7', dt: '2026-11-20', reports, versions: { pipeline: 'p1', taxonomy: 't1', policy: 'q1' } });
  });

  it('lists reasons in the closed-list order, not in the order met', () => {
    const summary = summarize(
      batch,
      [
        record('file:a', 'REJECTED_INPUT', { reasons: ['ORPHAN_FILE'] }),
        record('row-000001', 'NEEDS_REVIEW', { reasons: ['POLICY_SENSITIVE', 'LOW_CONFIDENCE'] }),
      ],
      reports,
    );
    expect(Object.keys(summary.reasons)).toEqual(['LOW_CONFIDENCE', 'POLICY_SENSITIVE', 'ORPHAN_FILE']);
  });

  it('counts as sent to review only reviewable records that have a review message id', () => {
    const records = [
      record('row-000001', 'FLAGGED', { reviewMessageId: 'a' }),
      record('row-000002', 'FLAGGED'), // not enqueued (yet)
      record('row-000003', 'NEEDS_REVIEW', { reviewMessageId: 'b' }),
      record('row-000004', 'AUTO_PASS', { reviewMessageId: 'stray' }),
      record('row-000005', 'FAILED', { reasons: ['MODEL_ERROR'], reviewMessageId: 'stray' }),
      record('file:x', 'REJECTED_INPUT', { reasons: ['ORPHAN_FILE'], reviewMessageId: 'stray' }),
    ];
    expect(summarize(batch, records, reports).sentToReview).toBe(2);
  });

  it('summarizes an empty batch to all-zero counts', () => {
    const summary = summarize(batch, [], reports);
    expect(summary.assets).toBe(0);
    expect(summary.outcomes).toEqual({ AUTO_PASS: 0, FLAGGED: 0, NEEDS_REVIEW: 0, REJECTED_INPUT: 0, FAILED: 0 });
    expect(summary.reasons).toEqual({});
    expect(summary.sentToReview).toBe(0);
  });

  it('outcome counts always add up to the number of assets', () => {
    const outcomes: Outcome[] = ['AUTO_PASS', 'FAILED', 'FLAGGED', 'FAILED', 'NEEDS_REVIEW', 'REJECTED_INPUT', 'AUTO_PASS'];
    const summary = summarize(
      batch,
      outcomes.map((outcome, i) => record(`row-00000${i}`, outcome)),
      reports,
    );
    expect(Object.values(summary.outcomes).reduce((sum, n) => sum + n, 0)).toBe(summary.assets);
    expect(summary.outcomes.FAILED).toBe(2);
  });
});

describe('reportKey and partitions', () => {
  it('lays keys out as reports/<table>/dt=YYYY-MM-DD/batch_id=<id>/<file>', () => {
    expect(reportKey('assets', '2026-11-20', 'spring-sale-0123456789ab', 'assets.csv')).toBe(
      'reports/assets/dt=2026-11-20/batch_id=spring-sale-0123456789ab/assets.csv',
    );
    expect(reportKey('batch_summary', '2026-01-02', 'b', 'summary.json')).toBe('reports/batch_summary/dt=2026-01-02/batch_id=b/summary.json');
  });

  it('partitionDate takes the UTC date of an ISO timestamp', () => {
    expect(partitionDate('2026-11-20T23:59:59.999Z')).toBe('2026-11-20');
    expect(partitionDate('2026-01-01T00:00:00Z')).toBe('2026-01-01');
  });
});
