/** How review commands print for a person (the `--json` forms print the objects as they are). */
import type { ReviewStats } from '../lambdas/adapters/review-stats';
import type { CaseView } from '../lambdas/core/review/case-view';

const percent = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`);
const fixed = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : value.toFixed(3));

function bar(score: number, width = 20): string {
  const filled = Math.round(Math.max(0, Math.min(1, score)) * width);
  return `${'█'.repeat(filled)}${'·'.repeat(width - filled)}`;
}

export function formatCase(view: CaseView, claimExpiresAt: string): string {
  const lines: string[] = [];
  lines.push(`${view.batchId} / ${view.assetKey}${view.assetId === undefined ? '' : `  (asset ${view.assetId}, merchant ${view.merchantId ?? '?'})`}`);
  lines.push(
    `  image      ${view.image.location ?? '(no image)'}${view.image.width === undefined ? '' : `  ${view.image.width}×${view.image.height} ${view.image.format ?? ''}`}`,
  );
  lines.push(
    `  declared   ${view.declared.name ?? '?'} (${view.declared.id ?? '?'})${view.declared.asGiven !== undefined && view.declared.asGiven !== view.declared.name ? `, given as "${view.declared.asGiven}"` : ''}`,
  );
  lines.push(`  title      ${view.listing.title ?? ''}`);
  if (view.listing.description !== undefined) lines.push(`  description ${view.listing.description}`);
  if (view.listing.price !== undefined) lines.push(`  price      ${view.listing.price} ${view.listing.currency ?? ''}`);
  if (view.predicted.length > 0) {
    lines.push('  predicted');
    for (const p of view.predicted) lines.push(`    ${p.name.padEnd(24)} ${bar(p.score)} ${p.score.toFixed(3)}`);
  }
  if (view.policy.length > 0) {
    lines.push('  policy');
    for (const p of view.policy)
      lines.push(`    ${p.classId.padEnd(24)} ${bar(p.score)} ${p.score.toFixed(3)}${p.sensitive ? '  ≥ threshold' : p.borderline ? '  borderline' : ''}`);
  }
  lines.push(`  outcome    ${view.outcome}`);
  for (const reason of view.reasons) lines.push(`  reason     ${reason.code}: ${reason.meaning}`);
  lines.push(`  why        ${view.explanation}`);
  lines.push(
    '',
    `Claimed until ${claimExpiresAt}. Decide with: media-triage review decide ${view.assetKey} --label approve|reject|recategorize:<category> --reviewer <you>`,
  );
  return lines.join('\n');
}

export function formatStats(stats: ReviewStats): string {
  const lines: string[] = [];
  lines.push(
    `Review work ${stats.from.slice(0, 10)} – ${stats.to.slice(0, 10)}: ${stats.decisions} decisions; pending ${stats.pending.visible} waiting, ${stats.pending.claimed} claimed`,
  );
  for (const reviewer of stats.reviewers) {
    const median = reviewer.medianTimeToLabelMs === null ? '—' : `${Math.round(reviewer.medianTimeToLabelMs / 1000)} s`;
    lines.push(`  ${reviewer.reviewerId.padEnd(20)} ${String(reviewer.decisions).padStart(5)} decisions, median time to label ${median}`);
  }
  const a = stats.agreement;
  lines.push(`Agreement over ${a.items} double-reviewed items: raw ${percent(a.raw)}, Cohen's kappa ${fixed(a.kappa)}, Gwet's AC1 ${fixed(a.ac1)}`);
  for (const [label, value] of Object.entries(a.perClass)) lines.push(`  ${label.padEnd(32)} specific agreement ${percent(value)}`);
  for (const pair of a.pairs)
    lines.push(`  ${pair.reviewers.join(' × ').padEnd(32)} ${pair.items} shared, raw ${percent(pair.raw)}, kappa ${fixed(pair.kappa)}`);
  lines.push(`Gold accuracy: ${percent(stats.goldAccuracy.overall)} over ${stats.goldAccuracy.items} answers`);
  for (const r of stats.goldAccuracy.perReviewer) lines.push(`  ${r.reviewerId.padEnd(20)} ${r.correct}/${r.items} ${percent(r.accuracy)}`);
  return lines.join('\n');
}
