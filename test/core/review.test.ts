/**
 * The review core: labels, the review policy, consolidation with blind double review and adjudication, gold
 * scoring, and agreement statistics checked against hand-computed values.
 */
import { describe, expect, it } from 'vitest';
import {
  agreementByWindow,
  agreementSummary,
  cohensKappa,
  gwetAc1,
  perClassAgreement,
  rawAgreement,
  type RatedItem,
} from '../../lambdas/core/review/agreement';
import { consolidate, roleFor, type ReviewDecision } from '../../lambdas/core/review/decisions';
import { goldAccuracy, goldKey, isGoldTurn, type GoldItem } from '../../lambdas/core/review/gold';
import { InvalidLabelError, parseLabel, type ReviewLabel } from '../../lambdas/core/review/labels';
import { loadReviewPolicy, requiredReviewers } from '../../lambdas/core/review/review-policy';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';

/** Two reviewers' labels as a contingency table: [labelA, labelB, count]. */
function pairs(table: Array<[string, string, number]>, at = '2026-12-01T10:00:00.000Z'): RatedItem[] {
  const items: RatedItem[] = [];
  for (const [a, b, count] of table) {
    for (let i = 0; i < count; i += 1)
      items.push({
        itemId: `i${items.length}`,
        labels: new Map([
          ['alice', a],
          ['bob', b],
        ]),
        at,
      });
  }
  return items;
}

describe('agreement statistics (hand-computed)', () => {
  // The textbook 2×2 example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no.
  const textbook = pairs([
    ['yes', 'yes', 20],
    ['yes', 'no', 5],
    ['no', 'yes', 10],
    ['no', 'no', 15],
  ]);

  it('raw agreement 0.7, kappa 0.4 (pe = 0.5·0.6 + 0.5·0.4), AC1 (0.7 − 0.495) / 0.505', () => {
    expect(rawAgreement(textbook)).toBeCloseTo(0.7, 12);
    expect(cohensKappa(textbook, 'alice', 'bob').kappa).toBeCloseTo(0.4, 12);
    expect(gwetAc1(textbook)).toBeCloseTo(0.205 / 0.505, 12);
  });

  it('specific agreement per class: 2a/(2a+b+c) for yes, 2d/(2d+b+c) for no', () => {
    const perClass = perClassAgreement(textbook);
    expect(perClass['yes']).toBeCloseTo(40 / 55, 12);
    expect(perClass['no']).toBeCloseTo(30 / 45, 12);
  });

  it('on skewed labels kappa is low while raw agreement is high; AC1 stays meaningful', () => {
    const skewed = pairs([
      ['approve', 'approve', 90],
      ['reject', 'approve', 5],
      ['approve', 'reject', 5],
    ]);
    const summary = agreementSummary(skewed);
    expect(summary.raw).toBeCloseTo(0.9, 12);
    // pe = 0.95² + 0.05² = 0.905 → kappa = (0.9 − 0.905) / 0.095
    expect(summary.kappa).toBeCloseTo(-0.005 / 0.095, 12);
    // π_reject = 0.05 → pe = 2·0.05·0.95 = 0.095 → AC1 = (0.9 − 0.095) / 0.905
    expect(summary.ac1).toBeCloseTo(0.805 / 0.905, 12);
    expect(summary.pairs).toEqual([{ reviewers: ['alice', 'bob'], items: 100, raw: 0.9, kappa: summary.kappa }]);
  });

  it('three raters: raw agreement and AC1 from pair counts per item', () => {
    const items: RatedItem[] = [
      {
        itemId: 'a',
        labels: new Map([
          ['r1', 'x'],
          ['r2', 'x'],
          ['r3', 'x'],
        ]),
      },
      {
        itemId: 'b',
        labels: new Map([
          ['r1', 'x'],
          ['r2', 'x'],
          ['r3', 'y'],
        ]),
      },
    ];
    // item a: 6/6 agreeing ordered pairs; item b: 2/6 → raw = (1 + 1/3) / 2
    expect(rawAgreement(items)).toBeCloseTo(2 / 3, 12);
    // π_x = (1 + 2/3)/2 = 5/6, π_y = 1/6 → pe = 2·(5/6)(1/6) = 5/18 → AC1 = (2/3 − 5/18) / (13/18) = 7/13
    expect(gwetAc1(items)).toBeCloseTo(7 / 13, 12);
  });

  it('skips items with one label, leaves undefined statistics null, and groups by day', () => {
    expect(agreementSummary([{ itemId: 'solo', labels: new Map([['r1', 'x']]) }])).toMatchObject({ items: 0, raw: null, kappa: null, ac1: null });
    const sameLabel = pairs([['approve', 'approve', 3]]);
    expect(cohensKappa(sameLabel, 'alice', 'bob')).toMatchObject({ raw: 1, kappa: null });
    const windows = agreementByWindow([...pairs([['a', 'a', 2]], '2026-12-01T09:00:00Z'), ...pairs([['a', 'b', 2]], '2026-12-02T09:00:00Z')], 'day');
    expect(windows.map((w) => [w.window, w.raw])).toEqual([
      ['2026-12-01', 1],
      ['2026-12-02', 0],
    ]);
    expect(agreementByWindow(pairs([['a', 'a', 1]], '2026-12-31T09:00:00Z'), 'week')[0]!.window).toBe('2026-W53');
  });
});

