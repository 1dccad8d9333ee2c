/**
 * Review decisions and how they consolidate into a final review outcome.
 *
 * Decisions are append-only: one item per (review task, reviewer), never updated or deleted. A task is one review
 * revision of an asset record (core/review-task.ts); only decisions on the record's current revision count, because
 * earlier ones were made on evidence that has since changed. Reviews are blind and independent: the tools never show
 * a reviewer another reviewer's label. When the task has the reviewers the review policy asks for, agreeing labels
 * are final (consensus); a disagreement goes to adjudication by someone who did not review it, whose label is final.
 */
import type { Lineage } from '../records';
import type { Outcome, ReasonCode } from '../outcomes';
import type { ReviewLabel } from './labels';

export type DecisionRole = 'review' | 'adjudication' | 'gold';

export interface ReviewDecision {
  batchId: string;
  assetKey: string;
  reviewTaskId: string;
  revision: number;
  reviewerId: string;
  role: DecisionRole;
  label: ReviewLabel;
  note?: string;
  claimedAt: string;
  decidedAt: string;
  /** decidedAt − claimedAt: how long the reviewer took. */
  timeToLabelMs: number;
  /** What the reviewer saw: the record's lineage and triage result at the time, and the review policy in force. */
  seen: { lineage: Lineage; outcome: Outcome; reasons: ReasonCode[]; reviewPolicyVersion: string };
}

export type ReviewState =
  | { status: 'OPEN'; required: number; reviewers: string[] }
  | { status: 'ADJUDICATION'; required: number; reviewers: string[] }
  | { status: 'FINAL'; label: ReviewLabel; by: 'consensus' | 'adjudication'; reviewers: string[]; decidedAt: string };

/** The state of one review task from its decisions (any order; duplicates by the same reviewer count once). */
export function consolidate(decisions: readonly ReviewDecision[], required: number): ReviewState {
  const firstByReviewer = new Map<string, ReviewDecision>();
  const adjudications: ReviewDecision[] = [];
  for (const decision of [...decisions].sort((a, b) => a.decidedAt.localeCompare(b.decidedAt))) {
    if (decision.role === 'adjudication') adjudications.push(decision);
    else if (decision.role === 'review' && !firstByReviewer.has(decision.reviewerId)) firstByReviewer.set(decision.reviewerId, decision);
  }
  const reviews = [...firstByReviewer.values()];
  const reviewers = reviews.map((decision) => decision.reviewerId);
  if (reviews.length < required) return { status: 'OPEN', required, reviewers };
  const counted = reviews.slice(0, required);
  const labels = new Set(counted.map((decision) => decision.label));
  if (labels.size === 1) {
    return { status: 'FINAL', label: counted[0]!.label, by: 'consensus', reviewers: counted.map((d) => d.reviewerId), decidedAt: counted.at(-1)!.decidedAt };
  }
  const adjudication = adjudications.find((decision) => !reviewers.includes(decision.reviewerId));
  if (adjudication === undefined) return { status: 'ADJUDICATION', required, reviewers };
  return {
    status: 'FINAL',
    label: adjudication.label,
    by: 'adjudication',
    reviewers: [...counted.map((d) => d.reviewerId), adjudication.reviewerId],
    decidedAt: adjudication.decidedAt,
  };
}

/** Whether this reviewer may take the task now, and in which role (a reviewer never gets the same task twice). */
export function roleFor(state: ReviewState, reviewerId: string, options: { adjudicator: boolean }): 'review' | 'adjudication' | undefined {
  if (state.reviewers.includes(reviewerId)) return undefined;
  if (state.status === 'OPEN') return 'review';
  if (state.status === 'ADJUDICATION' && options.adjudicator) return 'adjudication';
  return undefined;
}
