/**
 * Settings a Lambda stage reads from its environment. The CDK construct that creates the functions sets exactly these
 * names (see lib/constructs/pipeline-functions.ts), so a missing one is a deployment bug and fails loudly.
 */
export const SETTING_NAMES = {
  stage: 'STAGE_NAME',
  pipelineVersion: 'PIPELINE_VERSION',
  tableName: 'RECORDS_TABLE_NAME',
  dataBucket: 'DATA_BUCKET_NAME',
  reportsBucket: 'REPORTS_BUCKET_NAME',
  reviewQueueUrl: 'REVIEW_QUEUE_URL',
  categoryEndpoint: 'CATEGORY_ENDPOINT_NAME',
  categoryModelId: 'CATEGORY_MODEL_ID',
  categoryModelVersion: 'CATEGORY_MODEL_VERSION',
  categoryPayloadLimit: 'CATEGORY_PAYLOAD_LIMIT_BYTES',
  policyEndpoint: 'POLICY_ENDPOINT_NAME',
  policyModelId: 'POLICY_MODEL_ID',
  policyModelVersion: 'POLICY_MODEL_VERSION',
  policyPayloadLimit: 'POLICY_PAYLOAD_LIMIT_BYTES',
  /** Classify: ms from its start within which every model call and retry must end (its timeout minus a margin). */
  modelCallBudgetMs: 'MODEL_CALL_BUDGET_MS',
  /** Classify: first backoff of a retried model call, in ms (doubles per attempt, full jitter). */
  modelRetryBaseDelayMs: 'MODEL_RETRY_BASE_DELAY_MS',
  /** CloudWatch namespace of the stages' EMF metrics (Powertools Metrics reads this name). */
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  /** The `service` dimension of every metric: the stack's name, so two stacks in one account stay apart. */
  metricsService: 'POWERTOOLS_SERVICE_NAME',
  /** Nightly: the state machine the sweep re-drives batches on. */
  stateMachineArn: 'STATE_MACHINE_ARN',
  /** Classify: model calls in flight at most per endpoint, across all executions (adapters/endpoint-guard.ts). */
  categoryEndpointConcurrency: 'CATEGORY_ENDPOINT_CONCURRENCY',
  policyEndpointConcurrency: 'POLICY_ENDPOINT_CONCURRENCY',
} as const;

export type SettingKey = keyof typeof SETTING_NAMES;

/** Reads a required setting at call time (not import time) so tests and the local runner can set env first. */
export function setting(key: SettingKey): string {
  const name = SETTING_NAMES[key];
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`missing environment variable ${name} (${key})`);
  return value;
}

export function numericSetting(key: SettingKey): number {
  const value = Number(setting(key));
  if (!Number.isFinite(value)) throw new Error(`environment variable ${SETTING_NAMES[key]} is not a number`);
  return value;
}
