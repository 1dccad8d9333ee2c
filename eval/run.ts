/**
 * `npm run eval -- --dataset <file> [--json]` evaluates the current policy on a reviewed dataset (eval/reviewed-dataset.ts).
 * `npm run eval [-- --seed N] [-- --size N] [-- --seeds K] [-- --json] [-- --calibrate [--write]] [-- --clip-top1 X]`:
 * generates a HELD-OUT set in memory (the seeded generator, any seed but the calibration one), replays its recorded
 * model outputs through the real triage with the current taxonomy and triage policy, and prints every rate with its
 * 95% Wilson interval and counts, the generated vs cited model accuracies, every policy miss and the floors.
 * `--calibrate` fits thresholds on the CALIBRATION set only and proposes them (written, as a new policy version, only
 * with `--write`). With `--json` the last stdout line is one JSON object. Exit 1 when the CI gate fails (the floors,
 * with the documented shortfall of eval/gate.ts), 2 on a usage error, 0 otherwise.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadTaxonomy, type Taxonomy } from '../lambdas/core/taxonomy';
import { loadTriagePolicy, type TriagePolicy } from '../lambdas/core/triage-policy';
import { OUTCOMES } from '../lambdas/core/outcomes';
import { calibrate, CALIBRATION_TARGETS, type CalibrationPoint } from './calibrate';
import { checkGate, GATE } from './gate';
import { runReviewedDataset } from './reviewed-report';
import { fitClipSignal } from './generator';
import { CITED, clipTop1, policyTop1, wilson, type Interval } from './score-models';
import { CALIBRATION_SEED, CALIBRATION_SIZE, HELD_OUT_SEED, HELD_OUT_SIZE, generatedSet, type GeneratedSet } from './splits';
import {
  FLOOR_NAMES,
  TRUTH_CLASSES,
  evaluateSet,
  intervalsOf,
  pointMetrics,
  policyMisses,
  type EvaluationReport,
  type FloorCheck,
  type FloorName,
  type PointMetrics,
} from './metrics';

const USAGE =
  'usage: npm run eval -- [--seed N] [--size N] [--seeds K] [--json] [--calibrate [--write]] [--clip-top1 X]\n' +
  '       npm run eval -- --dataset <reviewed.jsonl> [--json]   (the current policy on a `dataset export` file)';

interface Options {
  json: boolean;
  calibrate: boolean;
  write: boolean;
  seed: number;
  size: number | undefined;
  seeds: number;
  clipTop1: number | undefined;
  dataset: string | undefined;
}

function parseArgs(argv: readonly string[]): Options | string {
  const options: Options = {
    json: false,
    calibrate: false,
    write: false,
    seed: HELD_OUT_SEED,
    size: undefined,
    seeds: 1,
    clipTop1: undefined,
    dataset: undefined,
  };
  const number = (name: string, value: string | undefined, check: (n: number) => boolean): number | string => {
    const parsed = Number(value);
    return value !== undefined && Number.isFinite(parsed) && check(parsed) ? parsed : `${name} needs a valid number\n${USAGE}`;
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--json') options.json = true;
    else if (arg === '--calibrate' || arg === '--sweep') options.calibrate = true;
    else if (arg === '--write') options.write = true;
    else if (arg === '--dataset') {
      const path = argv[(i += 1)];
      if (path === undefined || path.startsWith('--')) return `--dataset needs a file\n${USAGE}`;
      options.dataset = path;
    } else if (arg === '--seed' || arg === '--size' || arg === '--seeds' || arg === '--clip-top1') {
      const value = number(
        arg,
        argv[(i += 1)],
        arg === '--clip-top1' ? (n) => n > 0.06 && n < 1 : (n) => Number.isInteger(n) && n >= (arg === '--seed' ? 0 : 1),
      );
      if (typeof value === 'string') return value;
      if (arg === '--seed') options.seed = value;
      else if (arg === '--size') options.size = value;
      else if (arg === '--seeds') options.seeds = value;
      else options.clipTop1 = value;
    } else if (arg === '--help' || arg === '-h') return USAGE;
    else return `unknown argument "${arg}"\n${USAGE}`;
  }
  if (options.write && !options.calibrate) return `--write only goes with --calibrate\n${USAGE}`;
  if (options.dataset !== undefined && argv.some((a) => a !== '--json' && a !== '--dataset' && a !== options.dataset))
    return `--dataset only goes with --json\n${USAGE}`;
  return options;
}

const METRIC_LABELS: Array<[keyof PointMetrics & string, string]> = [
  ['autoPassPrecision', 'auto-pass precision'],
  ['autoPassRate', 'auto-pass rate'],
  ['mismatchRecall', 'mismatch recall'],
  ['mismatchPrecision', 'mismatch precision'],
  ['policyRecall', 'policy recall'],
  ['reviewRate', 'review rate'],
];

function pct(value: number | null | undefined): string {
  return value === null || value === undefined ? 'n/a' : `${(value * 100).toFixed(2)}%`;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function floorText(name: FloorName, check: FloorCheck): string {
  return `${name} ${pct(check.value)} ${check.op} ${pct(check.floor)}`;
}

function interval(i: Interval): string {
  return i.low === null || i.high === null ? `(0 of 0)` : `[${pct(i.low)}, ${pct(i.high)}] ${i.k} of ${i.n}`;
}

function printReport(report: EvaluationReport, context: { synthetic: number; real: number; taxonomy: string; policy: string }): void {
  const models = Object.entries(report.byModel);
  const out: string[] = [];
  out.push(
    `media-triage eval: ${report.metrics.assets} assets (${context.synthetic} synthetic, ${context.real} real local-model outputs); ` +
      `taxonomy ${context.taxonomy}, triage policy ${context.policy}`,
  );
  out.push('');
  const columns = ['overall', ...models.map(([key]) => key)];
  const widths = columns.map((column) => Math.max(column.length, 9));
  out.push(`${pad('metric', 22)}${columns.map((c, i) => pad(c, widths[i]! + 2, true)).join('')}   floor`);
  for (const [key, label] of METRIC_LABELS) {
    const values = [report.metrics[key as keyof typeof report.metrics], ...models.map(([, m]) => m.metrics[key as keyof typeof m.metrics])];
    const floor = (FLOOR_NAMES as string[]).includes(key) ? report.floors[key as FloorName] : undefined;
    const floorCell = floor === undefined ? '' : `   ${floor.op} ${pct(floor.floor)}  ${floor.pass ? 'pass' : 'FAIL'}`;
    out.push(`${pad(label, 22)}${values.map((v, i) => pad(pct(v as number | null), widths[i]! + 2, true)).join('')}${floorCell}`);
  }
  out.push('');
  out.push(`95% Wilson intervals and counts (${report.gatedModel}, the gated family):`);
  const intervals = intervalsOf(report.gatedMetrics);
  for (const [key, label] of [...METRIC_LABELS, ['policyReasonRecall', 'caught by policy reason'] as const]) {
    out.push(
      `  ${pad(label, 24)}${pad(pct(report.gatedMetrics[key as keyof typeof intervals] as number | null), 8, true)}  ${interval(intervals[key as keyof typeof intervals])}`,
    );
  }
  out.push('');
  out.push(
    `${pad('assets', 22)}${[report.metrics.assets, ...models.map(([, m]) => m.metrics.assets)].map((v, i) => pad(String(v), widths[i]! + 2, true)).join('')}`,
  );
  out.push(
    `(audit samples of AUTO_PASS, extra to the review rate: ${pct(report.metrics.auditRate)}; ` +
      `policy-sensitive caught by a policy reason: ${pct(report.metrics.policyReasonRecall)})`,
  );
  out.push('');
  out.push('thresholds that applied (config/triage-policy.json categoryModels):');
  for (const [key, model] of models) {
    const t = model.thresholds;
    out.push(`  ${key} (${model.description}): "${model.thresholdsKey}" lowConfidence ${t.lowConfidence}, mismatch ${t.mismatch}, pass ${t.pass}`);
  }
  out.push('');
  out.push('confusion (rows: truth; columns: outcome)');
  const outcomeWidth = Math.max(...OUTCOMES.map((o) => o.length)) + 2;
  out.push(`${pad('', 18)}${OUTCOMES.map((o) => pad(o, outcomeWidth, true)).join('')}${pad('total', 8, true)}`);
  for (const row of TRUTH_CLASSES) {
    const cells = OUTCOMES.map((o) => report.confusion[row][o]);
    out.push(`${pad(row, 18)}${cells.map((c) => pad(String(c), outcomeWidth, true)).join('')}${pad(String(cells.reduce((a, b) => a + b, 0)), 8, true)}`);
  }
  out.push('');
  const failing = FLOOR_NAMES.filter((name) => !report.floors[name].pass);
  out.push(
    `floors (gate the deployed model ${report.gatedModel}): ${failing.length === 0 ? 'all pass' : `FAIL: ${failing.map((name) => floorText(name, report.floors[name])).join('; ')}`}`,
  );
  for (const [key, model] of models) {
    if (key === report.gatedModel) continue;
    const modelFailing = FLOOR_NAMES.filter((name) => !model.floors[name].pass);
    out.push(`  (information: ${key} alone ${modelFailing.length === 0 ? 'meets every floor' : `would fail ${modelFailing.join(', ')}`})`);
  }
  console.log(out.join('\n'));
}

interface ScoreModelCheck {
  clipTop1: { generated: Interval & { value: number | null }; cited: number; citedWhat: string; source: string; fineGrainedReference: number };
  policyAccuracy: { generated: Interval & { value: number | null }; cited: number; citedWhat: string; source: string };
}

function scoreModelCheck(set: GeneratedSet, taxonomy: Taxonomy): ScoreModelCheck {
  const top1 = clipTop1(set.assets, taxonomy);
  const policy = policyTop1(set.assets);
  const withValue = (c: { k: number; n: number }) => ({ value: c.n === 0 ? null : c.k / c.n, ...wilson(c.k, c.n) });
  return {
    clipTop1: {
      generated: withValue(top1),
      cited: CITED.clipTop1.value,
      citedWhat: CITED.clipTop1.what,
      source: CITED.clipTop1.source,
      fineGrainedReference: CITED.clipTop1ImageNet.value,
    },
    policyAccuracy: {
      generated: withValue(policy),
      cited: CITED.falconsaiAccuracy.value,
      citedWhat: CITED.falconsaiAccuracy.what,
      source: CITED.falconsaiAccuracy.source,
    },
  };
}

interface SeedResult {
  seed: number;
  split: string;
  report: EvaluationReport;
  set: GeneratedSet;
  gate: ReturnType<typeof checkGate>;
  scoreModels: ScoreModelCheck;
}

function runSeed(taxonomy: Taxonomy, policy: TriagePolicy, seed: number, size: number, clipSignal: number | undefined): SeedResult {
  const set = generatedSet(taxonomy, seed, size, clipSignal);
  const report = evaluateSet(set.assets, taxonomy, policy);
  return { seed, split: set.split, report, set, gate: checkGate(report.gatedMetrics), scoreModels: scoreModelCheck(set, taxonomy) };
}

function summaryOf(result: SeedResult, taxonomy: Taxonomy, policy: TriagePolicy) {
  const { report } = result;
  const { counts: _counts, ...metrics } = report.gatedMetrics;
  return {
    ...metrics,
    seed: result.seed,
    split: result.split,
    intervals: intervalsOf(report.gatedMetrics),
    counts: report.gatedMetrics.counts,
    gatedModel: report.gatedModel,
    overall: pointMetrics(report.metrics),
    floors: report.floors,
    pass: report.pass,
    gate: result.gate,
    policyMisses: policyMisses(report.evaluated),
    scoreModels: result.scoreModels,
    byModel: Object.fromEntries(
      Object.entries(report.byModel).map(([key, model]) => [
        key,
        {
          family: model.family,
          thresholdsKey: model.thresholdsKey,
          thresholds: model.thresholds,
          ...pointMetrics(model.metrics),
          policyReasonRecall: model.metrics.policyReasonRecall,
          intervals: intervalsOf(model.metrics),
          floors: model.floors,
        },
      ]),
    ),
    bySource: Object.fromEntries(Object.entries(report.bySource).map(([key, m]) => [key, pointMetrics(m)])),
    confusion: report.confusion,
    versions: { taxonomy: taxonomy.version, policy: policy.version },
    set: { seed: result.seed, split: result.split, synthetic: result.set.synthetic, real: result.set.real, generator: result.set.meta },
  };
}

function printScoreModels(check: ScoreModelCheck): void {
  const g = check.clipTop1.generated;
  const p = check.policyAccuracy.generated;
  console.log(
    [
      'score models (generated vs cited):',
      `  CLIP zero-shot top-1 on truthful images: generated ${pct(g.value)} ${interval(g)}; cited ${pct(check.clipTop1.cited)} (${check.clipTop1.citedWhat}; ${check.clipTop1.source}); fine-grained reference ImageNet ${pct(check.clipTop1.fineGrainedReference)}`,
      `  Falconsai top-1 (normal vs nsfw): generated ${pct(p.value)} ${interval(p)}; cited ${pct(check.policyAccuracy.cited)} (${check.policyAccuracy.source})`,
    ].join('\n'),
  );
}

function printGate(result: SeedResult): void {
  const misses = policyMisses(result.report.evaluated);
  const lines = [`policy misses (policy-sensitive, gated family, not sent to a person): ${misses.length}`];
  for (const miss of misses) lines.push(`  ${miss.id} ${miss.scenario} ${miss.outcome} ${miss.policyLabels.map((l) => `${l.label} ${l.score}`).join(', ')}`);
  const failing = FLOOR_NAMES.filter((name) => !result.gate.floors[name].pass);
  lines.push(
    `CI gate (${result.split} seed ${result.seed}): ${result.gate.pass ? 'pass' : `FAIL: ${failing.map((name) => floorText(name, result.gate.floors[name])).join('; ')}`}`,
  );
  for (const name of FLOOR_NAMES) {
    const gate = GATE[name];
    if (gate.productFloor !== undefined)
      lines.push(`  gated at ${gate.op} ${pct(gate.floor)} instead of the product floor ${pct(gate.productFloor)}: ${gate.why ?? ''}`);
  }
  console.log(lines.join('\n'));
}

function pointText(point: CalibrationPoint): string {
  const m = point.metrics;
  const t = point.thresholds;
  return (
    `lowConfidence ${t.lowConfidence}, mismatch ${t.mismatch}, pass ${t.pass}; policy floors ${Object.entries(point.policyFloors)
      .map(([id, v]) => `${id} ${v}`)
      .join(', ')} -> ` +
    `policy recall ${pct(m.policyRecall)}, auto-pass precision ${pct(m.autoPassPrecision)}, mismatch recall ${pct(m.mismatchRecall)}, review ${pct(m.reviewRate)}, auto-pass ${pct(m.autoPassRate)}`
  );
}

function nextVersion(version: string): string {
  const parts = version.split('.');
  const last = Number(parts.at(-1));
  return Number.isInteger(last) ? [...parts.slice(0, -1), String(last + 1)].join('.') : `${version}.1`;
}

function runCalibration(options: Options, taxonomy: Taxonomy, policy: TriagePolicy, clipSignal: number | undefined): number {
  const size = options.size ?? CALIBRATION_SIZE;
  const set = generatedSet(taxonomy, CALIBRATION_SEED, size, clipSignal);
  const result = calibrate(set.assets, taxonomy, policy);
  const chosen = result.recommended ?? result.bestHonest;
  const policyFile = new URL('../config/triage-policy.json', import.meta.url);
  let written: string | null = null;
  if (options.write && chosen !== null) {
    const document = JSON.parse(readFileSync(policyFile, 'utf8')) as TriagePolicy;
    document.version = nextVersion(document.version);
    document.categoryModels['openai/clip-vit-base-patch32'] = { ...chosen.thresholds };
    writeFileSync(policyFile, `${JSON.stringify(document, null, 2)}\n`);
    written = document.version;
  }
  if (options.json) {
    console.log(JSON.stringify({ split: 'calibration', seed: CALIBRATION_SEED, size, targets: CALIBRATION_TARGETS, ...result, written }));
    return 0;
  }
  const out = [
    `calibration set: seed ${CALIBRATION_SEED}, ${size} assets (${result.assets} of the gated family); ${result.evaluatedPoints} (category x policy) points`,
    `targets on the calibration set (floors with room for held-out noise): ${FLOOR_NAMES.map((n) => `${n} ${pct(CALIBRATION_TARGETS[n])}`).join(', ')}`,
    result.recommended !== null ? `recommended: ${pointText(result.recommended)}` : 'no point meets every target.',
  ];
  if (result.recommended === null && result.bestHonest !== null)
    out.push(`best honest point (safety held, smallest workload shortfall): ${pointText(result.bestHonest)}`);
  out.push('frontier (for each policy recall, the lowest review rate with auto-pass precision and mismatch recall on target):');
  for (const point of result.frontier) out.push(`  ${pointText(point)}`);
  out.push(
    written !== null
      ? `wrote config/triage-policy.json version ${written} (categoryModels["openai/clip-vit-base-patch32"]); set the policy floors in config/taxonomy.json by hand and bump its version`
      : 'nothing written (add --write to write the category thresholds as a new policy version)',
  );
  console.log(out.join('\n'));
  return 0;
}

export function main(argv: readonly string[]): number {
  const options = parseArgs(argv);
  if (typeof options === 'string') {
    const helpOnly = options === USAGE;
    (helpOnly ? console.log : console.error)(options);
    return helpOnly ? 0 : 2;
  }
  const started = performance.now();
  const taxonomy = loadTaxonomy();
  const policy = loadTriagePolicy();
  if (options.dataset !== undefined) return runReviewedDataset(options.dataset, options.json, taxonomy, policy);
  const clipSignal = options.clipTop1 === undefined ? undefined : fitClipSignal(taxonomy, options.clipTop1);
  if (options.calibrate) return runCalibration(options, taxonomy, policy, clipSignal);

  const size = options.size ?? HELD_OUT_SIZE;
  const seeds: number[] = [];
  for (let seed = options.seed; seeds.length < options.seeds; seed += 1) if (options.seeds === 1 || seed !== CALIBRATION_SEED) seeds.push(seed);
  const results = seeds.map((seed) => runSeed(taxonomy, policy, seed, size, clipSignal));
  const first = results[0]!;
  const elapsedMs = Math.round(performance.now() - started);

  if (options.json) {
    const summary: Record<string, unknown> = { ...summaryOf(first, taxonomy, policy), elapsedMs };
    if (options.seeds > 1) {
      summary['perSeed'] = results.map((r) => ({
        seed: r.seed,
        split: r.split,
        ...pointMetrics(r.report.gatedMetrics),
        intervals: intervalsOf(r.report.gatedMetrics),
        gatePass: r.gate.pass,
        floorsPass: r.report.pass,
      }));
      summary['worst'] = worstOf(results);
    }
    console.log(JSON.stringify(summary));
  } else {
    for (const result of results) {
      if (result.split !== 'held-out') console.log(`WARNING: seed ${result.seed} is the CALIBRATION seed; floors are only meaningful on held-out seeds.`);
      printReport(result.report, { synthetic: result.set.synthetic, real: result.set.real, taxonomy: taxonomy.version, policy: policy.version });
      printScoreModels(result.scoreModels);
      printGate(result);
      console.log('');
    }
    if (results.length > 1) {
      const worst = worstOf(results);
      console.log(
        `seeds ${seeds.join(', ')}: ${results.filter((r) => r.gate.pass).length} of ${results.length} pass the CI gate, ${results.filter((r) => r.report.pass).length} every product floor`,
      );
      console.log(`worst: ${FLOOR_NAMES.map((n) => `${n} ${pct(worst[n].value)} (seed ${worst[n].seed})`).join('; ')}`);
    }
    console.log(`(${(elapsedMs / 1000).toFixed(1)} s)`);
  }
  return results.every((r) => r.gate.pass) ? 0 : 1;
}

/** Per floor, the worst value over the seeds and the seed that gave it. */
function worstOf(results: readonly SeedResult[]): Record<FloorName, { value: number | null; seed: number }> {
  return Object.fromEntries(
    FLOOR_NAMES.map((name) => {
      const better = (a: number, b: number): boolean => (GATE[name].op === '>=' ? a > b : a < b);
      let worst = { value: results[0]!.report.gatedMetrics[name], seed: results[0]!.seed };
      for (const r of results) {
        const value = r.report.gatedMetrics[name];
        if (value === null || worst.value === null || better(worst.value, value)) worst = { value, seed: r.seed };
      }
      return [name, worst];
    }),
  ) as Record<FloorName, { value: number | null; seed: number }>;
}

process.exitCode = main(process.argv.slice(2));
