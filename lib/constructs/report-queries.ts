/**
 * The named queries over the report tables (lambdas/core/report-tables.ts), written once for both engines: Athena
 * (Trino) in the stack, as AWS::Athena::NamedQuery, and DuckDB locally (`media-triage query --named`). The tests run
 * every one of them, read back from the synthesized template, against the reports of a demo run.
 *
 * Written in the SQL both accept. Where they differ, the queries avoid the difference:
 * - integer division truncates in Trino and not in DuckDB: rates are AVG over 1.0/0.0, never count/count;
 * - Trino has no implicit string→number cast and OpenCSVSerde reads optional numbers as text: `TRY_CAST(x AS DOUBLE)`
 *   (both engines return NULL for an empty text);
 * - ISO 8601 timestamps are text in the CSVs (OpenCSVSerde parses only its own timestamp format), and the two
 *   engines' ISO parsers differ (`from_iso8601_timestamp` vs a cast), so dates come from `CAST(substr(x, 1, 10) AS
 *   DATE)` and ages from `date_diff('day', …, current_date)`, which both spell the same;
 * - empty cells are '' in Athena (OpenCSVSerde) and in the local views (read with no null string), so the queries
 *   test `<> ''`, never IS NULL.
 */
export interface NamedReportQuery {
  /** The name in Athena and for `media-triage query --named`. */
  name: string;
  description: string;
  sql: string;
}

export const REPORT_QUERIES: readonly NamedReportQuery[] = [
  {
    name: 'outcome_mix_by_merchant_day',
    description: 'Assets per outcome, per merchant and day (dt), with each outcome’s share of the merchant’s day.',
    sql: `SELECT dt, merchant_id, outcome, COUNT(*) AS assets,
  ROUND(COUNT(*) * 1.0 / SUM(COUNT(*)) OVER (PARTITION BY dt, merchant_id), 4) AS share
FROM assets
GROUP BY dt, merchant_id, outcome
ORDER BY dt, merchant_id, outcome`,
  },
  {
    name: 'top_mismatched_categories',
    description: 'The most frequent declared → predicted category pairs where the model disagreed with the merchant.',
    sql: `SELECT declared_category_id, top_category_id AS predicted_category_id, COUNT(*) AS assets,
  ROUND(AVG(TRY_CAST(top_score AS DOUBLE)), 4) AS mean_predicted_score
FROM assets
WHERE declared_category_id <> '' AND top_category_id <> '' AND declared_category_id <> top_category_id
GROUP BY declared_category_id, top_category_id
ORDER BY assets DESC, declared_category_id, predicted_category_id
LIMIT 20`,
  },
  {
    name: 'policy_hits_by_class',
    description: 'Assets whose highest policy class reached its borderline band, per class and outcome.',
    sql: `SELECT policy_max_class, outcome, COUNT(*) AS assets,
  ROUND(MAX(TRY_CAST(policy_max_score AS DOUBLE)), 4) AS max_score
FROM assets
WHERE policy_max_class <> ''
GROUP BY policy_max_class, outcome
ORDER BY assets DESC, policy_max_class, outcome`,
  },
  {
    name: 'review_backlog_by_age',
    description: 'Exceptions without a final review, per outcome and age in days since the batch was received.',
    sql: `SELECT outcome, date_diff('day', CAST(substr(received_at, 1, 10) AS DATE), current_date) AS age_days,
  COUNT(*) AS assets, SUM(CASE WHEN review_message_id = '' THEN 1 ELSE 0 END) AS without_message
FROM exceptions
WHERE review_status <> 'FINAL'
GROUP BY 1, 2
ORDER BY age_days DESC, outcome`,
  },
  {
    name: 'confidence_distribution_by_category',
    description: 'Histogram (tenths) of the predicted category’s score, per predicted category.',
    sql: `SELECT top_category_id, LEAST(CAST(FLOOR(score * 10) AS BIGINT), 9) AS score_bucket, COUNT(*) AS assets,
  ROUND(AVG(score), 4) AS mean_score
FROM (SELECT top_category_id, TRY_CAST(top_score AS DOUBLE) AS score FROM assets WHERE top_category_id <> '') scored
WHERE score IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2`,
  },
  {
    name: 'model_version_comparison',
    description: 'Per category and policy model version: assets, outcome rates and the mean predicted score.',
    sql: `SELECT category_model_id, category_model_version, policy_model_id, policy_model_version, COUNT(*) AS assets,
  ROUND(AVG(CASE WHEN outcome = 'AUTO_PASS' THEN 1.0 ELSE 0.0 END), 4) AS auto_pass_rate,
  ROUND(AVG(CASE WHEN outcome IN ('FLAGGED', 'NEEDS_REVIEW') THEN 1.0 ELSE 0.0 END), 4) AS review_rate,
  ROUND(AVG(TRY_CAST(top_score AS DOUBLE)), 4) AS mean_top_score
FROM assets
WHERE category_model_id <> ''
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4`,
  },
  {
    name: 'reviewer_agreement_over_time',
    description: 'Per day: pairs of blind reviews of the same task, and the share that agree (raw agreement).',
    sql: `SELECT substr(GREATEST(a.decided_at, b.decided_at), 1, 10) AS day, COUNT(*) AS review_pairs,
  SUM(CASE WHEN a.label = b.label THEN 1 ELSE 0 END) AS agreeing_pairs,
  ROUND(AVG(CASE WHEN a.label = b.label THEN 1.0 ELSE 0.0 END), 4) AS agreement
FROM decisions a
JOIN decisions b ON a.review_task_id = b.review_task_id AND a.reviewer_id < b.reviewer_id
WHERE a.role = 'review' AND b.role = 'review'
GROUP BY 1
ORDER BY 1`,
  },
];
