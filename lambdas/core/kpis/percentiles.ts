/**
 * Percentiles by the nearest-rank method: the p-th percentile of n sorted values is the value at rank ⌈p/100 · n⌉
 * (1-based). No interpolation, so every figure is a latency that really occurred and can be checked by hand.
 */

export interface LatencySummary {
  /** Values the percentiles are taken over. */
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) throw new Error('percentile of no values');
  if (!(p > 0 && p <= 100)) throw new Error(`percentile ${p} is outside (0, 100]`);
  const rank = Math.ceil((p / 100) * sortedAscending.length);
  return sortedAscending[rank - 1]!;
}

/** p50/p95/p99 and max of the values, or null when there are none. */
export function latencySummary(values: readonly number[]): LatencySummary | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1)! };
}
