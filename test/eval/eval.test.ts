/**
 * The evaluation harness (eval/): metrics on tiny hand-made sets with known answers, the seeded generator, the real
 * local-model outputs, the `npm run eval` JSON contract, the score models against their citations, and THE GATE: a
 * held-out set generated in memory (never the calibration set) must meet it under the current config. That last
 * test is how CI runs the eval.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { LabelScores } from '../../lambdas/core/hf-contract';
import type { Outcome, ReasonCode } from '../../lambdas/core/outcomes';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { loadTriagePolicy, thresholdsFor, type TriagePolicy } from '../../lambdas/core/triage-policy';
import { stdlibPhoto, STDLIB_PHOTOS, type PhotoName } from '../../local/demo-batch';
import { zeroShotFromDetections } from '../../local/sagemaker/zero-shot-from-detections';
import {
  CLIP_SIGNAL,
  DEFAULT_ASSET_COUNT,
  FAMILY_SHARES,
  MIX,
  allocate,
  createRng,
  fitClipSignal,
  generateLabelledSet,
  misspell,
  softmax,
  topK,
} from '../../eval/generator';
import { checkGate, GATE } from '../../eval/gate';
import { CITED, clipTop1, policyTop1, wilson } from '../../eval/score-models';
import { CALIBRATION_SEED, HELD_OUT_SEED, HELD_OUT_SIZE, generatedSet } from '../../eval/splits';
import {
  LABELLED_SET_URL,
  MODEL_FAMILIES,
  parseLabelledSet,
  readLabelledSetFile,
  serializeLabelledSet,
  type LabelledAsset,
  type ModelFamily,
} from '../../eval/labelled-set';
import {
  FLOORS,
  FLOOR_NAMES,
  checkFloors,
  computeMetrics,
  confusionTable,
  evaluate,
  evaluateSet,
  sweep,
  truthClass,
  withCategoryThresholds,
  withPolicyFloors,
  type EvaluatedAsset,
  type SweepGrid,
} from '../../eval/metrics';
import { REAL_PHOTO_LABELS, readLocalModelOutputs, realAssets } from '../../eval/real-outputs';

const taxonomy = loadTaxonomy();
const CLIP = MODEL_FAMILIES.clip;

/** A policy with fixed category thresholds and no audit sampling, so these tests do not move with the config. */
function testPolicy(thresholds = { lowConfidence: 0.35, mismatch: 0.55, pass: 0.45 }): TriagePolicy {
  return { ...loadTriagePolicy(), categoryModels: { default: thresholds }, auditSampleRate: 0 };
}

/** A CLIP-shaped answer: the given categories' prompts get their scores, the rest is spread evenly. */
function clipLabels(scores: Record<string, number>): LabelScores {
  const fixed = new Map(Object.entries(scores).map(([id, score]) => [taxonomy.category(id)!.clipPrompts[0]!, score]));
  const rest = taxonomy.candidateLabels().filter((label) => !fixed.has(label));
  const spread = Math.max(0, 1 - [...fixed.values()].reduce((a, b) => a + b, 0)) / rest.length;
  return [...[...fixed].map(([label, score]) => ({ label, score })), ...rest.map((label) => ({ label, score: spread }))].sort((a, b) => b.score - a.score);
}

const SAFE: LabelScores = [
  { label: 'normal', score: 0.99 },
  { label: 'nsfw', score: 0.01 },
];
const NSFW: LabelScores = [
  { label: 'nsfw', score: 0.9 },
  { label: 'normal', score: 0.1 },
];

function asset(
  id: string,
  declared: string,
  truth: string,
  scores: Record<string, number>,
  extra: { policyClass?: string; policyLabels?: LabelScores; title?: string } = {},
): LabelledAsset {
  return {
    id,
    source: 'synthetic',
    family: 'clip',
    scenario: 'hand-made',
    listing: { merchantId: 'm-test', declaredCategoryId: declared, title: extra.title ?? `Item ${id}` },
    truth: { categoryId: truth, policyClass: extra.policyClass ?? null, misrepresented: !taxonomy.isSameOrDescendant(truth, declared) },
    model: {
      categoryModelId: CLIP.categoryModelId,
      categoryModelVariant: CLIP.categoryModelVariant,
      categoryLabels: clipLabels(scores),
      policyModelId: CLIP.policyModelId,
      policyModelVariant: CLIP.policyModelVariant,
      policyLabels: extra.policyLabels ?? SAFE,
    },
  };
}

