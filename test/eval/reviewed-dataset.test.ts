/**
 * `npm run eval -- --dataset <file>`: the current triage policy re-run on a reviewed dataset. Datasets are built in a
 * temp dir from hand-built records (real triage, real `datasetLine`), so no pipeline run is needed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { datasetLine, DATASET_SCHEMA_VERSION, type DatasetLine } from '../../lambdas/adapters/dataset-export';
import type { LabelScores } from '../../lambdas/core/hf-contract';
import type { NormalizedListing } from '../../lambdas/core/manifest';
import { OUTCOMES } from '../../lambdas/core/outcomes';
import { assetRecord, type AssetRecord } from '../../lambdas/core/records';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { triage, type MerchantProfile } from '../../lambdas/core/triage';
import { loadTriagePolicy, thresholdsFor, type TriagePolicy } from '../../lambdas/core/triage-policy';
import { DatasetError, loadReviewedDataset, NOT_A_RANDOM_SAMPLE, reviewedMetrics, type ReplayedItem } from '../../eval/reviewed-dataset';
import { wilson } from '../../eval/score-models';

const taxonomy = loadTaxonomy();
const policy = loadTriagePolicy();
const CLIP = 'openai/clip-vit-base-patch32';
const categoryModel = { modelId: CLIP, modelVersion: 'test', endpointName: 'clip', variant: 'AllTraffic' };
const thresholds = thresholdsFor(policy, CLIP, categoryModel.variant);
const dir = mkdtempSync(join(tmpdir(), 'eval-dataset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Zero-shot labels giving `declared` the score `score` and spreading the rest evenly over every other prompt. */
function zeroShot(declared: string, score: number): LabelScores {
  const prompts = taxonomy.candidateLabels();
  const own = taxonomy.category(declared)!.clipPrompts[0]!;
  const rest = (1 - score) / (prompts.length - 1);
  return prompts.map((label) => ({ label, score: label === own ? score : rest }));
}

const CLEAN_POLICY: LabelScores = [
  { label: 'normal', score: 0.99 },
  { label: 'nsfw', score: 0.01 },
];

interface Built {
  assetKey: string;
  declared: string;
  title: string;
  categoryLabels: LabelScores;
  policyLabels?: LabelScores;
  merchantProfile?: MerchantProfile;
  label: string;
  /** The policy in force when the record was decided (default: the current one). */
  decidedWith?: TriagePolicy;
}

function reviewedRecord(built: Built): AssetRecord {
  const listing: Partial<NormalizedListing> = { assetId: built.assetKey, merchantId: 'm1', declaredCategoryId: built.declared, title: built.title };
  const policyLabels = built.policyLabels ?? CLEAN_POLICY;
  const decision = triage(
    {
      listing: { declaredCategoryId: built.declared, title: built.title },
      categoryLabels: built.categoryLabels,
      policyLabels,
      categoryModelId: CLIP,
      categoryModelVariant: categoryModel.variant,
      merchantProfile: built.merchantProfile,
      sampleKey: `b1#${built.assetKey}`,
    },
    taxonomy,
    built.decidedWith ?? policy,
  );
  const record = assetRecord(
    {
      batchId: 'b1',
      receivedAt: '2026-12-01T00:00:00Z',
      now: '2026-12-01T00:00:01Z',
      lineage: { pipelineVersion: 't', taxonomyVersion: taxonomy.version, policyVersion: policy.version, categoryModel },
    },
    {
      assetKey: built.assetKey,
      listing,
      outcome: decision.outcome,
      reasons: decision.reasons,
      explanation: decision.explanation,
      decidedBy: 'Triage',
      evidence: decision.evidence,
      modelOutputs: { categoryLabels: built.categoryLabels, policyLabels },
      auditSampled: decision.auditSampled,
    },
  );
  return { ...record, reviewStatus: 'FINAL', reviewOutcome: built.label, reviewOutcomeBy: 'consensus', reviewedBy: ['alice', 'bob'] };
}

function writeDataset(name: string, lines: ReadonlyArray<object>): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
  return path;
}

function lineOf(built: Built): DatasetLine {
  return datasetLine(reviewedRecord(built), 'data-bucket')!;
}

/** A schema-1 line, as `dataset export` wrote it before version 2 (no listing text, support, merchant, raw labels). */
function asVersion1(line: DatasetLine): object {
  const { listing: _listing, merchant: _merchant, modelOutputs, ...rest } = line;
  const { declaredSupport: _support, categoryLabels: _c, policyLabels: _p, ...v1Outputs } = modelOutputs;
  return { ...rest, schemaVersion: 1, modelOutputs: v1Outputs };
}

// A declared score between the current pass threshold and a stricter one: the current policy passes it.
const passing = Math.max(thresholds.pass, thresholds.lowConfidence) + 0.05;
const stricter: TriagePolicy = { ...policy, categoryModels: { ...policy.categoryModels, [CLIP]: { ...thresholds, pass: passing + 0.1 } } };

