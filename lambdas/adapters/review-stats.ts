/**
 * `review stats`: what the audit log says about the review work in a time window — decisions, per-reviewer counts and
 * time to label, agreement (raw, Cohen's kappa, Gwet's AC1, per class, per day), accuracy on gold items, and what is
 * still pending in the queue.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { agreementByWindow, agreementSummary, type AgreementSummary, type RatedItem } from '../core/review/agreement';
import type { ReviewDecision } from '../core/review/decisions';
import { goldAccuracy, goldKey, type GoldAccuracy } from '../core/review/gold';
import { sqsClient } from './aws-clients';
import { ReviewStore } from './review-store';
import { goldTaskId } from './review-work';

export interface ReviewerStats {
  reviewerId: string;
  decisions: number;
  medianTimeToLabelMs: number | null;
}

export interface ReviewStats {
  from: string;
  to: string;
  decisions: number;
  reviewers: ReviewerStats[];
  /** Messages waiting in the review queue (visible + claimed). */
  pending: { visible: number; claimed: number };
  agreement: AgreementSummary;
  agreementByDay: Array<{ window: string } & AgreementSummary>;
  goldAccuracy: { overall: number | null; items: number; perReviewer: GoldAccuracy[] };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export async function reviewStats(target: { tableName: string; reviewQueueUrl: string }, window: { from: Date; to: Date }): Promise<ReviewStats> {
  const store = new ReviewStore(target.tableName);
  const entries = await store.auditLog(window.from, window.to);
  const decisions = entries.filter((entry) => entry.action === 'DECIDED').map((entry) => entry.details['decision'] as ReviewDecision);

  const byReviewer = new Map<string, ReviewDecision[]>();
  for (const decision of decisions) byReviewer.set(decision.reviewerId, [...(byReviewer.get(decision.reviewerId) ?? []), decision]);
  const reviewers = [...byReviewer]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([reviewerId, own]) => ({ reviewerId, decisions: own.length, medianTimeToLabelMs: median(own.map((d) => d.timeToLabelMs)) }));

  // Agreement among the independent reviews of a task (adjudications and gold answers are not independent reviews).
  const tasks = new Map<string, RatedItem & { labels: Map<string, string> }>();
  for (const decision of decisions.filter((d) => d.role === 'review')) {
    const item = tasks.get(decision.reviewTaskId) ?? { itemId: decision.reviewTaskId, labels: new Map<string, string>(), at: decision.decidedAt };
    if (!item.labels.has(decision.reviewerId)) item.labels.set(decision.reviewerId, decision.label);
    if (decision.decidedAt > (item.at ?? '')) item.at = decision.decidedAt;
    tasks.set(decision.reviewTaskId, item);
  }
  const rated = [...tasks.values()];

  const gold = new Map((await store.goldItems()).map((item) => [goldKey(item), item]));
  const goldById = new Map([...gold.values()].map((item) => [goldTaskId(item), item]));
  const goldDecisions = decisions.filter((d) => d.role === 'gold' && goldById.has(d.reviewTaskId));
  const perReviewer = goldAccuracy(goldDecisions, gold);
  const goldItems = perReviewer.reduce((sum, r) => sum + r.items, 0);
  const goldCorrect = perReviewer.reduce((sum, r) => sum + r.correct, 0);

  const attributes = await sqsClient().send(
    new GetQueueAttributesCommand({
      QueueUrl: target.reviewQueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    from: window.from.toISOString(),
    to: window.to.toISOString(),
    decisions: decisions.length,
    reviewers,
    pending: {
      visible: Number(attributes.Attributes?.['ApproximateNumberOfMessages'] ?? 0),
      claimed: Number(attributes.Attributes?.['ApproximateNumberOfMessagesNotVisible'] ?? 0),
    },
    agreement: agreementSummary(rated),
    agreementByDay: agreementByWindow(rated, 'day'),
    goldAccuracy: { overall: goldItems === 0 ? null : goldCorrect / goldItems, items: goldItems, perReviewer },
  };
}
