/**
 * The stakeholder page of one batch (pure: data in, HTML text out): quality gates, KPIs, outcome mix, reason codes,
 * confidence histograms per predicted category, the declared-vs-predicted matrix, review turnaround and agreement
 * (once reviews exist), drift against the baseline window, and the assets that need a person.
 */
import { NO_CATEGORY, type BatchDrift, type MixDrift } from '../drift/batch-drift';
import type { GateReport } from '../gates/quality-gates';
import type { BatchKpis } from '../kpis/batch-kpis';
import type { LatencySummary } from '../kpis/percentiles';
import { OUTCOMES, REASON_CODES, type Outcome, type ReasonCode } from '../outcomes';
import { needsReview, type AssetRecord } from '../records';
import { barChart, histogram, matrixChart, pairedBars, type HistogramBin, type Tone } from './charts';
import { decimal, duration, percent } from './format';
import { html, type SafeHtml } from './html';
import { gatesTable, kpi, page } from './page';

/** What the batch page shows besides the records (all of it is also in the batch's summary JSON). */
export interface BatchReportFacts {
  batchId: string;
  dt: string;
  receivedAt: string;
  completedAt: string;
  archiveKey: string;
  assets: number;
  outcomes: Record<Outcome, number>;
  reasons: Partial<Record<ReasonCode, number>>;
  sentToReview: number;
  auditSamples: number;
  versions: { pipeline: string; taxonomy: string; policy: string };
  kpis: BatchKpis;
  drift: BatchDrift;
  gates: GateReport;
}

export const OUTCOME_TONE: Record<Outcome, Tone> = { AUTO_PASS: 'good', FLAGGED: 'bad', NEEDS_REVIEW: 'warn', REJECTED_INPUT: 'neutral', FAILED: 'muted' };

/** Ten bins of 0.1 over [0, 1]; a score of exactly 1 falls in the last. */
export const SCORE_BINS = 10;

export function scoreHistogram(scores: readonly number[]): HistogramBin[] {
  const bins = Array.from({ length: SCORE_BINS }, (_, i) => ({ from: i / SCORE_BINS, to: (i + 1) / SCORE_BINS, count: 0 }));
  for (const score of scores) bins[Math.min(SCORE_BINS - 1, Math.max(0, Math.floor(score * SCORE_BINS)))]!.count += 1;
  return bins;
}

/** Classified assets' top scores per predicted category (the confidence histograms' data). */
export function scoresByPredictedCategory(records: readonly AssetRecord[]): Map<string, number[]> {
  const byCategory = new Map<string, number[]>();
  for (const record of records) {
    if (record.evidence === undefined) continue;
    const category = record.evidence.category.topCategoryId ?? NO_CATEGORY;
    byCategory.set(category, [...(byCategory.get(category) ?? []), record.evidence.category.topScore]);
  }
  return new Map([...byCategory].sort(([a], [b]) => a.localeCompare(b)));
}

/** Classified assets with a resolved declared category, per (declared, predicted) pair. */
export function declaredVsPredicted(records: readonly AssetRecord[]): Map<string, Map<string, number>> {
  const matrix = new Map<string, Map<string, number>>();
  for (const record of records) {
    const declared = record.listing.declaredCategoryId;
    if (record.evidence === undefined || declared === undefined || declared === '') continue;
    const predicted = record.evidence.category.topCategoryId ?? NO_CATEGORY;
    const row = matrix.get(declared) ?? new Map<string, number>();
    row.set(predicted, (row.get(predicted) ?? 0) + 1);
    matrix.set(declared, row);
  }
  return matrix;
}

function latencyTable(latency: BatchKpis['latencyMs']): SafeHtml {
  const row = (name: string, summary: LatencySummary | null): SafeHtml =>
    html`<tr data-latency="${name}"><td>${name}</td><td class="num">${summary?.n ?? 0}</td><td class="num">${duration(summary?.p50)}</td><td class="num">${duration(summary?.p95)}</td><td class="num">${duration(summary?.p99)}</td><td class="num">${duration(summary?.max)}</td></tr>`;
  return html`<table><thead><tr><th>Stage (per asset)</th><th class="num">n</th><th class="num">p50</th><th class="num">p95</th><th class="num">p99</th><th class="num">max</th></tr></thead><tbody>${Object.entries(
    latency,
  ).map(([name, summary]) => row(name === 'decision' ? 'run start → decision' : name, summary))}</tbody></table>`;
}