describe('reviewed-dataset metrics', () => {
  it('computes every rate, its Wilson interval, the confusion and the changed decisions on a hand-computed example', () => {
    const item = (assetKey: string, label: ReplayedItem['label'], recorded: ReplayedItem['recorded'], rerun: ReplayedItem['rerun']): ReplayedItem => ({
      line: 0,
      assetKey,
      batchId: 'b',
      label,
      recorded,
      rerun,
      rerunReasons: [],
      missing: [],
    });
    const items = [
      item('a', 'approve', 'AUTO_PASS', 'AUTO_PASS'),
      item('b', 'reject', 'NEEDS_REVIEW', 'AUTO_PASS'),
      item('c', 'reject', 'NEEDS_REVIEW', 'NEEDS_REVIEW'),
      item('d', 'recategorize', 'FLAGGED', 'FLAGGED'),
      item('e', 'approve', 'NEEDS_REVIEW', 'NEEDS_REVIEW'),
    ];
    const m = reviewedMetrics(items);
    // auto-pass: a, b → 1 approved of 2; rejections b, c, d → c, d to a person (2 of 3); review c, d, e (3 of 5); agree 4 of 5
    expect([m.autoPassPrecision, m.rejectionRecall, m.reviewRate, m.agreement]).toEqual([1 / 2, 2 / 3, 3 / 5, 4 / 5]);
    expect(m.intervals).toEqual({ autoPassPrecision: wilson(1, 2), rejectionRecall: wilson(2, 3), reviewRate: wilson(3, 5), agreement: wilson(4, 5) });
    expect(m.confusion.AUTO_PASS).toEqual({ approve: 1, reject: 1, recategorize: 0 });
    expect(m.confusion.NEEDS_REVIEW).toEqual({ approve: 1, reject: 1, recategorize: 0 });
    expect(m.confusion.FLAGGED).toEqual({ approve: 0, reject: 0, recategorize: 1 });
    expect(m.changed).toEqual([{ assetKey: 'b', batchId: 'b', label: 'reject', recorded: 'NEEDS_REVIEW', rerun: 'AUTO_PASS' }]);
    expect(m.auditSamples).toBe(1);
  });
});

