/**
 * The daily roll-up page (pure): every batch whose report partition is the day — outcome mix and reason codes
 * summed, each batch's gates, review rate, drift and throughput — with links to the batch pages beside it.
 */
import type { BatchReportFacts } from './batch-page';
import { OUTCOME_TONE } from './batch-page';
import { barChart, type Tone } from './charts';
import { decimal, percent } from './format';
import { html, type SafeHtml } from './html';
import { badge, kpi, page } from './page';
import { emptyOutcomeCounts, OUTCOMES, type ReasonCode } from '../outcomes';
import type { GateStatus } from '../gates/quality-gates';

const GATE_TONE: Record<Exclude<GateStatus, 'skipped'>, Tone> = { pass: 'good', warn: 'warn', fail: 'bad' };

/** The batch page's path relative to the roll-up page (reports/html/dt=<day>/rollup.html). */
export function batchPageLink(batchId: string): string {
  return `batch_id=${encodeURIComponent(batchId)}/index.html`;
}

export function renderRollupPage(date: string, batches: readonly BatchReportFacts[], generatedAt: string): string {
  const sorted = [...batches].sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.batchId.localeCompare(b.batchId));
  const outcomes = emptyOutcomeCounts();
  const reasons = new Map<ReasonCode, number>();
  let assets = 0;
  let sent = 0;
  for (const batch of sorted) {
    assets += batch.assets;
    sent += batch.sentToReview;
    for (const outcome of OUTCOMES) outcomes[outcome] += batch.outcomes[outcome];
    for (const [code, count] of Object.entries(batch.reasons) as Array<[ReasonCode, number]>) reasons.set(code, (reasons.get(code) ?? 0) + count);
  }
  const gateCounts = { pass: 0, warn: 0, fail: 0 };
  for (const batch of sorted) gateCounts[batch.gates.overall] += 1;
  const rows: SafeHtml[] = sorted.map(
    (batch) =>
      html`<tr data-batch="${batch.batchId}"><td><a href="${batchPageLink(batch.batchId)}">${batch.batchId}</a></td><td class="num">${batch.assets}</td>${OUTCOMES.map(
        (outcome) => html`<td class="num">${batch.outcomes[outcome]}</td>`,
      )}<td class="num">${percent(batch.kpis.reviewRate)}</td><td class="num">${batch.drift.category.psi === null ? '—' : decimal(batch.drift.category.psi)}</td><td class="num">${batch.kpis.throughput.assetsPerMinute === null ? 'n/a' : batch.kpis.throughput.assetsPerMinute.toFixed(1)}</td><td>${badge(batch.gates.overall)}</td><td class="note">${batch.gates.gates
        .filter((gate) => gate.status === 'warn' || gate.status === 'fail')
        .map((gate) => `${gate.gate} ${gate.status}`)
        .join(', ')}</td></tr>`,
  );
  const body = html`
<section data-section="day"><h2>The day</h2><div class="grid">
${kpi('batches', String(sorted.length))}${kpi('assets', String(assets))}${kpi('sent to review', String(sent), assets === 0 ? undefined : percent(sent / assets))}
${kpi('gates', `${gateCounts.pass} pass · ${gateCounts.warn} warn · ${gateCounts.fail} fail`)}
</div></section>
<section data-section="outcomes"><h2>Outcome mix (all batches)</h2>${barChart(
    'outcomes',
    'Assets per outcome, all batches of the day',
    OUTCOMES.map((outcome) => ({ label: outcome, value: outcomes[outcome], tone: OUTCOME_TONE[outcome] })),
  )}</section>
<section data-section="reasons"><h2>Reason codes (all batches)</h2>${barChart(
    'reasons',
    'Assets per reason code, all batches of the day',
    [...reasons].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)).map(([label, value]) => ({ label, value, tone: 'warn' as const })),
  )}</section>
<section data-section="review-rate"><h2>Review rate per batch</h2>${barChart(
    'review-rate',
    'Share of assets sent to a person, per batch',
    sorted.map((batch) => ({
      label: batch.batchId,
      value: batch.kpis.reviewRate ?? 0,
      caption: percent(batch.kpis.reviewRate),
      tone: GATE_TONE[batch.gates.overall],
    })),
    { max: 1 },
  )}</section>
<section data-section="batches"><h2>Batches</h2><table data-table="batches"><thead><tr><th>Batch</th><th class="num">Assets</th>${OUTCOMES.map(
    (outcome) => html`<th class="num">${outcome}</th>`,
  )}<th class="num">Review rate</th><th class="num">Category PSI</th><th class="num">Assets/min</th><th>Gates</th><th></th></tr></thead><tbody>${rows}</tbody></table>${
    sorted.length === 0 ? html`<p class="note">No batch was reported on ${date}.</p>` : ''
  }</section>`;
  return page(`Daily roll-up ${date}`, html`${sorted.length} batch(es) with report partition dt=${date}`, body, html`generated ${generatedAt}`);
}