function evaluated(truth: { misrepresented: boolean; policyClass?: string }, outcome: Outcome, reasons: ReasonCode[] = []): EvaluatedAsset {
  const base = asset('x', 'animals.pets', 'animals.pets', { 'animals.pets': 0.9 });
  return {
    asset: { ...base, truth: { categoryId: 'animals.pets', policyClass: truth.policyClass ?? null, misrepresented: truth.misrepresented } },
    outcome,
    reasons,
    auditSampled: false,
  };
}

describe('eval metrics on hand-made sets', () => {
  it('computes every metric by its definition', () => {
    const set: EvaluatedAsset[] = [
      evaluated({ misrepresented: false }, 'AUTO_PASS'),
      evaluated({ misrepresented: false }, 'AUTO_PASS'),
      evaluated({ misrepresented: true }, 'AUTO_PASS'), // a miss: auto-passed misrepresentation
      evaluated({ misrepresented: true }, 'FLAGGED', ['CATEGORY_MISMATCH']),
      evaluated({ misrepresented: true }, 'NEEDS_REVIEW', ['LOW_CONFIDENCE']), // reached, not by a mismatch reason
      evaluated({ misrepresented: false }, 'NEEDS_REVIEW', ['TEXT_CATEGORY_CONFLICT']), // a false mismatch alarm
      evaluated({ misrepresented: false, policyClass: 'suggestive' }, 'NEEDS_REVIEW', ['POLICY_BORDERLINE']),
      evaluated({ misrepresented: false, policyClass: 'sexual_explicit' }, 'AUTO_PASS'), // a policy miss
    ];
    const metrics = computeMetrics(set);
    expect(metrics.assets).toBe(8);
    expect(metrics.autoPassPrecision).toBeCloseTo(2 / 4); // 4 auto-passed, 2 truly fine
    expect(metrics.autoPassRate).toBeCloseTo(4 / 8);
    expect(metrics.mismatchRecall).toBeCloseTo(2 / 3); // 3 misrepresented, 2 reached a human
    expect(metrics.mismatchPrecision).toBeCloseTo(1 / 2); // CATEGORY_MISMATCH (true) + TEXT_* (false)
    expect(metrics.policyRecall).toBeCloseTo(1 / 2);
    expect(metrics.policyReasonRecall).toBeCloseTo(1 / 2);
    expect(metrics.reviewRate).toBeCloseTo(4 / 8);
  });

  it('gives null for a ratio without a denominator, and a floor on null fails', () => {
    const metrics = computeMetrics([evaluated({ misrepresented: false }, 'AUTO_PASS')]);
    expect(metrics.mismatchRecall).toBeNull();
    expect(metrics.policyRecall).toBeNull();
    expect(metrics.mismatchPrecision).toBeNull();
    const floors = checkFloors(metrics);
    expect(floors.policyRecall.pass).toBe(false);
    expect(floors.autoPassPrecision.pass).toBe(true);
  });

  it('checks floors inclusively (594/600 is 99%, 15/100 is 15%)', () => {
    const at = (autoPassFine: number, autoPass: number, reach: number, assets: number) => {
      const m = computeMetrics([]);
      return checkFloors({
        ...m,
        assets,
        autoPassPrecision: autoPassFine / autoPass,
        reviewRate: reach / assets,
        autoPassRate: autoPass / assets,
        policyRecall: 1,
        mismatchRecall: 0.97,
      });
    };
    const floors = at(594, 600, 100, 700);
    expect(floors.autoPassPrecision.pass).toBe(true);
    expect(at(593, 600, 100, 700).autoPassPrecision.pass).toBe(false);
    expect(at(99, 100, 15, 100).reviewRate.pass).toBe(true);
    expect(at(99, 100, 16, 100).reviewRate.pass).toBe(false);
    expect(floors.mismatchRecall.pass).toBe(true);
  });

  it('runs the real triage and tabulates truth against outcome', () => {
    const set = [
      asset('clean', 'animals.pets', 'animals.pets', { 'animals.pets': 0.9 }),
      asset('mismatch', 'animals.pets', 'vehicles.boats', { 'vehicles.boats': 0.9 }),
      asset('lie-believed', 'animals.pets', 'animals.farm', { 'animals.pets': 0.8 }),
      asset('unsure', 'home.kitchen', 'home.kitchen', {}),
      asset('policy', 'books', 'books', { books: 0.9 }, { policyClass: 'sexual_explicit', policyLabels: NSFW }),
    ];
    const result = evaluate(set, taxonomy, testPolicy());
    expect(result.map((r) => [r.asset.id, r.outcome])).toEqual([
      ['clean', 'AUTO_PASS'],
      ['mismatch', 'FLAGGED'],
      ['lie-believed', 'AUTO_PASS'],
      ['unsure', 'NEEDS_REVIEW'],
      ['policy', 'NEEDS_REVIEW'],
    ]);
    expect(result[1]!.reasons).toContain('CATEGORY_MISMATCH');
    expect(result[3]!.reasons).toEqual(['LOW_CONFIDENCE']);
    expect(result[4]!.reasons).toContain('POLICY_SENSITIVE');
    const metrics = computeMetrics(result);
    expect(metrics.autoPassPrecision).toBeCloseTo(1 / 2);
    expect(metrics.mismatchRecall).toBeCloseTo(1 / 2);
    expect(metrics.mismatchPrecision).toBe(1);
    expect(metrics.policyRecall).toBe(1);
    expect(metrics.reviewRate).toBeCloseTo(3 / 5);
    const table = confusionTable(result);
    expect(table.clean).toMatchObject({ AUTO_PASS: 1, NEEDS_REVIEW: 1, FLAGGED: 0, REJECTED_INPUT: 0, FAILED: 0 });
    expect(table.misrepresented).toMatchObject({ AUTO_PASS: 1, FLAGGED: 1 });
    expect(table['policy-sensitive']).toMatchObject({ NEEDS_REVIEW: 1 });
    expect(table.both).toMatchObject({ AUTO_PASS: 0, FLAGGED: 0, NEEDS_REVIEW: 0 });
    expect(truthClass({ categoryId: 'x', misrepresented: true, policyClass: 'suggestive' })).toBe('both');
  });

  it('reports per model family with the thresholds that applied', () => {
    const policy = {
      ...testPolicy(),
      categoryModels: {
        default: { lowConfidence: 0.35, mismatch: 0.55, pass: 0.45 },
        'local-centernet-coco80': { lowConfidence: 0.2, mismatch: 0.3, pass: 0.25 },
      },
    };
    const local = { ...asset('local', 'animals.pets', 'animals.pets', { 'animals.pets': 0.3 }), family: 'detector' as ModelFamily };
    local.model = { ...local.model, categoryModelVariant: 'local-centernet-coco80' };
    const report = evaluateSet([asset('clip', 'animals.pets', 'animals.pets', { 'animals.pets': 0.3 }), local], taxonomy, policy);
    expect(report.byModel['openai/clip-vit-base-patch32']).toMatchObject({ thresholdsKey: 'default', thresholds: { pass: 0.45 } });
    expect(report.byModel['local-centernet-coco80']).toMatchObject({ thresholdsKey: 'local-centernet-coco80', thresholds: { pass: 0.25 } });
    // 0.3 support: below the CLIP pass threshold, above the detector's.
    expect(report.evaluated.map((e) => e.outcome)).toEqual(['NEEDS_REVIEW', 'AUTO_PASS']);
  });

  it('sweeps copies of the policy and taxonomy, never the originals, and finds thresholds that meet the floors', () => {
    const policy = testPolicy({ lowConfidence: 0.35, mismatch: 0.55, pass: 0.45 });
    const before = JSON.stringify(policy);
    const set = [
      ...Array.from({ length: 20 }, (_, i) => asset(`ok-${i}`, 'animals.pets', 'animals.pets', { 'animals.pets': 0.4 })),
      asset('lie', 'animals.pets', 'vehicles.boats', { 'vehicles.boats': 0.9 }),
      asset('nsfw', 'books', 'books', { books: 0.9 }, { policyClass: 'sexual_explicit', policyLabels: NSFW }),
    ];
    // At pass 0.45 the twenty fine listings (support 0.4) all go to review.
    expect(evaluateSet(set, taxonomy, policy).floors.reviewRate.pass).toBe(false);
    const grid: SweepGrid = { line: [0.3, 0.45], lowConfidence: [0.1, 0.3], mismatch: [0.5], pass: [0.3, 0.5], coarseStep: 0.2, refine: 1, policy: [0.2, 0.4] };
    const result = sweep(set, taxonomy, policy, grid);
    expect(JSON.stringify(policy)).toBe(before);
    expect(taxonomy.policyClasses.map((c) => c.reviewThreshold)).toEqual(loadTaxonomy().policyClasses.map((c) => c.reviewThreshold));
    const clip = result.families['openai/clip-vit-base-patch32']!;
    expect(clip.thresholdsKey).toBe('openai/clip-vit-base-patch32');
    expect(clip.lines.pass.map((p) => [p.value, p.metrics.reviewRate])).toEqual([
      [0.3, 2 / 22],
      [0.45, 22 / 22],
    ]);
    const recommended = result.joint.recommended;
    expect(recommended).not.toBeNull();
    expect(recommended!.thresholds['openai/clip-vit-base-patch32']!.pass).toBeLessThanOrEqual(0.4);
    // The recommendation holds when applied for real.
    const applied = withCategoryThresholds(policy, 'clip', recommended!.thresholds['openai/clip-vit-base-patch32']!);
    const check = evaluateSet(set, withPolicyFloors(taxonomy, result.policy.recommended.floors), applied);
    expect(check.pass).toBe(true);
    expect(thresholdsFor(applied, CLIP.categoryModelId, CLIP.categoryModelVariant)).toEqual(recommended!.thresholds['openai/clip-vit-base-patch32']);
  });
});

