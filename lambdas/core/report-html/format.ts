/** Number formats the report pages share. Missing figures read as words, never as 0. */

export function percent(value: number | null | undefined, missing = '—'): string {
  return value === null || value === undefined ? missing : `${(value * 100).toFixed(1)}%`;
}

export function decimal(value: number | null | undefined, digits = 3, missing = '—'): string {
  return value === null || value === undefined ? missing : value.toFixed(digits);
}

export function duration(ms: number | null | undefined, missing = '—'): string {
  if (ms === null || ms === undefined) return missing;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