function decision(reviewerId: string, label: ReviewLabel, minute: number, role: ReviewDecision['role'] = 'review'): ReviewDecision {
  const at = new Date(Date.UTC(2026, 11, 1, 10, minute)).toISOString();
  return {
    batchId: 'b1',
    assetKey: 'row-000001',
    reviewTaskId: 'task-r1',
    revision: 1,
    reviewerId,
    role,
    label,
    claimedAt: at,
    decidedAt: at,
    timeToLabelMs: 0,
    seen: {
      lineage: { pipelineVersion: 'p', taxonomyVersion: 't', policyVersion: 'q' },
      outcome: 'NEEDS_REVIEW',
      reasons: ['POLICY_SENSITIVE'],
      reviewPolicyVersion: 'r',
    },
  };
}

describe('consolidation', () => {
  it('stays open until the required reviewers decided; agreeing labels are final by consensus', () => {
    expect(consolidate([decision('alice', 'reject', 1)], 2)).toMatchObject({ status: 'OPEN', reviewers: ['alice'] });
    expect(consolidate([decision('alice', 'reject', 1), decision('bob', 'reject', 2)], 2)).toMatchObject({ status: 'FINAL', label: 'reject', by: 'consensus' });
  });

  it('a disagreement goes to adjudication by someone else, whose label is final', () => {
    const split = [decision('alice', 'reject', 1), decision('bob', 'approve', 2)];
    const state = consolidate(split, 2);
    expect(state.status).toBe('ADJUDICATION');
    expect(roleFor(state, 'alice', { adjudicator: true })).toBeUndefined();
    expect(roleFor(state, 'carol', { adjudicator: false })).toBeUndefined();
    expect(roleFor(state, 'carol', { adjudicator: true })).toBe('adjudication');
    // an "adjudication" by one of the reviewers does not count
    expect(consolidate([...split, decision('alice', 'reject', 3, 'adjudication')], 2).status).toBe('ADJUDICATION');
    expect(consolidate([...split, decision('carol', 'approve', 4, 'adjudication')], 2)).toMatchObject({
      status: 'FINAL',
      label: 'approve',
      by: 'adjudication',
      reviewers: ['alice', 'bob', 'carol'],
    });
  });

  it('a reviewer never gets the same task twice, and a second decision by the same reviewer counts once', () => {
    const state = consolidate([decision('alice', 'reject', 1), decision('alice', 'approve', 2)], 2);
    expect(state).toMatchObject({ status: 'OPEN', reviewers: ['alice'] });
    expect(roleFor(state, 'alice', { adjudicator: false })).toBeUndefined();
    expect(roleFor(state, 'bob', { adjudicator: false })).toBe('review');
  });
});

describe('review policy and labels', () => {
  const policy = loadReviewPolicy();
  it('asks two reviewers for policy-sensitive assets and one otherwise', () => {
    expect(requiredReviewers(policy, { outcome: 'NEEDS_REVIEW', reasons: ['POLICY_SENSITIVE'] })).toBe(2);
    expect(requiredReviewers(policy, { outcome: 'FLAGGED', reasons: ['CATEGORY_MISMATCH', 'POLICY_BORDERLINE'] })).toBe(2);
    expect(requiredReviewers(policy, { outcome: 'FLAGGED', reasons: ['CATEGORY_MISMATCH'] })).toBe(1);
    expect(requiredReviewers(policy, { outcome: 'NEEDS_REVIEW', reasons: ['LOW_CONFIDENCE'] })).toBe(policy.default.reviewers);
  });

  it('parses labels, resolving recategorize targets through the taxonomy', () => {
    const taxonomy = loadTaxonomy();
    expect(parseLabel('approve', taxonomy)).toBe('approve');
    const some = taxonomy.categories[0]!;
    expect(parseLabel(`recategorize:${some.name.toUpperCase()}`, taxonomy)).toBe(`recategorize:${some.id}`);
    expect(() => parseLabel('recategorize:no-such-thing', taxonomy)).toThrow(InvalidLabelError);
    expect(() => parseLabel('maybe', taxonomy)).toThrow(InvalidLabelError);
  });
});

describe('gold items', () => {
  it('are mixed in at about the configured rate, deterministically', () => {
    const turns = Array.from({ length: 10_000 }, (_, n) => isGoldTurn('alice', n, 0.05));
    const share = turns.filter(Boolean).length / turns.length;
    expect(share).toBeGreaterThan(0.04);
    expect(share).toBeLessThan(0.06);
    expect(Array.from({ length: 50 }, (_, n) => isGoldTurn('alice', n, 0.05))).toEqual(turns.slice(0, 50));
    expect(isGoldTurn('alice', 1, 0)).toBe(false);
  });

  it('score each reviewer on their first answer per gold item', () => {
    const gold = new Map<string, GoldItem>([
      [goldKey({ batchId: 'b1', assetKey: 'row-000001' }), { batchId: 'b1', assetKey: 'row-000001', label: 'reject', source: 'seed' }],
    ]);
    const accuracy = goldAccuracy(
      [decision('alice', 'reject', 1, 'gold'), decision('alice', 'approve', 2, 'gold'), decision('bob', 'approve', 3, 'gold'), decision('carol', 'reject', 4)],
      gold,
    );
    expect(accuracy).toEqual([
      { reviewerId: 'alice', items: 1, correct: 1, accuracy: 1 },
      { reviewerId: 'bob', items: 1, correct: 0, accuracy: 0 },
    ]);
  });
});