describe('eval generator', () => {
  const small = () => generateLabelledSet(taxonomy, { seed: 7, assets: 200 });

  it('is deterministic: same seed, same bytes; another seed, another set', () => {
    expect(serializeLabelledSet(small())).toBe(serializeLabelledSet(small()));
    expect(serializeLabelledSet(generateLabelledSet(taxonomy, { seed: 8, assets: 200 }))).not.toBe(serializeLabelledSet(small()));
    const rng = createRng(1);
    const again = createRng(1);
    expect(Array.from({ length: 5 }, () => rng.next())).toEqual(Array.from({ length: 5 }, () => again.next()));
  });

  it('the committed labelled set is exactly what the generator makes (regenerate: node --import tsx eval/generate.ts)', () => {
    const committed = readFileSync(LABELLED_SET_URL, 'utf8');
    expect(serializeLabelledSet(generateLabelledSet(taxonomy)) === committed).toBe(true);
  });

  it('has the documented mix, exactly, per model family', () => {
    const set = readLabelledSetFile(LABELLED_SET_URL);
    expect(set.assets.length).toBe(DEFAULT_ASSET_COUNT);
    expect(set.assets.length).toBeGreaterThanOrEqual(600);
    const families = allocate(set.assets.length, FAMILY_SHARES);
    for (const family of Object.keys(families) as ModelFamily[]) {
      const mine = set.assets.filter((a) => a.family === family);
      expect(mine.length).toBe(families[family]);
      const expected = allocate(mine.length, MIX);
      const count = (kind: string) => mine.filter((a) => a.scenario.split('/')[0] === kind).length;
      expect({
        clean: count('clean'),
        ambiguous: count('ambiguous'),
        misrepresented: count('misrepresented'),
        policy: count('policy'),
        both: count('both'),
      }).toEqual(expected);
    }
  });

  it('labels the truth consistently and records each family’s output shape', () => {
    const set = parseLabelledSet(serializeLabelledSet(small()));
    const candidates = taxonomy.candidateLabels();
    for (const a of set.assets) {
      expect(a.truth.misrepresented, a.id).toBe(!taxonomy.isSameOrDescendant(a.truth.categoryId, a.listing.declaredCategoryId));
      expect(a.truth.misrepresented, a.id).toBe(a.scenario.startsWith('misrepresented') || a.scenario.startsWith('both'));
      expect(a.truth.policyClass !== null, a.id).toBe(a.scenario.startsWith('policy') || a.scenario.startsWith('both'));
      expect(a.model.categoryLabels.map((l) => l.label).sort()).toEqual([...candidates].sort());
      expect(a.model.categoryLabels.reduce((sum, l) => sum + l.score, 0)).toBeCloseTo(1, 4);
      const family = MODEL_FAMILIES[a.family];
      expect(a.model).toMatchObject({ categoryModelId: family.categoryModelId, categoryModelVariant: family.categoryModelVariant });
      expect(a.model.policyLabels.map((l) => l.label).sort()).toEqual([...family.policyLabels].sort());
      if (a.family === 'detector') {
        // The detector family's answer is the stand-in's own function of the recorded detections.
        const replayed = new Map(zeroShotFromDetections(a.model.detections!, candidates, taxonomy).map((l) => [l.label, l.score]));
        for (const l of a.model.categoryLabels) expect(l.score).toBeCloseTo(replayed.get(l.label)!, 5);
      } else {
        expect(a.model.detections).toBeUndefined();
      }
    }
    expect(new Set(set.assets.map((a) => a.family))).toEqual(new Set(['clip', 'detector']));
  });

  it('shapes classifier outputs as a top-k softmax', () => {
    expect(softmax([0, 0]).map((p) => p.toFixed(2))).toEqual(['0.50', '0.50']);
    expect(softmax([1, 2], 0.01)[1]).toBeCloseTo(1, 10);
    const top = topK(['a', 'b', 'c'], [3, 1, 2], 2);
    expect(top.map((l) => l.label)).toEqual(['a', 'c']);
  });
});

