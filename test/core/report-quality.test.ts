/** KPIs, drift and quality gates against hand-computed values (README "Stakeholder report, KPIs, drift and quality gates"). */
import { describe, expect, it } from 'vitest';
import { batchDrift, batchMix, NO_POLICY_HIT } from '../../lambdas/core/drift/batch-drift';
import { addMixes, populationStabilityIndex } from '../../lambdas/core/drift/psi';
import {
  evaluateGates,
  judgeGate,
  loadQualityGates,
  qualityGatesSchema,
  type GateInputs,
  type QualityGatesConfig,
} from '../../lambdas/core/gates/quality-gates';
import { batchKpis } from '../../lambdas/core/kpis/batch-kpis';
import { latencySummary, percentile } from '../../lambdas/core/kpis/percentiles';
import { withStageMs, type StageMs } from '../../lambdas/core/kpis/stage-timings';
import { assetRecord, type AssetRecord, type Lineage } from '../../lambdas/core/records';
import type { ReviewDecision } from '../../lambdas/core/review/decisions';
import type { TriageEvidence } from '../../lambdas/core/triage';
import gatesFile from '../../config/quality-gates.json';

const LINEAGE: Lineage = { pipelineVersion: 'p', taxonomyVersion: 't', policyVersion: 'pol' };

function evidence(topCategoryId: string | null, topScore: number, policy: Array<[string, number]> = []): TriageEvidence {
  return {
    category: {
      declaredCategoryId: 'pets',
      declaredSupport: 0.5,
      topCategoryId,
      topScore,
      scores: [],
      thresholds: { lowConfidence: 0.3, mismatch: 0.6, pass: 0.5 },
    },
    text: { mentions: [], conflict: false, imageConflict: false },
    policy: policy.map(([classId, score]) => ({
      classId,
      score,
      threshold: 0.8,
      borderlineThreshold: 0.5,
      sensitive: score >= 0.8,
      borderline: score >= 0.5 && score < 0.8,
    })),
  };
}

function record(assetKey: string, extra: Partial<AssetRecord> = {}, decidedAt = '2026-11-20T10:01:00.000Z'): AssetRecord {
  const base = assetRecord(
    { batchId: 'b-1', receivedAt: '2026-11-20T10:00:00.000Z', lineage: LINEAGE, now: decidedAt },
    { assetKey, listing: { declaredCategoryId: 'pets' }, outcome: 'AUTO_PASS', reasons: [], explanation: '', decidedBy: 'Triage' },
  );
  return { ...base, ...extra };
}

describe('percentiles (nearest rank)', () => {
  it('takes the value at rank ⌈p/100·n⌉', () => {
    const sorted = [15, 20, 35, 40, 50];
    expect(percentile(sorted, 50)).toBe(35); // rank ⌈2.5⌉ = 3
    expect(percentile(sorted, 95)).toBe(50); // rank ⌈4.75⌉ = 5
    expect(percentile(sorted, 20)).toBe(15); // rank 1
    expect(percentile(sorted, 40)).toBe(20); // rank 2
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(latencySummary(hundred.reverse())).toEqual({ n: 100, p50: 50, p95: 95, p99: 99, max: 100 });
  });

  it('is null for no values and refuses p outside (0, 100]', () => {
    expect(latencySummary([])).toBeNull();
    expect(() => percentile([1], 0)).toThrow();
    expect(() => percentile([1], 101)).toThrow();
  });
});

describe('population stability index', () => {
  it('matches hand-computed values', () => {
    // (0.5 − 0.25)·ln 2 + (0.5 − 0.75)·ln(2/3)
    expect(populationStabilityIndex({ a: 50, b: 50 }, { a: 25, b: 75 }, 1e-4)!.psi).toBeCloseTo(0.274653, 6);
    // 0.2·ln 1.5 + (−0.1)·ln 0.75 + (−0.1)·ln 0.5
    expect(populationStabilityIndex({ x: 60, y: 30, z: 10 }, { x: 40, y: 40, z: 20 }, 1e-4)!.psi).toBeCloseTo(0.179176, 6);
    expect(populationStabilityIndex({ a: 3, b: 1 }, { a: 30, b: 10 }, 1e-4)!.psi).toBe(0);
  });

  it('smooths an empty bin to ε so the index stays finite', () => {
    // b is absent now: its share 0 counts as ε = 0.0001 → (1 − 0.5)·ln 2 + (0.0001 − 0.5)·ln(0.0001 / 0.5)
    const result = populationStabilityIndex({ a: 10 }, { a: 5, b: 5 }, 1e-4)!;
    expect(result.psi).toBeCloseTo(4.604318, 5);
    expect(result.terms.map((term) => term.bin)).toEqual(['a', 'b']);
    expect(result.terms[1]!.current).toBe(1e-4);
  });

  it('is null without counts on either side, and sums baseline mixes bin by bin', () => {
    expect(populationStabilityIndex({}, { a: 1 }, 1e-4)).toBeNull();
    expect(populationStabilityIndex({ a: 1 }, {}, 1e-4)).toBeNull();
    expect(
      addMixes([
        { a: 1, b: 2 },
        { b: 3, c: 4 },
      ]),
    ).toEqual({ a: 1, b: 5, c: 4 });
  });
});

