/**
 * `npm run eval [-- --json] [-- --sweep]`: replays the labelled set's recorded model outputs (no model is loaded)
 * through the real triage with the current taxonomy and triage policy, prints the metrics per model family and
 * overall, the confusion table and the floors; `--sweep` adds the trade-off as thresholds move and thresholds that
 * meet the floors. With `--json` the last stdout line is one JSON object. Exit 1 when a floor fails (CI), 2 on a
 * usage error, 0 otherwise.
 */
import { loadTaxonomy } from '../lambdas/core/taxonomy';
import { loadTriagePolicy } from '../lambdas/core/triage-policy';
import { OUTCOMES } from '../lambdas/core/outcomes';
import { loadEvaluationSet } from './evaluation-set';
import {
  FLOOR_NAMES,
  THRESHOLD_NAMES,
  TRUTH_CLASSES,
  evaluateSet,
  pointMetrics,
  sweep,
  type EvaluationReport,
  type FloorCheck,
  type FloorName,
  type PointMetrics,
  type SweepReport,
} from './metrics';

const USAGE = 'usage: npm run eval -- [--json] [--sweep]';

interface Options {
  json: boolean;
  sweep: boolean;
}

function parseArgs(argv: readonly string[]): Options | string {
  const options: Options = { json: false, sweep: false };
  for (const arg of argv) {
    if (arg === '--json') options.json = true;
    else if (arg === '--sweep') options.sweep = true;
    else if (arg === '--help' || arg === '-h') return USAGE;
    else return `unknown argument "${arg}"\n${USAGE}`;
  }
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

function metricsRow(metrics: PointMetrics): string {
  return METRIC_LABELS.map(([key]) => pad(pct(metrics[key] as number | null), 9, true)).join('') + `  ${metrics.pass ? 'pass' : '-'}`;
}

function printSweep(result: SweepReport): void {
  const out: string[] = [''];
  const header = METRIC_LABELS.map(([key]) => pad(key.replace(/([A-Z])/g, ' $1').split(' ').map((w) => w.slice(0, 4)).join(''), 9, true)).join('');
  out.push('SWEEP (the set is fixed; thresholds move; policy object and taxonomy are copies, nothing is written)');
  out.push('');
  out.push('policy review floors (the score at which a class first reaches a person; taxonomy policyClasses, shared by every model):');
  for (const [classId, line] of Object.entries(result.policy.lines)) {
    out.push(`  ${classId} (current ${result.policy.current[classId]}):   value  policyRecall  caughtByPolicyReason  reviewRate  falseAlarms`);
    for (const point of line) {
      out.push(
        `    ${pad(String(point.value), 26, true)}  ${pad(pct(point.policyRecall), 12, true)}  ${pad(pct(point.policyReasonRecall), 20, true)}  ${pad(pct(point.reviewRate), 10, true)}  ${pad(String(point.falseAlarms), 11, true)}`,
      );
    }
  }
  const rec = result.policy.recommended;
  out.push(
    `  recommended floors: ${Object.entries(rec.floors).map(([id, v]) => `${id} ${v}`).join(', ')} ` +
      `(policy-sensitive caught by a policy reason ${pct(rec.policyReasonRecall)}, other assets sent by a policy reason: ${rec.falseAlarms})`,
  );
  for (const family of Object.values(result.families)) {
    out.push('');
    out.push(
      `${family.modelKey}: current "${family.thresholdsKey}" lowConfidence ${family.current.lowConfidence}, mismatch ${family.current.mismatch}, pass ${family.current.pass}`,
    );
    out.push(`  ${pad('threshold = value', 26)}${header}`);
    out.push(`  ${pad('(current)', 26)}${metricsRow(family.currentMetrics)}`);
    for (const name of THRESHOLD_NAMES) {
      for (const point of family.lines[name]) out.push(`  ${pad(`${name} = ${point.value}`, 26)}${metricsRow(point.metrics)}`);
    }
    out.push(`  search: ${family.evaluated} threshold combinations; ${family.alone.feasible} meet every floor on this model's assets alone`);
    const own = family.alone.recommended ?? family.alone.best;
    if (own !== null) {
      const t = own.thresholds;
      out.push(
        `  ${family.alone.recommended !== null ? 'recommended for this model alone' : 'closest for this model alone (no point meets every floor)'}` +
          ` (margin ${own.margin.toFixed(3)}): "${family.thresholdsKey}": { "lowConfidence": ${t.lowConfidence}, "mismatch": ${t.mismatch}, "pass": ${t.pass} }`,
      );
      out.push(`  ${pad('', 26)}${metricsRow(own.metrics)}`);
      const failing = FLOOR_NAMES.filter((name) => !own.floors[name].pass);
      if (failing.length > 0) out.push(`  ${pad('', 26)}fails: ${failing.map((name) => floorText(name, own.floors[name])).join('; ')}`);
    }
  }
  out.push('');
  out.push(
    `joint search: ${result.joint.combinations} combinations (one point per model), ${result.joint.feasible} feasible ` +
      '(every floor on the whole set, and policy recall / auto-pass precision / mismatch recall on each model alone)',
  );
  const describe = (label: string, point: NonNullable<SweepReport['joint']['best']>): void => {
    out.push(`${label} (smallest margin inside the floors ${point.margin.toFixed(3)}):`);
    for (const [key, t] of Object.entries(point.thresholds)) {
      const key2 = result.families[key]?.thresholdsKey ?? key;
      out.push(`  "${key2}": { "lowConfidence": ${t.lowConfidence}, "mismatch": ${t.mismatch}, "pass": ${t.pass} }   ${metricsRow(point.perModel[key]!)}`);
    }
    out.push(`  ${pad('overall', 58)}${metricsRow(point.overall)}`);
    out.push(`  policy floors: ${Object.entries(result.policy.recommended.floors).map(([id, v]) => `${id} ${v}`).join(', ')}`);
  };
  if (result.joint.recommended !== null) describe('recommended thresholds', result.joint.recommended);
  else out.push('no threshold combination on the grid meets every floor on this set.');
  if (result.joint.best !== null && result.joint.recommended === null) {
    describe('closest combination', result.joint.best);
    const failing = FLOOR_NAMES.filter((name) => !result.joint.best!.floors[name].pass);
    out.push(`  failing overall: ${failing.map((name) => floorText(name, result.joint.best!.floors[name])).join('; ') || 'none (a model alone fails a safety floor)'}`);
  }
  out.push(`(sweep took ${(result.elapsedMs / 1000).toFixed(1)} s)`);
  console.log(out.join('\n'));
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
  const set = loadEvaluationSet();
  const report = evaluateSet(set.assets, taxonomy, policy);
  const sweepResult = options.sweep ? sweep(set.assets, taxonomy, policy) : undefined;
  const elapsedMs = Math.round(performance.now() - started);

  if (options.json) {
    // Top-level metrics are the gated (deployed) model's, the ones the floors judge; `overall` adds every family.
    const { counts: _counts, ...metrics } = report.gatedMetrics;
    const summary = {
      ...metrics,
      counts: report.gatedMetrics.counts,
      gatedModel: report.gatedModel,
      overall: pointMetrics(report.metrics),
      floors: report.floors,
      pass: report.pass,
      byModel: Object.fromEntries(
        Object.entries(report.byModel).map(([key, model]) => [
          key,
          {
            family: model.family,
            thresholdsKey: model.thresholdsKey,
            thresholds: model.thresholds,
            ...pointMetrics(model.metrics),
            policyReasonRecall: model.metrics.policyReasonRecall,
            floors: model.floors,
          },
        ]),
      ),
      bySource: Object.fromEntries(Object.entries(report.bySource).map(([key, m]) => [key, pointMetrics(m)])),
      confusion: report.confusion,
      versions: { taxonomy: taxonomy.version, policy: policy.version },
      set: { synthetic: set.synthetic, real: set.real, generator: set.meta },
      ...(sweepResult === undefined ? {} : { sweep: sweepResult }),
      elapsedMs,
    };
    console.log(JSON.stringify(summary));
  } else {
    printReport(report, { synthetic: set.synthetic, real: set.real, taxonomy: taxonomy.version, policy: policy.version });
    if (sweepResult !== undefined) printSweep(sweepResult);
    console.log(`(${(elapsedMs / 1000).toFixed(1)} s)`);
  }
  return report.pass ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
