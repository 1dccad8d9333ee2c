/**
 * Population stability index of a categorical mix against a baseline mix:
 *
 *   PSI = Σ_i (a_i − b_i) · ln(a_i / b_i)
 *
 * over the union of bins, a_i / b_i being bin i's share of the current / baseline counts. A share below ε (empty bin,
 * or nearly so) is replaced by ε before the sum — the usual smoothing that keeps the log finite when a category
 * appears on one side only; shares are not renormalized, so the figure is easy to recompute by hand. Read as the
 * industry rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 significant shift.
 */

export type Mix = Readonly<Record<string, number>>;

export interface PsiTerm {
  bin: string;
  current: number;
  baseline: number;
  /** This bin's contribution to the PSI. */
  term: number;
}

export interface PsiResult {
  psi: number;
  terms: PsiTerm[];
}

function total(mix: Mix): number {
  return Object.values(mix).reduce((sum, count) => sum + count, 0);
}

/** PSI of `current` against `baseline` (counts per bin); null when either side has no counts. */
export function populationStabilityIndex(current: Mix, baseline: Mix, epsilon: number): PsiResult | null {
  if (!(epsilon > 0 && epsilon < 1)) throw new Error(`epsilon ${epsilon} must be in (0, 1)`);
  const currentTotal = total(current);
  const baselineTotal = total(baseline);
  if (currentTotal === 0 || baselineTotal === 0) return null;
  const bins = [...new Set([...Object.keys(current), ...Object.keys(baseline)])].sort();
  const terms = bins.map((bin) => {
    const a = Math.max((current[bin] ?? 0) / currentTotal, epsilon);
    const b = Math.max((baseline[bin] ?? 0) / baselineTotal, epsilon);
    return { bin, current: a, baseline: b, term: (a - b) * Math.log(a / b) };
  });
  return { psi: terms.reduce((sum, term) => sum + term.term, 0), terms };
}

/** Sum of several mixes (the baseline window's batches). */
export function addMixes(mixes: readonly Mix[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const mix of mixes) for (const [bin, count] of Object.entries(mix)) sum[bin] = (sum[bin] ?? 0) + count;
  return sum;
}
