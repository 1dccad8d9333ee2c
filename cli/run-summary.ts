/** The human-readable summary of a completed run (the --json form is the RunSummary object itself). */
import { OUTCOMES, REASON_CODES, type ReasonCode } from '../lambdas/core/outcomes';
import type { RunResult, RunSummary } from '../local/run-batch';

export function formatSummary(summary: RunSummary, run: Pick<RunResult, 'attention'>): string {
  const lines: string[] = [];
  lines.push('', `Batch ${summary.batchId}  (${summary.assets} assets, dt=${summary.dt}, ${(summary.elapsedMs / 1000).toFixed(1)} s)`, '');
  lines.push('Outcomes');
  for (const outcome of OUTCOMES) lines.push(`  ${outcome.padEnd(15)} ${String(summary.outcomes[outcome]).padStart(4)}`);
  lines.push('', 'Reason codes');
  const reasons = Object.entries(summary.reasons) as Array<[ReasonCode, number]>;
  if (reasons.length === 0) lines.push('  (none)');
  for (const [code, count] of reasons) lines.push(`  ${code.padEnd(23)} ${String(count).padStart(4)}  ${REASON_CODES[code]}`);
  if (run.attention.length > 0) {
    lines.push('', 'Assets that need attention');
    for (const record of run.attention) {
      const id = record.listing.assetId ?? record.assetKey;
      lines.push(`  ${record.outcome.padEnd(14)} ${id.padEnd(12)} ${record.reasons.join(', ')}`);
      for (const line of wrap(record.explanation, 100)) lines.push(`  ${''.padEnd(14)} ${''.padEnd(12)} ${line}`);
    }
  }
  lines.push('', `Sent to the review queue: ${summary.sentToReview} (${summary.auditSamples} of them auto-passed audit samples)`);
  lines.push(`Records:  DynamoDB table ${summary.records.table} (local, in ${summary.records.stateDir ?? 'memory'})`);
  lines.push(`Reports:  ${summary.reportsDir ?? '(in memory)'}`);
  lines.push(`          ${summary.reports.assets}`, `          ${summary.reports.summary}`);
  lines.push(`Report page: ${summary.reportHtml ?? summary.reports.html}`);
  const flagged = summary.gates.gates.filter((gate) => gate.status === 'warn' || gate.status === 'fail');
  lines.push(
    `Quality gates: ${summary.gates.overall}${flagged.length === 0 ? '' : ` (${flagged.map((gate) => `${gate.gate} ${gate.status}: ${gate.value?.toFixed(3)}`).join(', ')})`}`,
  );
  lines.push(`Versions: pipeline ${summary.versions.pipeline}, taxonomy ${summary.versions.taxonomy}, triage policy ${summary.versions.policy}`);
  return lines.join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