describe('re-running the current policy on a reviewed dataset', () => {
  it('changes an outcome where the current thresholds differ from the recorded ones', () => {
    const built = { assetKey: 'loose', declared: 'vehicles.boats', title: 'Item 7', categoryLabels: zeroShot('vehicles.boats', passing), label: 'approve' };
    const recordedStrict = lineOf({ ...built, decidedWith: stricter });
    const recordedCurrent = lineOf({ ...built, assetKey: 'same' });
    expect(recordedStrict.triage.outcome).toBe('NEEDS_REVIEW');
    const dataset = loadReviewedDataset(writeDataset('changed.jsonl', [recordedStrict, recordedCurrent]), taxonomy, policy);
    expect(dataset.items.map((i) => [i.assetKey, i.recorded, i.rerun])).toEqual([
      ['loose', 'NEEDS_REVIEW', 'AUTO_PASS'],
      ['same', 'AUTO_PASS', 'AUTO_PASS'],
    ]);
    expect(dataset.items.every((i) => i.missing.length === 0)).toBe(true);
    expect(reviewedMetrics(dataset.items).changed.map((c) => c.assetKey)).toEqual(['loose']);
    // and the stricter policy re-run on the current record sends it to a person
    expect(loadReviewedDataset(writeDataset('strict.jsonl', [recordedCurrent]), taxonomy, stricter).items[0]!.rerun).toBe('NEEDS_REVIEW');
  });

  it("labels rebuilt from the per-category / per-class scores give the raw labels' decision", () => {
    const cases: Built[] = [
      { assetKey: 'pass', declared: 'vehicles.boats', title: 'Item', categoryLabels: zeroShot('vehicles.boats', passing), label: 'approve' },
      {
        assetKey: 'mismatch',
        declared: 'vehicles.boats',
        title: 'Item',
        categoryLabels: zeroShot('food', Math.max(thresholds.mismatch, thresholds.lowConfidence) + 0.05),
        label: 'reject',
      },
      {
        assetKey: 'policy',
        declared: 'books',
        title: 'Item',
        categoryLabels: zeroShot('books', passing),
        policyLabels: [
          { label: 'nsfw', score: 0.9 },
          { label: 'normal', score: 0.1 },
        ],
        label: 'reject',
      },
      { assetKey: 'text', declared: 'books', title: 'Pizza', categoryLabels: zeroShot('books', passing), label: 'recategorize:food' },
      {
        assetKey: 'merchant',
        declared: 'books',
        title: 'Item',
        categoryLabels: zeroShot('books', passing),
        merchantProfile: { assets: policy.merchantProfile.minHistory, categories: { food: policy.merchantProfile.minHistory } },
        label: 'reject',
      },
    ];
    const raw = cases.map(lineOf);
    const rebuilt = raw.map((line) => ({ ...line, modelOutputs: { ...line.modelOutputs, categoryLabels: null, policyLabels: null } }));
    const fromRaw = loadReviewedDataset(writeDataset('raw.jsonl', raw), taxonomy, policy).items;
    const fromRebuilt = loadReviewedDataset(writeDataset('rebuilt.jsonl', rebuilt), taxonomy, policy).items;
    expect(new Set(fromRaw.map((i) => i.rerun))).toEqual(new Set(['AUTO_PASS', 'FLAGGED', 'NEEDS_REVIEW']));
    expect(fromRebuilt.map((i) => [i.rerun, i.rerunReasons])).toEqual(fromRaw.map((i) => [i.rerun, i.rerunReasons]));
    expect(fromRebuilt.map((i) => [i.recorded, i.rerun])).toEqual(raw.map((line) => [line.triage.outcome, line.triage.outcome]));
    expect(fromRebuilt.every((i) => i.missing.every((m) => m.startsWith('raw ')))).toBe(true);
  });

  it('reads version-1 lines, naming what they lack, and refuses an unknown schema with the line number', () => {
    const text = lineOf({ assetKey: 'text', declared: 'books', title: 'Pizza', categoryLabels: zeroShot('books', passing), label: 'recategorize:food' });
    expect(text.triage.reasons).toContain('TEXT_CATEGORY_CONFLICT');
    const dataset = loadReviewedDataset(writeDataset('v1.jsonl', [asVersion1(text)]), taxonomy, policy);
    expect(dataset.schemaVersions).toEqual({ '1': 1 });
    const [item] = dataset.items;
    // without the listing text the text rule cannot fire: the re-run passes what the record flagged, and says why
    expect(item!.rerun).toBe('AUTO_PASS');
    expect(item!.missing.some((m) => m.startsWith('listing text'))).toBe(true);
    expect(item!.missing.some((m) => m.startsWith('merchant history'))).toBe(true);
    const future = { ...text, schemaVersion: DATASET_SCHEMA_VERSION + 1 };
    const path = writeDataset('future.jsonl', [text, future]);
    expect(() => loadReviewedDataset(path, taxonomy, policy)).toThrow(DatasetError);
    expect(() => loadReviewedDataset(path, taxonomy, policy)).toThrow(`${path}:2: dataset schemaVersion ${DATASET_SCHEMA_VERSION + 1} is not readable`);
  });
});

describe('npm run eval -- --dataset <file> --json', () => {
  it('prints one JSON object on the last line with the dataset, split, metrics, intervals and confusion', async () => {
    const lines = [
      lineOf({ assetKey: 'p1', declared: 'vehicles.boats', title: 'Item', categoryLabels: zeroShot('vehicles.boats', passing), label: 'approve' }),
      lineOf({
        assetKey: 'p2',
        declared: 'vehicles.boats',
        title: 'Item',
        categoryLabels: zeroShot('vehicles.boats', passing),
        label: 'approve',
        decidedWith: stricter,
      }),
      lineOf({
        assetKey: 'r1',
        declared: 'books',
        title: 'Item',
        categoryLabels: zeroShot('books', passing),
        policyLabels: [
          { label: 'nsfw', score: 0.9 },
          { label: 'normal', score: 0.1 },
        ],
        label: 'reject',
      }),
    ];
    const path = writeDataset('cli.jsonl', lines);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'eval/run.ts', '--dataset', path, '--json'], {
      cwd: join(import.meta.dirname, '../..'),
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    const expected = reviewedMetrics(loadReviewedDataset(path, taxonomy, policy).items);
    expect(result).toMatchObject({
      dataset: { path, lines: 3, schemaVersions: { [String(DATASET_SCHEMA_VERSION)]: 3 }, evaluated: 3 },
      split: 'reviewed',
      autoPassPrecision: expected.autoPassPrecision,
      rejectionRecall: expected.rejectionRecall,
      reviewRate: expected.reviewRate,
      agreement: expected.agreement,
      intervals: expected.intervals,
      confusion: expected.confusion,
      caveat: NOT_A_RANDOM_SAMPLE,
    });
    expect(Object.keys(result['confusion'] as object)).toEqual([...OUTCOMES]);
    for (const i of Object.values(result['intervals'] as Record<string, object>)) expect(Object.keys(i).sort()).toEqual(['high', 'k', 'low', 'n']);
    expect(expected.changed.map((c) => c.assetKey)).toEqual(['p2']);
    expect(expected.rejectionRecall).toBe(1);
  });
});