function driftSection(title: string, chart: string, drift: MixDrift, facts: BatchDrift): SafeHtml {
  if (drift.psi === null) {
    const why =
      facts.baselineBatches.length === 0 ? 'no baseline yet' : `baseline too small (${facts.baselineAssets} assets, ${facts.minBaselineAssets} needed)`;
    return html`<h3>${title}</h3><p class="note" data-drift-empty="${chart}">PSI not computed: ${why}.</p>`;
  }
  const bins = drift.terms.map((term) => ({ label: term.bin, current: term.current, baseline: term.baseline }));
  return html`<h3>${title}: PSI ${decimal(drift.psi)}</h3>${pairedBars(chart, `${title} (shares; empty bins count as ε = ${facts.epsilon})`, bins)}`;
}

function reviewSection(kpis: BatchKpis): SafeHtml {
  const review = kpis.review;
  if (review.decisions === 0) {
    return html`<p class="note" data-review-empty="">No reviews yet: ${review.openReviews} asset(s) wait for a person. Turnaround, agreement and gold accuracy appear once reviewers decide.</p>`;
  }
  const agreement = review.agreement;
  const gold = review.goldAccuracy;
  const turnaround = review.turnaroundMs;
  return html`<div class="grid">
${kpi('decisions', String(review.decisions))}${kpi('final reviews', String(review.finalReviews), `${review.openReviews} still open`)}
${kpi('turnaround p50 / p95', turnaround === null ? 'none final yet' : `${duration(turnaround.p50)} / ${duration(turnaround.p95)}`, 'review message → final review')}
${kpi('time to label p50', duration(review.timeToLabelMs?.p50))}
${kpi('agreement (AC1)', agreement === null ? 'no double reviews yet' : decimal(agreement.ac1, 2), agreement === null ? undefined : `raw ${percent(agreement.raw)}, κ ${decimal(agreement.kappa, 2)}, ${agreement.items} items`)}
${kpi('gold accuracy', gold === null ? 'no gold answers yet' : percent(gold.accuracy), gold === null ? undefined : `${gold.correct} of ${gold.items}`)}
</div>${
    agreement === null
      ? ''
      : barChart(
          'agreement-per-class',
          'Specific agreement per label',
          Object.entries(agreement.perClass).map(([label, value]) => ({ label, value: value ?? 0, caption: percent(value), tone: 'info' as const })),
          { max: 1 },
        )
  }`;
}

