/**
 * The stage registry: the one place that names each Lambda stage, its handler file and its settings. The CDK
 * construct creates one function per entry, and the local runner maps the synthesized state machine's tasks back
 * to these handlers through the STAGE_NAME each function carries.
 *
 * The four map-child stages run inside an Express execution, which stops at 5 minutes with every retry and wait
 * included. Their timeouts are sized for a child of 5 assets (the state machine's ItemBatcher) so that the worst case
 * (every attempt running into its timeout, the Step Functions retries of lib/constructs/triage-state-machine.ts and
 * their waits) is 2 × 35 + 2 + 140 + 2 × 10 + 2 + 2 × 15 + 2 = 266 s, leaving 34 s for Lambda cold starts (init
 * runs outside the function timeout) and state transitions. test/cdk/stack.test.ts computes it from the template.
 */
import type { SettingKey } from './adapters/settings';

export type Access =
  | 'data:read'
  | 'data:write'
  | 'reports:read'
  | 'reports:write'
  | 'records:read'
  | 'records:write'
  | 'review:send'
  | 'models:invoke'
  /** states:StartExecution on the triage state machine (the nightly sweep's re-drives). */
  | 'executions:start'
  /** Put/delete of the endpoint concurrency guard's slot items only (records table, `SEMAPHORE#…` keys). */
  | 'models:guard';

export interface StageDefinition {
  /** Handler module, relative to the project root; it exports `handler`. */
  entry: string;
  description: string;
  memorySizeMb: number;
  /** /tmp size; Lambda's default (512 MiB) when absent. */
  ephemeralStorageMb?: number;
  timeoutSeconds: number;
  /** Settings (environment variables) the stage reads. */
  settings: SettingKey[];
  /** What the stage's role may do; the construct turns these into grants. */
  access: Access[];
  /** The stage decodes WebP/AVIF: its bundle carries the codecs' `.wasm` files (lambdas/core/image-codecs.ts). */
  wasmCodecs?: boolean;
  /**
   * Who invokes it: a task of the state machine (the default), or the nightly EventBridge Scheduler schedule
   * (lib/constructs/nightly-schedule.ts). The state machine may invoke only its own stages.
   */
  invokedBy?: 'stateMachine' | 'schedule';
}

/** Settings every stage gets: the namespace and `service` dimension of its metrics (lambdas/functions/metrics.ts). */
export const COMMON_SETTINGS = ['metricsNamespace', 'metricsService'] as const satisfies readonly SettingKey[];

