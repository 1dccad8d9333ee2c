/** A record as a person reads it (`media-triage show`). */
import type { AssetRecord } from '../lambdas/core/records';

export function formatRecord(record: AssetRecord): string {
  const lines: string[] = [];
  const { listing } = record;
  lines.push(`${record.assetKey}  ${record.outcome}${record.reasons.length > 0 ? `  ${record.reasons.join(', ')}` : ''}`);
  lines.push(`  asset ${listing.assetId ?? '?'} · merchant ${listing.merchantId ?? '?'} · file ${record.file ?? '?'} · row ${record.rowNumber ?? '?'}`);
  lines.push(`  declared ${listing.declaredCategory ?? '?'} (${listing.declaredCategoryId ?? '?'}) · title "${listing.title ?? ''}"`);
  lines.push(`  ${record.explanation}`);
  const category = record.evidence?.category;
  if (category !== undefined) {
    lines.push(`  image: top ${category.topCategoryId ?? '—'} ${category.topScore.toFixed(3)}, declared support ${category.declaredSupport.toFixed(3)}`);
  }
  for (const policy of record.evidence?.policy ?? [])
    if (policy.score > 0.01) lines.push(`  policy ${policy.classId} ${policy.score.toFixed(3)} (review at ${policy.threshold})`);
  const models = [record.lineage.categoryModel, record.lineage.policyModel].filter((m) => m !== undefined);
  lines.push(
    `  lineage: pipeline ${record.lineage.pipelineVersion}, taxonomy ${record.lineage.taxonomyVersion}, policy ${record.lineage.policyVersion}${models.map((m) => `, ${m.modelId} ${m.modelVersion} (${m.variant || 'no variant'})`).join('')}`,
  );
  lines.push(`  decided by ${record.decidedBy} at ${record.decidedAt}`);
  if (record.reviewRevision !== undefined) {
    const sent = record.reviewMessageId === undefined ? 'no message yet' : `message ${record.reviewMessageId}`;
    lines.push(
      `  review: revision ${record.reviewRevision}, ${sent}${record.reviewStatus === undefined ? '' : `, ${record.reviewStatus}`}${record.reviewOutcome === undefined ? '' : ` → ${record.reviewOutcome} (${record.reviewOutcomeBy})`}`,
    );
  }
  return lines.join('\n');
}