function exceptionsTable(records: readonly AssetRecord[]): SafeHtml {
  const shown = records.filter((record) => needsReview(record) || record.outcome === 'REJECTED_INPUT' || record.outcome === 'FAILED').slice(0, 50);
  if (shown.length === 0) return html`<p class="note">None.</p>`;
  const rows = shown.map(
    (record) =>
      html`<tr data-exception="${record.assetKey}"><td>${record.listing.assetId ?? record.assetKey}</td><td>${record.listing.merchantId ?? ''}</td><td>${record.listing.title ?? ''}</td><td>${record.outcome}${record.auditSampled === true ? ' (audit)' : ''}</td><td>${record.reasons.join(', ')}</td><td>${record.reviewStatus ?? 'not reviewed'}${record.reviewOutcome === undefined ? '' : `: ${record.reviewOutcome}`}</td></tr>`,
  );
  return html`<table><thead><tr><th>Asset</th><th>Merchant</th><th>Title</th><th>Outcome</th><th>Reasons</th><th>Review</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderBatchPage(facts: BatchReportFacts, records: readonly AssetRecord[], generatedAt: string): string {
  const { kpis, gates, drift } = facts;
  const sorted = [...records].sort((a, b) => a.assetKey.localeCompare(b.assetKey));
  const reasons = (Object.entries(facts.reasons) as Array<[ReasonCode, number]>).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const confidence = scoresByPredictedCategory(sorted);
  const matrix = declaredVsPredicted(sorted);
  const declared = [...matrix.keys()].sort();
  const predicted = [...new Set([...matrix.values()].flatMap((row) => [...row.keys()]))].sort();
  const throughput = kpis.throughput.assetsPerMinute;
  const body = html`
<section data-section="gates"><h2>Quality gates: <span class="badge ${gates.overall}" data-gates-overall="${gates.overall}">${gates.overall}</span></h2>${gatesTable(gates)}<p class="note">Thresholds: config/quality-gates.json ${gates.version}.</p></section>
<section data-section="kpis"><h2>Key figures</h2><div class="grid">
${kpi('assets', String(facts.assets))}
${kpi('throughput', throughput === null ? 'n/a' : `${throughput.toFixed(1)} / min`, `${kpis.throughput.decidedInRun} decided in ${kpis.throughput.minutes.toFixed(2)} min`)}
${kpi('review rate', percent(kpis.reviewRate), `${facts.sentToReview} sent (${facts.auditSamples} audit samples)`)}
${kpi('reject rate', percent(kpis.rejectRate))}
${kpi('category drift (PSI)', drift.category.psi === null ? 'no baseline yet' : decimal(drift.category.psi))}
${kpi('policy drift (PSI)', drift.policy.psi === null ? 'no baseline yet' : decimal(drift.policy.psi))}
</div><h3>Latency</h3>${latencyTable(kpis.latencyMs)}
<h3>Class balance (declared category)</h3>${barChart(
    'class-balance',
    'Assets per declared category',
    Object.entries(kpis.classBalance.declared).map(([label, value]) => ({ label, value, tone: 'neutral' as const })),
  )}</section>
<section data-section="outcomes"><h2>Outcome mix</h2>${barChart(
    'outcomes',
    'Assets per outcome',
    OUTCOMES.map((outcome) => ({ label: outcome, value: facts.outcomes[outcome], tone: OUTCOME_TONE[outcome] })),
  )}</section>
<section data-section="reasons"><h2>Reason codes</h2>${barChart(
    'reasons',
    'Assets per reason code',
    reasons.map(([code, value]) => ({ label: code, value, tone: 'warn' as const })),
  )}
${reasons.length === 0 ? '' : html`<table>${reasons.map(([code]) => html`<tr><td>${code}</td><td class="note">${REASON_CODES[code]}</td></tr>`)}</table>`}</section>
<section data-section="confidence"><h2>Confidence per predicted category</h2><p class="note">Top category score of each classified asset, in tenths.</p><div class="grid">${[
    ...confidence,
  ].map(
    ([category, scores]) =>
      html`<figure data-category="${category}">${histogram('confidence', `Top score, predicted ${category}`, scoreHistogram(scores), { label: 'top score' })}<figcaption>${category} (${scores.length})</figcaption></figure>`,
  )}</div>${confidence.size === 0 ? html`<p class="note">No classified assets.</p>` : ''}</section>
<section data-section="matrix"><h2>Declared vs predicted category</h2><p class="note">Rows: declared; columns: predicted. Green: same category.</p>${matrixChart(
    'declared-vs-predicted',
    'Declared vs predicted category',
    declared,
    predicted,
    (row, col) => matrix.get(row)?.get(col) ?? 0,
    (row, col) => row === col,
  )}</section>
<section data-section="review"><h2>Review</h2>${reviewSection(kpis)}</section>
<section data-section="drift"><h2>Drift against the baseline</h2><p class="note">Baseline: ${drift.baselineBatches.length} other batch(es) from the ${drift.baselineDays} days before ${facts.dt} and that day (${drift.baselineAssets} classified assets).</p>
${driftSection('Predicted-category mix', 'drift-category', drift.category, drift)}${driftSection('Policy-hit mix', 'drift-policy', drift.policy, drift)}</section>
<section data-section="exceptions"><h2>Assets that need a person, or were rejected or failed</h2>${exceptionsTable(sorted)}</section>`;
  return page(
    `Batch ${facts.batchId}`,
    html`${facts.assets} assets · dt=${facts.dt} · received ${facts.receivedAt} · completed ${facts.completedAt} · ${facts.archiveKey}`,
    body,
    html`media-triage ${facts.versions.pipeline} · taxonomy ${facts.versions.taxonomy} · triage policy ${facts.versions.policy} · generated ${generatedAt}`,
  );
}
