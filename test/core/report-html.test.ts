/** The report pages' renderer: escaping of hostile merchant text, and one drawn datum per data point in each chart. */
import { describe, expect, it } from 'vitest';
import { batchDrift, batchMix } from '../../lambdas/core/drift/batch-drift';
import { evaluateGates, loadQualityGates, type GateInputs } from '../../lambdas/core/gates/quality-gates';
import { batchKpis } from '../../lambdas/core/kpis/batch-kpis';
import { OUTCOMES, emptyOutcomeCounts } from '../../lambdas/core/outcomes';
import { assetRecord, type AssetRecord } from '../../lambdas/core/records';
import { renderBatchPage, scoreHistogram, type BatchReportFacts } from '../../lambdas/core/report-html/batch-page';
import { escapeHtml, html, raw } from '../../lambdas/core/report-html/html';
import { renderRollupPage } from '../../lambdas/core/report-html/rollup-page';
import type { TriageEvidence } from '../../lambdas/core/triage';

const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)> ' " &`;

function evidence(topCategoryId: string, topScore: number, policy: Array<[string, number]> = []): TriageEvidence {
  return {
    category: {
      declaredCategoryId: 'pets',
      declaredSupport: 0.5,
      topCategoryId,
      topScore,
      scores: [],
      thresholds: { lowConfidence: 0.3, mismatch: 0.6, pass: 0.5 },
    },
    text: { mentions: [], conflict: false, imageConflict: false },
    policy: policy.map(([classId, score]) => ({ classId, score, threshold: 0.8, borderlineThreshold: 0.5, sensitive: false, borderline: true })),
  };
}

function record(assetKey: string, declared: string, extra: Partial<AssetRecord>): AssetRecord {
  const base = assetRecord(
    {
      batchId: 'b-1',
      receivedAt: '2026-11-20T10:00:00.000Z',
      lineage: { pipelineVersion: 'p', taxonomyVersion: 't', policyVersion: 'pol' },
      now: '2026-11-20T10:01:00.000Z',
    },
    {
      assetKey,
      listing: { assetId: `A-${assetKey}`, merchantId: HOSTILE, title: HOSTILE, declaredCategoryId: declared },
      outcome: 'AUTO_PASS',
      reasons: [],
      explanation: HOSTILE,
      decidedBy: 'Triage',
    },
  );
  return { ...base, ...extra };
}

const RECORDS = [
  record('r1', 'pets', { evidence: evidence('pets', 0.91) }),
  record('r2', 'pets', { evidence: evidence('pets', 0.95) }),
  record('r3', 'toys', { evidence: evidence('pets', 0.62), outcome: 'FLAGGED', reasons: ['CATEGORY_MISMATCH'] }),
  record('r4', 'toys', { evidence: evidence('toys', 0.35, [['violence', 0.6]]), outcome: 'NEEDS_REVIEW', reasons: ['LOW_CONFIDENCE', 'POLICY_BORDERLINE'] }),
  record('r5', 'toys', { outcome: 'REJECTED_INPUT', reasons: ['CORRUPT_IMAGE'] }),
];

function facts(records: AssetRecord[], baseline: Parameters<typeof batchDrift>[1] = []): BatchReportFacts {
  const kpis = batchKpis({ records, run: { startedAt: '2026-11-20T10:00:00.000Z', completedAt: '2026-11-20T10:02:00.000Z' } });
  const drift = batchDrift(batchMix(records), baseline, { baselineDays: 7, epsilon: 1e-4, minBaselineAssets: 2 });
  const outcomes = emptyOutcomeCounts();
  const reasons: BatchReportFacts['reasons'] = {};
  for (const r of records) {
    outcomes[r.outcome] += 1;
    for (const code of r.reasons) reasons[code] = (reasons[code] ?? 0) + 1;
  }
  const inputs = {
    rejectRate: { value: kpis.rejectRate },
    reviewRate: { value: kpis.reviewRate },
    categoryDrift: { value: drift.category.psi },
    policyDrift: { value: drift.policy.psi },
    goldAccuracy: { value: null },
    agreement: { value: null },
  } satisfies GateInputs;
  return {
    batchId: 'b-1',
    dt: '2026-11-20',
    receivedAt: '2026-11-20T10:00:00.000Z',
    completedAt: '2026-11-20T10:02:00.000Z',
    archiveKey: `incoming/${HOSTILE}.zip`,
    assets: records.length,
    outcomes,
    reasons,
    sentToReview: 2,
    auditSamples: 0,
    versions: { pipeline: 'p', taxonomy: 't', policy: 'pol' },
    kpis,
    drift,
    gates: evaluateGates(inputs, loadQualityGates()),
  };
}

