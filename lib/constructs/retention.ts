/**
 * How long media-triage keeps what it writes: S3 lifecycle rules per prefix and DynamoDB TTL for items that may
 * expire. Stack prop `retention` (MediaTriageStackProps); every value is a whole number of days, validated at synth.
 *
 * What never expires by a rule: asset and batch records, review decisions and the audit log (the review's evidence;
 * erasure of a merchant is `media-triage purge`), labelled datasets (`datasets/`, versioned training data).
 */
import { Duration } from 'aws-cdk-lib';
import type { LifecycleRule } from 'aws-cdk-lib/aws-s3';

export interface RetentionProps {
  /**
   * Uploaded batch archives (`incoming/` of the data bucket). A rerun needs the archive, so keep it as long as a batch
   * may be rerun.
   * @default 90
   */
  readonly uploadDays?: number;
  /**
   * Staged archive files and each batch's work list (`staging/` of the data bucket).
   * @default 30
   */
  readonly stagingDays?: number;
  /**
   * Model inputs (`preprocessed/` of the data bucket): the images reviewers are shown, so at least as long as a
   * review message can wait (the review queue's retention, 14 days).
   * @default 30
   */
  readonly modelInputDays?: number;
  /**
   * Distributed Map results (`map-results/` of the data bucket): only read while a batch runs.
   * @default 7
   */
  readonly mapResultDays?: number;
  /**
   * Report tables and summaries (`reports/` of the reports bucket): the Athena history.
   * @default 400
   */
  readonly reportDays?: number;
  /**
   * Athena query results (`athena-results/` of the reports bucket).
   * @default 7
   */
  readonly athenaResultDays?: number;
  /**
   * Noncurrent (overwritten or deleted) object versions in the versioned buckets, so a purge or a report rewrite is
   * not undone by old versions lingering forever.
   * @default 30
   */
  readonly noncurrentVersionDays?: number;
  /**
   * Server access logs of the buckets.
   * @default 365
   */
  readonly accessLogDays?: number;
  /**
   * Expire abandoned review claims through DynamoDB TTL (attribute {@link TTL_ATTRIBUTE}, one day after the claim
   * lapsed). Claims are the only items that carry it.
   * @default true
   */
  readonly expireReviewClaims?: boolean;
}

export type ResolvedRetention = Required<RetentionProps>;

export const RETENTION_DEFAULTS: ResolvedRetention = {
  uploadDays: 90,
  stagingDays: 30,
  modelInputDays: 30,
  mapResultDays: 7,
  reportDays: 400,
  athenaResultDays: 7,
  noncurrentVersionDays: 30,
  accessLogDays: 365,
  expireReviewClaims: true,
};

/** The review queue's message retention (lib/constructs/review-queue.ts): model inputs must outlive a waiting message. */
export const REVIEW_MESSAGE_RETENTION_DAYS = 14;

/** The DynamoDB TTL attribute (epoch seconds). Written on review claims only (lambdas/adapters/review-store.ts). */
export { TTL_ATTRIBUTE } from '../../lambdas/core/retention';

/** Longest retention accepted (S3 allows more; 100 years is a typo guard). */
const MAX_DAYS = 36_500;

export function resolveRetention(props: RetentionProps = {}): ResolvedRetention {
  const resolved = { ...RETENTION_DEFAULTS, ...stripUndefined(props) };
  for (const [name, value] of Object.entries(resolved)) {
    if (typeof value === 'boolean') continue;
    if (!Number.isInteger(value) || value < 1 || value > MAX_DAYS) {
      throw new Error(`retention.${name} must be a whole number of days from 1 to ${MAX_DAYS}, got ${String(value)}`);
    }
  }
  if (resolved.modelInputDays < REVIEW_MESSAGE_RETENTION_DAYS) {
    throw new Error(
      `retention.modelInputDays (${resolved.modelInputDays}) must be at least ${REVIEW_MESSAGE_RETENTION_DAYS}: reviewers are shown the model inputs as long as a review message can wait in the queue`,
    );
  }
  return resolved;
}

function stripUndefined(props: RetentionProps): Partial<ResolvedRetention> {
  return Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined)) as Partial<ResolvedRetention>;
}

const ONE_DAY = Duration.days(1);

/** A prefix rule: current objects expire after `days`, their noncurrent versions a day later, stale uploads too. */
function prefixRule(id: string, prefix: string, days: number): LifecycleRule {
  return { id, prefix, expiration: Duration.days(days), noncurrentVersionExpiration: ONE_DAY, abortIncompleteMultipartUploadAfter: ONE_DAY };
}

export function dataBucketRules(
  retention: ResolvedRetention,
  prefixes: { staging: string; modelInputs: string; mapResults: string; uploads: string },
): LifecycleRule[] {
  return [
    prefixRule('uploads', prefixes.uploads, retention.uploadDays),
    prefixRule('staging', prefixes.staging, retention.stagingDays),
    prefixRule('model-inputs', prefixes.modelInputs, retention.modelInputDays),
    prefixRule('map-results', prefixes.mapResults, retention.mapResultDays),
    { id: 'noncurrent-versions', noncurrentVersionExpiration: Duration.days(retention.noncurrentVersionDays), abortIncompleteMultipartUploadAfter: ONE_DAY },
  ];
}

export function reportsBucketRules(retention: ResolvedRetention, prefixes: { reports: string; athenaResults: string }): LifecycleRule[] {
  return [
    prefixRule('reports', prefixes.reports, retention.reportDays),
    prefixRule('athena-results', prefixes.athenaResults, retention.athenaResultDays),
    { id: 'noncurrent-versions', noncurrentVersionExpiration: Duration.days(retention.noncurrentVersionDays), abortIncompleteMultipartUploadAfter: ONE_DAY },
  ];
}
