/**
 * Gold items: assets with a known answer (a reviewed decision promoted to gold, or the seed set), mixed into
 * reviewers' queues at the review policy's rate and shown exactly like any other task, so a reviewer cannot tell them
 * apart. A decision on a gold item scores the reviewer and never changes the asset's record.
 */
import { createHash } from 'node:crypto';
import type { ReviewDecision } from './decisions';
import type { ReviewLabel } from './labels';

export interface GoldItem {
  batchId: string;
  assetKey: string;
  label: ReviewLabel;
  /** Where the known answer comes from: 'seed' (documented seed set) or 'promoted:<reviewTaskId>'. */
  source: string;
}

/**
 * Whether a reviewer's n-th claim is a gold item: a deterministic draw from (reviewer, claim number), so the mix is
 * reproducible in tests and audits yet not guessable from the queue.
 */
export function isGoldTurn(reviewerId: string, claimNumber: number, rate: number): boolean {
  if (rate <= 0) return false;
  const digest = createHash('sha256').update(`gold\n${reviewerId}\n${claimNumber}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32 < rate;
}

export interface GoldAccuracy {
  reviewerId: string;
  items: number;
  correct: number;
  accuracy: number | null;
}

/** Accuracy on gold per reviewer (each reviewer's first decision per gold item). */
export function goldAccuracy(decisions: readonly ReviewDecision[], gold: ReadonlyMap<string, GoldItem>): GoldAccuracy[] {
  const seen = new Set<string>();
  const perReviewer = new Map<string, { items: number; correct: number }>();
  for (const decision of [...decisions].sort((a, b) => a.decidedAt.localeCompare(b.decidedAt))) {
    if (decision.role !== 'gold') continue;
    const item = gold.get(goldKey(decision));
    const once = `${decision.reviewerId}\n${goldKey(decision)}`;
    if (item === undefined || seen.has(once)) continue;
    seen.add(once);
    const tally = perReviewer.get(decision.reviewerId) ?? { items: 0, correct: 0 };
    tally.items += 1;
    if (decision.label === item.label) tally.correct += 1;
    perReviewer.set(decision.reviewerId, tally);
  }
  return [...perReviewer]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([reviewerId, tally]) => ({ reviewerId, ...tally, accuracy: tally.items === 0 ? null : tally.correct / tally.items }));
}

export function goldKey(item: { batchId: string; assetKey: string }): string {
  return `${item.batchId}/${item.assetKey}`;
}
