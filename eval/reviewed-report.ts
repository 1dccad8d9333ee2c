/** Prints (or, with --json, emits as one last-line object) the eval of the current policy on a reviewed dataset. */
import { OUTCOMES } from '../lambdas/core/outcomes';
import type { Taxonomy } from '../lambdas/core/taxonomy';
import type { TriagePolicy } from '../lambdas/core/triage-policy';
import { DatasetError, HUMAN_LABELS, loadReviewedDataset, NOT_A_RANDOM_SAMPLE, reviewedMetrics } from './reviewed-dataset';
import type { Interval } from './score-models';

function pct(value: number | null): string {
  return value === null ? 'n/a' : `${(value * 100).toFixed(2)}%`;
}

function interval(i: Interval): string {
  return i.low === null || i.high === null ? '(0 of 0)' : `[${pct(i.low)}, ${pct(i.high)}] ${i.k} of ${i.n}`;
}

/** Exit 0 when evaluated, 2 when the file cannot be read or holds a schema this eval does not know. */
export function runReviewedDataset(path: string, json: boolean, taxonomy: Taxonomy, policy: TriagePolicy): number {
  let dataset;
  try {
    dataset = loadReviewedDataset(path, taxonomy, policy);
  } catch (error) {
    if (!(error instanceof DatasetError)) throw error;
    console.error(error.message);
    return 2;
  }
  const metrics = reviewedMetrics(dataset.items);
  const { intervals, confusion, changed, ...rates } = metrics;
  if (json) {
    console.log(
      JSON.stringify({
        dataset: { path: dataset.path, lines: dataset.lines, schemaVersions: dataset.schemaVersions, evaluated: metrics.evaluated, skipped: dataset.skipped },
        split: 'reviewed',
        versions: { taxonomy: taxonomy.version, policy: policy.version },
        ...rates,
        intervals,
        confusion,
        changed,
        caveat: NOT_A_RANDOM_SAMPLE,
      }),
    );
    return 0;
  }
  const versions = Object.entries(dataset.schemaVersions)
    .map(([v, n]) => `${n} of schema ${v}`)
    .join(', ');
  const out = [
    `media-triage eval on reviewed dataset ${dataset.path}: ${dataset.lines} lines (${versions}), ${metrics.evaluated} re-run; taxonomy ${taxonomy.version}, triage policy ${policy.version}`,
    `NOTE: ${NOT_A_RANDOM_SAMPLE}`,
    `  (${metrics.auditSamples} of the ${metrics.evaluated} were recorded AUTO_PASS, i.e. audit samples)`,
    '',
    '95% Wilson intervals and counts (current policy vs human labels):',
    ...(
      [
        ['auto-pass precision (re-run AUTO_PASS that humans approved)', 'autoPassPrecision'],
        ['recall of human rejections (reject/recategorize to a person)', 'rejectionRecall'],
        ['review rate (of reviewed traffic)', 'reviewRate'],
        ['agreement (recorded outcome = re-run outcome)', 'agreement'],
      ] as const
    ).map(([label, key]) => `  ${label.padEnd(62)}${pct(rates[key]).padStart(8)}  ${interval(intervals[key])}`),
    '',
    'confusion (rows: re-run outcome; columns: human label)',
    `${''.padEnd(16)}${HUMAN_LABELS.map((l) => l.padStart(14)).join('')}`,
    ...OUTCOMES.map((o) => `${o.padEnd(16)}${HUMAN_LABELS.map((l) => String(confusion[o][l]).padStart(14)).join('')}`),
    '',
    `decisions the current policy would change: ${changed.length}`,
    ...changed.map((c) => `  ${c.batchId} ${c.assetKey}: ${c.recorded} -> ${c.rerun} (human: ${c.label})`),
  ];
  if (dataset.skipped.length > 0)
    out.push(`skipped lines: ${dataset.skipped.length}`, ...dataset.skipped.map((s) => `  line ${s.line} ${s.assetKey ?? ''}: ${s.why}`));
  const incomplete = Object.entries(metrics.incomplete);
  if (incomplete.length > 0) out.push('re-run from partial lines (what was missing, how many lines):', ...incomplete.map(([what, n]) => `  ${n}: ${what}`));
  console.log(out.join('\n'));
  return 0;
}
