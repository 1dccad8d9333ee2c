/** The reviewer's own stats: only their figures, gold accuracy as an aggregate and only past the minimum sample. */
import { describe, expect, it } from 'vitest';
import type { ReviewStats } from '../../lambdas/adapters/review-stats';
import { MIN_GOLD_ANSWERS_SHOWN, ownStats } from '../../console/own-stats';

function teamStats(goldItems: number): ReviewStats {
  const agreement = { items: 0, raw: null, kappa: null, ac1: null, pairs: [], perClass: {} };
  return {
    from: '2026-11-01T00:00:00.000Z',
    to: '2026-12-01T00:00:00.000Z',
    decisions: 12,
    reviewers: [
      { reviewerId: 'alice', decisions: 9, medianTimeToLabelMs: 4200 },
      { reviewerId: 'bob', decisions: 3, medianTimeToLabelMs: 900 },
    ],
    pending: { visible: 4, claimed: 1 },
    agreement,
    agreementByDay: [],
    goldAccuracy: {
      overall: 0.5,
      items: goldItems + 2,
      perReviewer: [
        { reviewerId: 'alice', items: goldItems, correct: goldItems - 1, accuracy: (goldItems - 1) / goldItems },
        { reviewerId: 'bob', items: 2, correct: 2, accuracy: 1 },
      ],
    },
  };
}

describe('ownStats', () => {
  it('gives a reviewer their own decisions, median and gold accuracy once they have enough gold answers', () => {
    expect(ownStats(teamStats(MIN_GOLD_ANSWERS_SHOWN), 'alice')).toEqual({
      reviewerId: 'alice',
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
      decisions: 9,
      medianTimeToLabelMs: 4200,
      goldAccuracy: (MIN_GOLD_ANSWERS_SHOWN - 1) / MIN_GOLD_ANSWERS_SHOWN,
      pending: 4,
    });
  });

  it('hides gold accuracy below the minimum sample, so its first appearance marks no item as gold', () => {
    expect(ownStats(teamStats(MIN_GOLD_ANSWERS_SHOWN - 1), 'alice').goldAccuracy).toBeNull();
    expect(ownStats(teamStats(MIN_GOLD_ANSWERS_SHOWN), 'bob').goldAccuracy).toBeNull();
  });

  it('a reviewer with no decisions gets zeros, not someone else’s figures', () => {
    expect(ownStats(teamStats(MIN_GOLD_ANSWERS_SHOWN), 'carol')).toMatchObject({ decisions: 0, medianTimeToLabelMs: null, goldAccuracy: null });
  });
});
