/**
 * Buckets: the data bucket (uploads under incoming/, staging and preprocessed images written by the pipeline), the
 * reports bucket (CSV tables and summaries for Athena) and an access-log bucket for both. Secure by default: block
 * public access, S3-managed encryption (or a customer-managed KMS key), TLS only, versioning; the data bucket sends
 * events to EventBridge. Lifecycle rules per prefix come from the stack's `retention` prop (retention.ts).
 *
 * The access-log bucket stays SSE-S3 whatever `encryptionKey` says: S3 server access logging cannot deliver to a
 * bucket whose default encryption is SSE-KMS.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type BucketProps } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MODEL_INPUT_PREFIX } from '../../lambdas/core/work-items';
import { ATHENA_RESULTS_PREFIX } from './report-analytics';
import { dataBucketRules, reportsBucketRules, resolveRetention, type RetentionProps } from './retention';
import { MAP_RESULTS_PREFIX } from './triage-state-machine';

/** Prefixes the lifecycle rules name (the pipeline writes under them; `incoming/` is the trigger's). */
export const STORAGE_PREFIXES = {
  uploads: 'incoming/',
  staging: 'staging/',
  modelInputs: MODEL_INPUT_PREFIX,
  mapResults: `${MAP_RESULTS_PREFIX}/`,
  reports: 'reports/',
  athenaResults: ATHENA_RESULTS_PREFIX,
} as const;

export interface TriageStorageProps {
  /**
   * What happens to the buckets when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long each prefix is kept (README "Retention and erasure").
   * @default RETENTION_DEFAULTS
   */
  readonly retention?: RetentionProps;
  /**
   * Customer-managed KMS key for the data and reports buckets (SSE-KMS with S3 Bucket Keys).
   * @default S3-managed encryption (SSE-S3)
   */
  readonly encryptionKey?: IKey;
}

export class TriageStorage extends Construct {
  /** Uploads (`incoming/`), staged archive files (`staging/`) and model inputs (`preprocessed/`). */
  readonly dataBucket: Bucket;
  /** `reports/<table>/dt=YYYY-MM-DD/batch_id=<id>/…` */
  readonly reportsBucket: Bucket;
  readonly accessLogsBucket: Bucket;

  constructor(scope: Construct, id: string, props: TriageStorageProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retention = resolveRetention(props.retention);
    const secure: BucketProps = {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
    };
    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      ...secure,
      versioned: false,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'access-logs', expiration: Duration.days(retention.accessLogDays) }],
    });
    const encryption: Partial<BucketProps> =
      props.encryptionKey === undefined ? {} : { encryption: BucketEncryption.KMS, encryptionKey: props.encryptionKey, bucketKeyEnabled: true };
    this.dataBucket = new Bucket(this, 'Data', {
      ...secure,
      ...encryption,
      eventBridgeEnabled: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'data/',
      lifecycleRules: dataBucketRules(retention, STORAGE_PREFIXES),
    });
    this.reportsBucket = new Bucket(this, 'Reports', {
      ...secure,
      ...encryption,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'reports/',
      lifecycleRules: reportsBucketRules(retention, STORAGE_PREFIXES),
    });
  }
}