describe('batch drift', () => {
  const records = [
    record('r1', { evidence: evidence('pets', 0.9) }),
    record('r2', {
      evidence: evidence('pets', 0.8, [
        ['nudity', 0.6],
        ['violence', 0.7],
      ]),
    }),
    record('r3', { evidence: evidence(null, 0.1) }),
    record('r4', { outcome: 'REJECTED_INPUT' }),
  ];

  it('mixes the classified assets only: top category, and the highest policy class in its band', () => {
    expect(batchMix(records)).toEqual({ categories: { pets: 2, '(none)': 1 }, policy: { violence: 1, [NO_POLICY_HIT]: 2 } });
  });

  it('skips the PSI below the minimum baseline, excludes nothing else', () => {
    const settings = { baselineDays: 7, epsilon: 1e-4, minBaselineAssets: 4 };
    const small = batchDrift(batchMix(records), [{ batchId: 'old', mix: { categories: { pets: 3 }, policy: { [NO_POLICY_HIT]: 3 } } }], settings);
    expect(small.category.psi).toBeNull();
    expect(small.baselineAssets).toBe(3);
    const enough = batchDrift(
      { categories: { pets: 50, toys: 50 }, policy: {} },
      [
        { batchId: 'b', mix: { categories: { pets: 10, toys: 30 }, policy: {} } },
        { batchId: 'a', mix: { categories: { pets: 15, toys: 45 }, policy: {} } },
      ],
      settings,
    );
    expect(enough.baselineBatches).toEqual(['a', 'b']);
    expect(enough.category.psi).toBeCloseTo(0.274653, 6);
    expect(enough.policy.psi).toBeNull(); // no policy counts on either side
  });
});

describe('quality gates', () => {
  const config: QualityGatesConfig = qualityGatesSchema.parse(gatesFile);
  const inputs = (values: Partial<Record<keyof GateInputs, number | null>>): GateInputs =>
    Object.fromEntries(
      (['rejectRate', 'reviewRate', 'categoryDrift', 'policyDrift', 'goldAccuracy', 'agreement'] as const).map((gate) => [
        gate,
        { value: values[gate] ?? null, note: 'no reviews yet' },
      ]),
    ) as GateInputs;

  it('judges above-gates and below-gates against warn and fail; a value on a threshold is not beyond it', () => {
    const reject = config.gates.rejectRate.above!;
    expect(judgeGate('rejectRate', config, { value: reject.warn }).status).toBe('pass');
    expect(judgeGate('rejectRate', config, { value: reject.warn + 0.001 }).status).toBe('warn');
    expect(judgeGate('rejectRate', config, { value: reject.fail + 0.001 }).status).toBe('fail');
    const gold = config.gates.goldAccuracy.below!;
    expect(judgeGate('goldAccuracy', config, { value: gold.warn }).status).toBe('pass');
    expect(judgeGate('goldAccuracy', config, { value: gold.warn - 0.001 }).status).toBe('warn');
    expect(judgeGate('goldAccuracy', config, { value: gold.fail - 0.001 })).toMatchObject({
      status: 'fail',
      direction: 'below',
      warn: gold.warn,
      fail: gold.fail,
    });
  });

  it('skips a gate without its figure (with the reason) and takes the worst evaluated gate as overall', () => {
    const report = evaluateGates(inputs({ rejectRate: 0, reviewRate: config.gates.reviewRate.above!.warn + 0.01 }), config);
    expect(report.overall).toBe('warn');
    expect(report.gates.find((gate) => gate.gate === 'agreement')).toMatchObject({ status: 'skipped', value: null, note: 'no reviews yet' });
    expect(evaluateGates(inputs({}), config).overall).toBe('pass');
    expect(evaluateGates(inputs({ rejectRate: 0, categoryDrift: 1 }), config).overall).toBe('fail');
    expect(report.version).toBe(config.version);
  });

  it('validates the config file (it loads) and refuses inverted thresholds or a gate with both directions', () => {
    expect(loadQualityGates().version).toBe(gatesFile.version);
    const broken = structuredClone(gatesFile) as unknown as { gates: Record<string, unknown> };
    broken.gates['rejectRate'] = { above: { warn: 0.5, fail: 0.1 } };
    expect(qualityGatesSchema.safeParse(broken).success).toBe(false);
    broken.gates['rejectRate'] = { above: { warn: 0.1, fail: 0.5 }, below: { warn: 0.1, fail: 0.05 } };
    expect(qualityGatesSchema.safeParse(broken).success).toBe(false);
    expect(qualityGatesSchema.safeParse({ ...gatesFile, gates: { ...gatesFile.gates, unknownGate: { above: { warn: 0, fail: 1 } } } }).success).toBe(false);
  });
});