export const STAGES = {
  PrepareBatch: {
    entry: 'lambdas/functions/prepare-batch.ts',
    description: 'Opens the batch archive safely, parses the manifest, records rejected rows and files, stages images, writes items.jsonl',
    // The archive is streamed to /tmp and its files inflated entry by entry straight to S3; only the manifest (at most
    // 50 MiB) and the plan are in memory. Measured: 225 MB peak RSS for a 451 MiB archive (README, "Archive limits");
    // the rest is headroom for a manifest near its bound.
    memorySizeMb: 2048,
    // Room for the largest archive allowed (512 MiB) with margin; nothing else is written there.
    ephemeralStorageMb: 1024,
    timeoutSeconds: 900,
    settings: ['pipelineVersion', 'tableName', 'dataBucket'],
    // records:read for the merchant profiles of earlier batches
    access: ['data:read', 'data:write', 'records:read', 'records:write'],
  },
  Preprocess: {
    entry: 'lambdas/functions/preprocess.ts',
    description: 'Checks image headers, decodes with jimp, hashes, and writes the model input JPEG',
    // A 36 MP JPEG (the pixel limit, core/image.ts) peaks at ~1.26 GB RSS and ~4 s; CMYK would need somewhat more.
    memorySizeMb: 2048,
    // 5 assets; a ~35 MP JPEG (the largest the pixel guard lets jimp decode) takes ≈2 s on x64 and up to ≈4 s on
    // arm64, so ≈20 s of decoding plus the S3 reads and writes.
    timeoutSeconds: 35,
    settings: ['dataBucket'],
    access: ['data:read', 'data:write'],
    wasmCodecs: true,
  },
  Classify: {
    entry: 'lambdas/functions/classify.ts',
    description: 'Calls the category (zero-shot) and policy (image-classification) SageMaker endpoints',
    memorySizeMb: 512,
    // Two endpoint calls per asset (in parallel). A cold serverless endpoint can take the whole 60 s invocation limit
    // and still fail (model download); Classify retries it within MODEL_CALL_BUDGET_MS (this timeout minus
    // CLASSIFY_SAFETY_SECONDS): 60 s + backoff + a second 60 s call + the other 4 assets warm (≈1-2 s each).
    // Step Functions does not retry Classify: a retry would need another 140 s the Express child does not have.
    timeoutSeconds: 140,
    settings: [
      'dataBucket',
      'categoryEndpoint',
      'categoryModelId',
      'categoryModelVersion',
      'categoryPayloadLimit',
      'policyEndpoint',
      'policyModelId',
      'policyModelVersion',
      'policyPayloadLimit',
      'modelCallBudgetMs',
      'modelRetryBaseDelayMs',
      'tableName',
      'categoryEndpointConcurrency',
      'policyEndpointConcurrency',
    ],
    access: ['data:read', 'models:invoke', 'models:guard'],
  },
  Triage: {
    entry: 'lambdas/functions/triage.ts',
    description: 'Combines image, text and policy signals into an outcome with reason codes',
    memorySizeMb: 256,
    // Pure computation on 5 assets: milliseconds; the timeout only bounds a stuck invocation.
    timeoutSeconds: 10,
    settings: [],
    access: [],
  },
  Persist: {
    entry: 'lambdas/functions/persist.ts',
    description: 'Writes asset records (conditional, idempotent) and sends reviewable assets to the review queue once',
    memorySizeMb: 256,
    // 5 assets × (put, get, maybe a send and its mark): a few dozen calls of ~10-50 ms, plus the SDK's retries.
    timeoutSeconds: 15,
    settings: ['pipelineVersion', 'tableName', 'reviewQueueUrl'],
    access: ['records:read', 'records:write', 'review:send'],
  },
  CrossCheck: {
    entry: 'lambdas/functions/cross-check.ts',
    description: 'Finds the same or near-identical images across merchants or categories (history and batch) and sends them to review',
    memorySizeMb: 1024,
    timeoutSeconds: 900,
    settings: ['tableName', 'reviewQueueUrl'],
    access: ['records:read', 'records:write', 'review:send'],
  },
  Report: {
    entry: 'lambdas/functions/report.ts',
    description: 'Reconciles the batch (missing assets become FAILED/NOT_PROCESSED), writes CSV reports, the summary, the HTML pages and the quality gates',
    memorySizeMb: 1024,
    timeoutSeconds: 900,
    settings: ['pipelineVersion', 'tableName', 'dataBucket', 'reportsBucket', 'reviewQueueUrl'],
    // reports:read for the drift baseline (earlier batches' summaries) and the day's roll-up page
    access: ['data:read', 'records:read', 'records:write', 'reports:read', 'reports:write', 'review:send'],
  },
  Nightly: {
    entry: 'lambdas/functions/nightly.ts',
    description:
      'Nightly jobs: re-drives batches uploaded but never started or left unfinished, sends review messages records still owe, writes the daily roll-up',
    // Streams each recent archive through SHA-256 (64 KiB chunks) to derive its batch id; nothing is held whole.
    memorySizeMb: 512,
    // Hashing the recent uploads is the long part: ~1-2 min per GiB from S3 at Lambda's per-function bandwidth.
    timeoutSeconds: 900,
    settings: ['dataBucket', 'reportsBucket', 'tableName', 'reviewQueueUrl', 'stateMachineArn'],
    // records:write for the "message sent" mark of a swept review revision and the refreshed batches' gates;
    // reports:read/write for the roll-up (the day's summaries in, pages and decisions partitions out).
    access: ['data:read', 'records:read', 'records:write', 'reports:read', 'reports:write', 'review:send', 'executions:start'],
    invokedBy: 'schedule',
  },
} as const satisfies Record<string, StageDefinition>;

export type StageName = keyof typeof STAGES;

/**
 * What Classify keeps back from its timeout when it sets its model-call deadline (MODEL_CALL_BUDGET_MS): time to
 * record the assets it gives up on and return before Lambda stops it.
 */
export const CLASSIFY_SAFETY_SECONDS = 10;

/** Classify's deadline for all its model calls and retries, in ms (the MODEL_CALL_BUDGET_MS setting). */
export const CLASSIFY_MODEL_CALL_BUDGET_MS = (STAGES.Classify.timeoutSeconds - CLASSIFY_SAFETY_SECONDS) * 1000;

/**
 * First backoff of Classify's model-call retries, in ms (the MODEL_RETRY_BASE_DELAY_MS setting): 0.5, 1, 2, 4 s…
 * with full jitter, capped at 8 s.
 */
export const DEFAULT_MODEL_RETRY_BASE_DELAY_MS = 500;
export const STAGE_NAMES = Object.keys(STAGES) as StageName[];

/** The stages the state machine invokes (every one but the scheduled Nightly). */
export const PIPELINE_STAGE_NAMES = STAGE_NAMES.filter((name) => (STAGES[name] as StageDefinition).invokedBy !== 'schedule');

export function isStageName(value: string): value is StageName {
  return Object.hasOwn(STAGES, value);
}