/** The drawn data of each chart named `name`: one array of data-values per <svg data-chart="name">. */
function charts(page: string, name: string): number[][] {
  return [...page.matchAll(new RegExp(`<svg data-chart="${name}"[\\s\\S]*?</svg>`, 'g'))].map((match) =>
    [...match[0].matchAll(/data-(?:bar|cell)="" (?:data-series="[a-z]+" )?(?:data-label="[^"]*"|data-row="[^"]*" data-col="[^"]*") data-value="([^"]*)"/g)].map(
      (m) => Number(m[1]),
    ),
  );
}

describe('html template', () => {
  it('escapes every interpolated value, keeps nested templates and raw() markup', () => {
    expect(escapeHtml(HOSTILE)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &#39; &quot; &amp;');
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p title="${'" onmouseover="x'}">${inner}${raw('<br>')}${[1, '<', null, undefined]}</p>`.value).toBe(
      '<p title="&quot; onmouseover=&quot;x"><b>&lt;i&gt;</b><br>1&lt;</p>',
    );
  });
});

describe('batch page', () => {
  const page = renderBatchPage(facts(RECORDS), RECORDS, '2026-11-20T10:03:00.000Z');

  it('never lets merchant text become markup: no script, no attribute, no element from the data', () => {
    expect(page).not.toMatch(/<script|<img/i);
    expect(page).not.toMatch(/<[^>]*\son(?:error|mouseover)=/i);
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain(`default-src 'none'`);
    expect(page).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('draws one bar per outcome, per reason code, per declared category, and one histogram per predicted category', () => {
    expect(charts(page, 'outcomes')).toEqual([OUTCOMES.map((outcome) => RECORDS.filter((r) => r.outcome === outcome).length)]);
    expect(charts(page, 'reasons')[0]!.sort()).toEqual([1, 1, 1, 1]);
    expect(charts(page, 'class-balance')).toEqual([[2, 3]]);
    const histograms = charts(page, 'confidence');
    expect(histograms.map((bars) => bars.length)).toEqual([10, 10]); // pets, toys: ten bins each
    expect(histograms.map((bars) => bars.reduce((a, b) => a + b, 0))).toEqual([3, 1]);
    expect(histograms[0]![9]).toBe(2); // 0.91 and 0.95 in the last tenth
  });

  it('draws one matrix cell per declared → predicted pair that occurs', () => {
    // pets→pets 2, toys→pets 1, toys→toys 1 (the rejected asset has no prediction)
    expect(charts(page, 'declared-vs-predicted')[0]!.sort()).toEqual([1, 1, 2]);
  });

  it('says "no reviews yet" and "no baseline yet" instead of showing zeros', () => {
    expect(page).toContain('No reviews yet');
    expect(page).toContain('PSI not computed: no baseline yet');
    expect(charts(page, 'drift-category')).toEqual([]);
  });

  it('draws the drift as two bars (batch, baseline) per bin once a baseline exists', () => {
    const baseline = [{ batchId: 'old', mix: { categories: { pets: 1, boats: 3 }, policy: { '(no hit)': 4 } } }];
    const withDrift = renderBatchPage(facts(RECORDS, baseline), RECORDS, 'now');
    const bins = new Set(['pets', 'toys', 'boats']);
    expect(charts(withDrift, 'drift-category')[0]).toHaveLength(2 * bins.size);
    expect(charts(withDrift, 'drift-policy')[0]).toHaveLength(2 * 2); // violence, (no hit)
  });

  it('bins scores in tenths, 1.0 in the last bin', () => {
    expect(scoreHistogram([0, 0.05, 0.1, 0.99, 1]).map((bin) => bin.count)).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
  });
});

describe('roll-up page', () => {
  it('sums the day’s outcomes, draws one review-rate bar per batch and links each batch page', () => {
    const one = facts(RECORDS);
    const two = { ...facts(RECORDS.slice(0, 2)), batchId: `b-2${HOSTILE}` };
    const page = renderRollupPage('2026-11-20', [one, two], 'now');
    expect(charts(page, 'outcomes')).toEqual([OUTCOMES.map((outcome) => one.outcomes[outcome] + two.outcomes[outcome])]);
    expect(charts(page, 'review-rate')[0]).toHaveLength(2);
    expect(page).toContain('href="batch_id=b-1/index.html"');
    expect(page).not.toMatch(/<script|<img/i);
    expect((page.match(/<tr data-batch=/g) ?? []).length).toBe(2);
  });
});