describe('batch KPIs', () => {
  const run = { startedAt: '2026-11-20T10:00:00.000Z', completedAt: '2026-11-20T10:02:00.000Z' };

  it('measures throughput over the run, per-stage latency from stageMs, and the rates', () => {
    const records = [
      record('r1', { stageMs: { Preprocess: 100, Classify: 300, Triage: 1 }, evidence: evidence('pets', 0.9) }, '2026-11-20T10:00:30.000Z'),
      record('r2', { stageMs: { Preprocess: 200, Classify: 500, Triage: 2 }, evidence: evidence('toys', 0.7), outcome: 'FLAGGED' }, '2026-11-20T10:01:00.000Z'),
      record('r3', { outcome: 'REJECTED_INPUT' }, '2026-11-20T10:00:10.000Z'),
      // decided in an earlier run: not part of this run's throughput
      record('r4', {}, '2026-11-19T09:00:00.000Z'),
    ];
    const kpis = batchKpis({ records, run });
    expect(kpis.throughput).toEqual({ assetsPerMinute: 1.5, decidedInRun: 3, minutes: 2 });
    expect(kpis.latencyMs.Preprocess).toEqual({ n: 2, p50: 100, p95: 200, p99: 200, max: 200 });
    expect(kpis.latencyMs.Classify?.p50).toBe(300);
    expect(kpis.latencyMs.decision).toEqual({ n: 3, p50: 30_000, p95: 60_000, p99: 60_000, max: 60_000 });
    expect(kpis.rejectRate).toBe(0.25);
    expect(kpis.reviewRate).toBe(0.25);
    expect(kpis.classBalance).toEqual({ declared: { pets: 4 }, predicted: { pets: 1, toys: 1 } });
  });

  it('leaves the review figures null until reviews exist — never 0', () => {
    const kpis = batchKpis({ records: [record('r1', { outcome: 'FLAGGED' })], run });
    expect(kpis.review).toMatchObject({ decisions: 0, openReviews: 1, turnaroundMs: null, agreement: null, goldAccuracy: null, timeToLabelMs: null });
    expect(batchKpis({ records: [], run }).reviewRate).toBeNull();
  });

  it('computes turnaround, agreement among blind reviews and gold accuracy from the decisions', () => {
    const decision = (task: string, reviewer: string, label: string, role: ReviewDecision['role'] = 'review', assetKey = 'r1'): ReviewDecision => ({
      batchId: 'b-1',
      assetKey,
      reviewTaskId: task,
      revision: 1,
      reviewerId: reviewer,
      role,
      label: label as ReviewDecision['label'],
      claimedAt: '2026-11-20T11:00:00.000Z',
      decidedAt: '2026-11-20T11:00:10.000Z',
      timeToLabelMs: 10_000,
      seen: { lineage: LINEAGE, outcome: 'FLAGGED', reasons: [], reviewPolicyVersion: 'r' },
    });
    const records = [
      record('r1', { outcome: 'FLAGGED', reviewStatus: 'FINAL', reviewEnqueuedAt: '2026-11-20T10:01:00.000Z', reviewedAt: '2026-11-20T11:01:00.000Z' }),
      record('r2', { outcome: 'NEEDS_REVIEW', reviewStatus: 'OPEN' }),
    ];
    const decisions = [
      decision('t1', 'alice', 'approve'),
      decision('t1', 'bob', 'approve'),
      decision('t2', 'alice', 'approve', 'review', 'r2'),
      decision('t2', 'bob', 'reject', 'review', 'r2'),
      decision('g1', 'alice', 'reject', 'gold', 'r3'),
      decision('g1', 'bob', 'approve', 'gold', 'r3'),
    ];
    const gold = new Map([['b-1/r3', { batchId: 'b-1', assetKey: 'r3', label: 'reject' as const, source: 'seed' }]]);
    const { review } = batchKpis({ records, run, decisions, gold });
    expect(review).toMatchObject({ decisions: 6, finalReviews: 1, openReviews: 1 });
    expect(review.turnaroundMs?.p50).toBe(3_600_000);
    expect(review.agreement?.items).toBe(2);
    expect(review.agreement?.raw).toBe(0.5);
    expect(review.goldAccuracy).toEqual({ accuracy: 0.5, items: 2, correct: 1 });
  });

  it('adds each stage’s milliseconds to what earlier stages recorded', () => {
    const asset: { id: number; stageMs?: StageMs } = { id: 1 };
    const after = withStageMs(withStageMs(asset, 'Preprocess', 1000, 1250), 'Classify', 2000, 2900);
    expect(after).toEqual({ id: 1, stageMs: { Preprocess: 250, Classify: 900 } });
  });
});
