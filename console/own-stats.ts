/**
 * The reviewer's own figures from the team's review stats: their decisions, median time to label, and their accuracy
 * on gold (known-answer) items as one aggregate — never per item, and only from `MIN_GOLD_ANSWERS_SHOWN` gold answers
 * on, so the figure appearing right after a decision does not tell the reviewer that item was gold. (It can still
 * move after a later gold answer; the share of gold items is small and they are not named.) Nothing about other
 * reviewers is passed on.
 */
import type { ReviewStats } from '../lambdas/adapters/review-stats';

export const MIN_GOLD_ANSWERS_SHOWN = 5;

export interface OwnStats {
  reviewerId: string;
  from: string;
  to: string;
  decisions: number;
  medianTimeToLabelMs: number | null;
  goldAccuracy: number | null;
  /** Items visible in the review queue (anyone's to claim). */
  pending: number;
}

export function ownStats(stats: ReviewStats, reviewerId: string): OwnStats {
  const own = stats.reviewers.find((reviewer) => reviewer.reviewerId === reviewerId);
  const gold = stats.goldAccuracy.perReviewer.find((reviewer) => reviewer.reviewerId === reviewerId);
  return {
    reviewerId,
    from: stats.from,
    to: stats.to,
    decisions: own?.decisions ?? 0,
    medianTimeToLabelMs: own?.medianTimeToLabelMs ?? null,
    goldAccuracy: gold !== undefined && gold.items >= MIN_GOLD_ANSWERS_SHOWN ? gold.accuracy : null,
    pending: stats.pending.visible,
  };
}
