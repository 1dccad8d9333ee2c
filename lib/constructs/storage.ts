/**
 * Buckets: the data bucket (uploads under incoming/, staging and preprocessed images written by the pipeline), the
 * reports bucket (CSV tables and summaries for Athena) and an access-log bucket for both. Secure by default: block
 * public access, S3-managed encryption, TLS only, versioning; the data bucket sends events to EventBridge.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type BucketProps } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface TriageStorageProps {
  /**
   * What happens to the buckets when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Days after which staged and preprocessed intermediates are deleted (uploads and reports are kept).
   * @default 30
   */
  readonly intermediateRetentionDays?: number;
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
      lifecycleRules: [{ expiration: Duration.days(365) }],
    });
    const days = props.intermediateRetentionDays ?? 30;
    this.dataBucket = new Bucket(this, 'Data', {
      ...secure,
      eventBridgeEnabled: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'data/',
      lifecycleRules: [
        { prefix: 'staging/', expiration: Duration.days(days), noncurrentVersionExpiration: Duration.days(1) },
        { prefix: 'preprocessed/', expiration: Duration.days(days), noncurrentVersionExpiration: Duration.days(1) },
        { noncurrentVersionExpiration: Duration.days(30) },
      ],
    });
    this.reportsBucket = new Bucket(this, 'Reports', {
      ...secure,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'reports/',
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
    });
  }
}