describe('eval real local-model outputs', () => {
  const outputs = readLocalModelOutputs();

  it('covers the 9 shipped photos, each labelled by hand, recorded from the installed photos', () => {
    expect(outputs.photos.map((p) => p.photo).sort()).toEqual(Object.keys(STDLIB_PHOTOS).sort());
    for (const recorded of outputs.photos) {
      const bytes = stdlibPhoto(recorded.photo as PhotoName);
      expect(createHash('sha256').update(bytes).digest('hex'), recorded.photo).toBe(recorded.sha256);
      expect(REAL_PHOTO_LABELS[recorded.photo as PhotoName].truth).toBeDefined();
    }
  });

  it('recorded the stand-in’s zero-shot answer from its own detections (re-record after changing the mapping)', () => {
    for (const recorded of outputs.photos) {
      const replayed = zeroShotFromDetections(
        recorded.detections.map(([label, score]) => ({ label, score })),
        outputs.candidateLabels,
        taxonomy,
      );
      const byLabel = new Map(replayed.map((l) => [l.label, l.score]));
      outputs.candidateLabels.forEach((label, i) => expect(recorded.categoryScores[i], `${recorded.photo} ${label}`).toBeCloseTo(byLabel.get(label)!, 4));
    }
  });

  it('lists each photo truthfully and misrepresented, as the local variant', () => {
    const assets = realAssets(outputs);
    expect(assets).toHaveLength(18);
    expect(assets.filter((a) => a.truth.misrepresented)).toHaveLength(9);
    for (const a of assets) {
      expect(a.model.categoryModelVariant).toBe('local-centernet-coco80');
      expect(a.truth.misrepresented).toBe(!taxonomy.isSameOrDescendant(a.truth.categoryId, a.listing.declaredCategoryId));
    }
    expect(REAL_PHOTO_LABELS).toMatchObject({
      boats: { truth: 'vehicles.boats' },
      sheep: { truth: 'animals.farm' },
      allium: { truth: 'home.garden' },
      acanthus: { truth: 'home.garden' },
      airplane: { truth: 'vehicles.aircraft' },
      cat: { truth: 'animals.pets' },
      alps: { truth: 'art' },
      canyon: { truth: 'art' },
      dustBowl: { truth: 'art' },
    });
  });

  it('replays recordings: the eval loads no model code', () => {
    for (const file of ['labelled-set', 'splits', 'score-models', 'calibrate', 'gate', 'real-outputs', 'metrics', 'generator', 'run']) {
      const source = readFileSync(new URL(`../../eval/${file}.ts`, import.meta.url), 'utf8');
      const imports = [...source.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
      expect(
        imports.filter((path) => /object-detector|policy-model|tf-runtime|standin|tensorflow|nsfwjs/.test(path ?? '')),
        file,
      ).toEqual([]);
    }
  });
});

describe('npm run eval', () => {
  it('--json prints one JSON object as the last stdout line (held-out split, intervals, perSeed/worst) and exits 1 exactly when the gate fails', async () => {
    const run = promisify(execFile);
    let stdout: string;
    let code = 0;
    try {
      ({ stdout } = await run(process.execPath, ['--import', 'tsx', 'eval/run.ts', '--json', '--seed', '31', '--size', '1500', '--seeds', '2'], {
        cwd: new URL('../..', import.meta.url).pathname,
      }));
    } catch (error) {
      const failure = error as { code?: number; stdout?: string };
      code = failure.code ?? -1;
      stdout = failure.stdout ?? '';
    }
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown> & {
      floors: Record<string, { value: number; floor: number; pass: boolean }>;
      pass: boolean;
      byModel: Record<string, unknown>;
      intervals: Record<string, { low: number; high: number; k: number; n: number }>;
      perSeed: Array<{ seed: number; split: string; gatePass: boolean; mismatchRecall: number }>;
      worst: Record<string, { value: number; seed: number }>;
      scoreModels: { clipTop1: { cited: number }; policyAccuracy: { cited: number } };
    };
    for (const field of ['assets', 'autoPassPrecision', 'autoPassRate', 'mismatchRecall', 'mismatchPrecision', 'policyRecall', 'reviewRate']) {
      expect(typeof summary[field], field).toBe('number');
      if (field !== 'assets') expect(summary[field]).toBeGreaterThanOrEqual(0);
      if (field !== 'assets') expect(summary[field]).toBeLessThanOrEqual(1);
    }
    expect(summary).toMatchObject({ seed: 31, split: 'held-out' });
    for (const name of ['autoPassPrecision', 'autoPassRate', 'mismatchRecall', 'mismatchPrecision', 'policyRecall', 'reviewRate']) {
      const interval = summary.intervals[name]!;
      expect(interval.k / interval.n, name).toBeCloseTo(summary[name] as number, 9);
      expect(interval.low, name).toBeLessThanOrEqual(summary[name] as number);
      expect(interval.high, name).toBeGreaterThanOrEqual(summary[name] as number);
    }
    expect(summary.perSeed.map((s) => [s.seed, s.split])).toEqual([
      [31, 'held-out'],
      [32, 'held-out'],
    ]);
    expect(summary.worst['mismatchRecall']!.value).toBe(Math.min(...summary.perSeed.map((s) => s.mismatchRecall)));
    expect(Object.keys(summary.floors).sort()).toEqual([...FLOOR_NAMES].sort());
    expect(Object.keys(summary.byModel).sort()).toEqual(['local-centernet-coco80', 'openai/clip-vit-base-patch32']);
    expect(summary.scoreModels).toMatchObject({ clipTop1: { cited: CITED.clipTop1.value }, policyAccuracy: { cited: CITED.falconsaiAccuracy.value } });
    expect(summary).toHaveProperty('confusion');
    expect(code).toBe(summary.perSeed.every((s) => s.gatePass) ? 0 : 1);
  });
});

describe('intervals', () => {
  it('are 95% Wilson score intervals with their counts', () => {
    expect(wilson(5, 10)).toMatchObject({ k: 5, n: 10 });
    expect(wilson(5, 10).low).toBeCloseTo(0.2366, 4);
    expect(wilson(5, 10).high).toBeCloseTo(0.7634, 4);
    expect(wilson(0, 10).low).toBe(0);
    expect(wilson(0, 10).high).toBeCloseTo(0.2775, 4);
    // 320 of 320 cannot show much more than 98.8%: why a held-out set needs hundreds of positives per recall.
    expect(wilson(320, 320).low).toBeCloseTo(0.9881, 4);
    expect(wilson(0, 0)).toEqual({ low: null, high: null, k: 0, n: 0 });
  });
});

describe('score models follow the cited figures', () => {
  const heldOut = generatedSet(taxonomy, HELD_OUT_SEED, HELD_OUT_SIZE);

  it('generated CLIP top-1 and Falconsai accuracy match the citations (within 1 and 0.5 points on 10,000 assets)', () => {
    const top1 = clipTop1(heldOut.assets, taxonomy);
    expect(Math.abs(top1.k / top1.n - CITED.clipTop1.value)).toBeLessThan(0.01);
    const policy = policyTop1(heldOut.assets);
    expect(Math.abs(policy.k / policy.n - CITED.falconsaiAccuracy.value)).toBeLessThan(0.005);
  });

  it('CLIP_SIGNAL is what fitting the generator to the cited accuracy gives', () => {
    expect(Math.abs(fitClipSignal(taxonomy, CITED.clipTop1.value, 12) - CLIP_SIGNAL)).toBeLessThan(0.02);
  });

  it('listing text is not only the taxonomy’s keywords: synonyms, plain words and misspellings the text rule cannot see', () => {
    const truthful = heldOut.assets.filter((a) => a.source === 'synthetic' && a.scenario === 'clean');
    const silent = truthful.filter((a) => taxonomy.categoriesMentionedIn(`${a.listing.title} ${a.listing.description ?? ''}`).length === 0);
    // Neutral wording (15%) plus plain words and misspellings (40% of worded titles): a large share says nothing.
    expect(silent.length / truthful.length).toBeGreaterThan(0.2);
    expect(misspell(createRng(3), 'kitten')).not.toBe('kitten');
  });
});

describe('CI gate: a HELD-OUT set (never the calibration set) under the current config', () => {
  it(`meets the gate: policy recall ≥ 99.5%, auto-pass precision ≥ 99%, mismatch recall ≥ 97%, auto-pass rate ≥ 60%, review rate ≤ ${Math.round(GATE.reviewRate.floor * 1000) / 10}% (the documented frontier shortfall)`, () => {
    expect(HELD_OUT_SEED).not.toBe(CALIBRATION_SEED);
    const set = generatedSet(taxonomy, HELD_OUT_SEED, HELD_OUT_SIZE);
    expect(set.split).toBe('held-out');
    const report = evaluateSet(set.assets, loadTaxonomy(), loadTriagePolicy());
    // Enough positives per gated recall to measure it (~300 at least).
    expect(report.gatedMetrics.counts.policySensitive).toBeGreaterThanOrEqual(300);
    expect(report.gatedMetrics.counts.misrepresented).toBeGreaterThanOrEqual(300);
    const gate = checkGate(report.gatedMetrics);
    const failing = FLOOR_NAMES.filter((name) => !gate.floors[name].pass).map((name) => {
      const { value, op, floor } = gate.floors[name];
      return `${name} ${value === null ? 'n/a' : (value * 100).toFixed(2)}% (gate ${op} ${(floor * 100).toFixed(2)}%)`;
    });
    expect(failing, 'a held-out regression: the change made decisions worse on data the thresholds were not fitted on').toEqual([]);
    // Every gate floor is the product floor except the documented shortfall.
    for (const name of FLOOR_NAMES) if (GATE[name].productFloor === undefined) expect(GATE[name].floor, name).toBe(FLOORS[name].floor);
  });
});
