/**
 * How many assets of a batch failed and why: FAILED records counted per error code — the AWS error name a stage
 * recorded (`SlowDown`, `ThrottlingException`, `ModelCallTimeout`, …), else the record's first reason code
 * (`NOT_PROCESSED` for an asset whose whole map child failed).
 */
import type { AssetRecord } from './records';

export function failureCode(record: Pick<AssetRecord, 'failure' | 'reasons'>): string {
  return record.failure?.code ?? record.reasons[0] ?? 'UNKNOWN';
}

export function failureCounts(records: ReadonlyArray<Pick<AssetRecord, 'outcome' | 'failure' | 'reasons'>>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) {
    if (record.outcome !== 'FAILED') continue;
    const code = failureCode(record);
    counts[code] = (counts[code] ?? 0) + 1;
  }
  return counts;
}
