/**
 * Inter-reviewer agreement on nominal labels: raw (observed) agreement, Cohen's kappa per reviewer pair, per-class
 * specific agreement, and Gwet's AC1, which stays meaningful when one label dominates — kappa's chance correction
 * collapses there (the "kappa paradox": 90% raw agreement on a 95/5 split can give a kappa near zero).
 *
 * Input: one entry per item (review task) with the labels its reviewers gave; items with fewer than two labels carry
 * no agreement information and are skipped.
 */

export interface RatedItem {
  itemId: string;
  /** reviewerId → label */
  labels: ReadonlyMap<string, string>;
  /** When the item's last label was given (for time windows). */
  at?: string;
}

export interface PairAgreement {
  reviewers: [string, string];
  items: number;
  raw: number | null;
  kappa: number | null;
}

export interface AgreementSummary {
  /** Items with at least two labels. */
  items: number;
  /** Mean over items of the share of agreeing rater pairs. */
  raw: number | null;
  /** Mean of the pairwise Cohen's kappas, weighted by the items each pair shares (null when no pair is defined). */
  kappa: number | null;
  /** Gwet's AC1 over all items (multi-rater form). */
  ac1: number | null;
  pairs: PairAgreement[];
  /** Specific agreement per label: agreeing rating pairs on the label / all rating pairs involving it. */
  perClass: Record<string, number | null>;
}

function ratedItems(items: readonly RatedItem[]): RatedItem[] {
  return items.filter((item) => item.labels.size >= 2);
}

/** Observed agreement: per item, agreeing ordered rater pairs / all ordered rater pairs; averaged over items. */
export function rawAgreement(items: readonly RatedItem[]): number | null {
  const rated = ratedItems(items);
  if (rated.length === 0) return null;
  let total = 0;
  for (const item of rated) {
    const counts = labelCounts(item);
    const r = item.labels.size;
    let agreeing = 0;
    for (const n of counts.values()) agreeing += n * (n - 1);
    total += agreeing / (r * (r - 1));
  }
  return total / rated.length;
}

function labelCounts(item: RatedItem): Map<string, number> {
  const counts = new Map<string, number>();
  for (const label of item.labels.values()) counts.set(label, (counts.get(label) ?? 0) + 1);
  return counts;
}

/** Cohen's kappa for two reviewers over the items both labelled: (po − pe) / (1 − pe). */
export function cohensKappa(items: readonly RatedItem[], a: string, b: string): PairAgreement {
  const shared = items.filter((item) => item.labels.has(a) && item.labels.has(b));
  const n = shared.length;
  if (n === 0) return { reviewers: [a, b], items: 0, raw: null, kappa: null };
  const marginalA = new Map<string, number>();
  const marginalB = new Map<string, number>();
  let agree = 0;
  for (const item of shared) {
    const la = item.labels.get(a)!;
    const lb = item.labels.get(b)!;
    if (la === lb) agree += 1;
    marginalA.set(la, (marginalA.get(la) ?? 0) + 1);
    marginalB.set(lb, (marginalB.get(lb) ?? 0) + 1);
  }
  const po = agree / n;
  let pe = 0;
  for (const [label, count] of marginalA) pe += (count / n) * ((marginalB.get(label) ?? 0) / n);
  // Both reviewers used one and the same label throughout: agreement is perfect but kappa is undefined (0/0).
  const kappa = pe === 1 ? null : (po - pe) / (1 - pe);
  return { reviewers: [a, b], items: n, raw: po, kappa };
}

/**
 * Gwet's AC1, multi-rater form (Gwet 2008): pa = mean over items of Σ_k r_ik(r_ik − 1) / (r_i(r_i − 1));
 * π_k = mean over items of r_ik / r_i; pe = Σ_k π_k(1 − π_k) / (K − 1), K the number of labels in use (at least 2).
 */
export function gwetAc1(items: readonly RatedItem[], labelSet?: readonly string[]): number | null {
  const rated = ratedItems(items);
  if (rated.length === 0) return null;
  const labels = new Set(labelSet ?? []);
  for (const item of rated) for (const label of item.labels.values()) labels.add(label);
  const k = Math.max(labels.size, 2);
  const pa = rawAgreement(rated)!;
  const pi = new Map<string, number>();
  for (const item of rated) {
    for (const [label, count] of labelCounts(item)) pi.set(label, (pi.get(label) ?? 0) + count / item.labels.size / rated.length);
  }
  let pe = 0;
  for (const share of pi.values()) pe += share * (1 - share);
  pe /= k - 1;
  return pe === 1 ? null : (pa - pe) / (1 - pe);
}

/**
 * Specific agreement per label: ps_k = Σ_i n_ik(n_ik − 1) / Σ_i n_ik(n_i − 1) — of the rater pairs in which one rater
 * chose k, the share where the other did too (for two raters, 2a / (2a + b + c)).
 */
export function perClassAgreement(items: readonly RatedItem[]): Record<string, number | null> {
  const agreeing = new Map<string, number>();
  const involving = new Map<string, number>();
  for (const item of ratedItems(items)) {
    const r = item.labels.size;
    for (const [label, n] of labelCounts(item)) {
      agreeing.set(label, (agreeing.get(label) ?? 0) + n * (n - 1));
      involving.set(label, (involving.get(label) ?? 0) + n * (r - 1));
    }
  }
  const result: Record<string, number | null> = {};
  for (const [label, total] of [...involving].sort(([a], [b]) => a.localeCompare(b))) result[label] = total === 0 ? null : (agreeing.get(label) ?? 0) / total;
  return result;
}

export function agreementSummary(items: readonly RatedItem[]): AgreementSummary {
  const rated = ratedItems(items);
  const reviewers = [...new Set(rated.flatMap((item) => [...item.labels.keys()]))].sort();
  const pairs: PairAgreement[] = [];
  for (let i = 0; i < reviewers.length; i += 1) {
    for (let j = i + 1; j < reviewers.length; j += 1) {
      const pair = cohensKappa(rated, reviewers[i]!, reviewers[j]!);
      if (pair.items > 0) pairs.push(pair);
    }
  }
  const defined = pairs.filter((pair) => pair.kappa !== null);
  const weight = defined.reduce((sum, pair) => sum + pair.items, 0);
  return {
    items: rated.length,
    raw: rawAgreement(rated),
    kappa: weight === 0 ? null : defined.reduce((sum, pair) => sum + pair.kappa! * pair.items, 0) / weight,
    ac1: gwetAc1(rated),
    pairs,
    perClass: perClassAgreement(rated),
  };
}

/** Agreement per time window (UTC day or ISO week of each item's last label), oldest first. */
export function agreementByWindow(items: readonly RatedItem[], window: 'day' | 'week'): Array<{ window: string } & AgreementSummary> {
  const groups = new Map<string, RatedItem[]>();
  for (const item of ratedItems(items)) {
    if (item.at === undefined) continue;
    const key = window === 'day' ? item.at.slice(0, 10) : isoWeek(item.at);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([key, group]) => ({ window: key, ...agreementSummary(group) }));
}

function isoWeek(iso: string): string {
  const date = new Date(`${iso.slice(0, 10)}T00:00:00Z`);
  const day = (date.getUTCDay() + 6) % 7;
  date.setUTCDate(date.getUTCDate() - day + 3);
  const firstThursday = new Date(Date.UTC(date.getUTCFullYear(), 0, 4));
  const week = 1 + Math.round(((date.getTime() - firstThursday.getTime()) / 86_400_000 - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7);
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
