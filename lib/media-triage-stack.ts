/**
 * The media-triage stack: storage, records table, review queue, the two model endpoints, the Lambda stages, the
 * state machine and the EventBridge rule that starts it when a batch archive lands under `incoming/`.
 */
import { CfnOutput, Duration, Lazy, RemovalPolicy, Stack, Token, type StackProps } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, EventField, Match } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import packageJson from '../package.json';
import { loadTaxonomy } from '../lambdas/core/taxonomy';
import { loadTriagePolicy } from '../lambdas/core/triage-policy';
import { loadQualityGates } from '../lambdas/core/gates/quality-gates';
import {
  HuggingFaceEndpoint,
  type HuggingFaceEndpointCompute,
  type HuggingFaceEndpointProps,
  type HuggingFaceModelSource,
  type ModelVersion,
} from './constructs/hugging-face-endpoint';
import { batchStartInput, INCOMING_PREFIX } from '../lambdas/core/batch-start';
import { DEFAULT_METRICS_NAMESPACE, Monitoring, type MonitoringThresholds } from './constructs/monitoring';
import { NightlySchedule } from './constructs/nightly-schedule';
import { OperatorAccess } from './constructs/operator-access';
import { PipelineFunctions } from './constructs/pipeline-functions';
import { RecordsTable } from './constructs/records-table';
import { ReportAnalytics } from './constructs/report-analytics';
import { queueEncryption, ReviewQueue } from './constructs/review-queue';
import type { RetentionProps } from './constructs/retention';
import { ReviewerAccess } from './constructs/reviewer-access';
import { MODEL_INPUT_PREFIX } from '../lambdas/core/work-items';
import { TriageStorage } from './constructs/storage';
import { STATE_NAMES, TriageStateMachine } from './constructs/triage-state-machine';
import { acknowledgeNagFindings } from './nag-acknowledgements';

/** Key prefix of batch uploads that start the pipeline (defined beside the execution input the trigger builds). */
export { INCOMING_PREFIX };

export interface ModelEndpointSettings {
  /**
   * One model (one version). Give either this or `versions`.
   * @default the stack's default model for the endpoint
   */
  readonly model?: HuggingFaceModelSource;
  /**
   * Model versions kept deployed side by side for rollback (lib/constructs/hugging-face-endpoint.md, "Versions and
   * rollback"). A listed label is immutable once deployed.
   * @default - the single `model`
   */
  readonly versions?: readonly ModelVersion[];
  /**
   * The version the endpoint serves (and the pipeline records). Rollback = set it back and deploy.
   * @default the last listed version
   */
  readonly activeVersion?: string;
  /**
   * @default serverless with the construct's defaults
   */
  readonly compute?: HuggingFaceEndpointCompute;
  /**
   * Overrides the Hugging Face DLC image derived from the region.
   * @default derived from the stack's region
   */
  readonly imageUri?: string;
}

export interface MediaTriageStackProps extends StackProps {
  /**
   * The category model: zero-shot image classification (CLIP-style) over the taxonomy's candidate labels.
   * @default openai/clip-vit-base-patch32 at a pinned revision, serverless
   */
  readonly categoryModel?: ModelEndpointSettings;
  /**
   * The policy model: image classification of policy-sensitive content.
   * @default Falconsai/nsfw_image_detection at a pinned revision, serverless
   */
  readonly policyModel?: ModelEndpointSettings;
  /**
   * Child executions of the map running at once, per batch (1-10,000). Each child has one Classify, which has at most
   * one call in flight per endpoint, so a value up to the endpoints' concurrency never waits on the concurrency
   * guard; across batches the guard (lambdas/adapters/endpoint-guard.ts) keeps each endpoint's calls in flight at
   * its own concurrency, however many batches run.
   * @default the lower of the two endpoints' concurrency (serverless: maxConcurrency), or 5
   */
  readonly maxConcurrency?: number;
  /**
   * How long each S3 prefix is kept and whether lapsed review claims expire by DynamoDB TTL (README "Retention and
   * erasure"). Validated at synth.
   * @default RETENTION_DEFAULTS (lib/constructs/retention.ts)
   */
  readonly retention?: RetentionProps;
  /**
   * Encrypt the data and reports buckets, the records table and the queues with one customer-managed KMS key (rotated
   * yearly, retained on stack deletion) instead of AWS-managed keys. The key policy delegates to IAM in this account;
   * the stage functions, the state machine and the reviewer policy are granted exactly the key actions they need.
   * @default false (SSE-S3, the AWS-managed DynamoDB key, SSE-SQS)
   */
  readonly customerManagedKey?: boolean;
  /**
   * An email address subscribed to the alarm topic (also the `alarmEmail` context value: `-c alarmEmail=ops@example.com`).
   * @default no subscription
   */
  readonly alarmEmail?: string;
  /**
   * CloudWatch namespace of the stages' metrics; their `service` dimension is the stack name.
   * @default DEFAULT_METRICS_NAMESPACE ('MediaTriage')
   */
  readonly metricsNamespace?: string;
  /** @default the Monitoring construct's DEFAULT_THRESHOLDS */
  readonly alarmThresholds?: Partial<MonitoringThresholds>;
  /**
   * When the nightly jobs run (EventBridge Scheduler expression, UTC).
   * @default 'cron(0 3 * * ? *)'
   */
  readonly nightlySchedule?: string;
  /**
   * Assets per map child (ItemBatcher MaxItemsPerBatch, 1-5: the child stages' timeouts are sized for 5).
   * @default 5
   */
  readonly assetsPerChild?: number;
}

/** The map's concurrency when no serverless endpoint sets one. */
export const DEFAULT_MAP_CONCURRENCY = 5;

export const DEFAULT_CATEGORY_MODEL: HuggingFaceModelSource = {
  kind: 'hub',
  modelId: 'openai/clip-vit-base-patch32',
  revision: '3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268',
};

export const DEFAULT_POLICY_MODEL: HuggingFaceModelSource = {
  kind: 'hub',
  modelId: 'Falconsai/nsfw_image_detection',
  revision: '96cb0d0342c7afb80cab76ecc58b265fa44da256',
};

/**
 * The category endpoint's models. To keep versions for rollback, replace `model` with
 * `versions: [{ version, model }, ...]` and set `activeVersion` (`media-triage model rollback` names this prop).
 */
export const CATEGORY_MODEL_SETTINGS: ModelEndpointSettings = { model: DEFAULT_CATEGORY_MODEL };
/** The policy endpoint's models; same shape as CATEGORY_MODEL_SETTINGS. */
export const POLICY_MODEL_SETTINGS: ModelEndpointSettings = { model: DEFAULT_POLICY_MODEL };

/** The model part of the endpoint props: `versions` when listed, else the single `model`, with `activeVersion`. */
function endpointModels(
  settings: ModelEndpointSettings,
  fallback: HuggingFaceModelSource,
): Pick<HuggingFaceEndpointProps, 'model' | 'versions' | 'activeVersion'> {
  return settings.versions !== undefined
    ? { versions: settings.versions, activeVersion: settings.activeVersion }
    : { model: settings.model ?? fallback, activeVersion: settings.activeVersion };
}

export class MediaTriageStack extends Stack {
  readonly storage: TriageStorage;
  readonly records: RecordsTable;
  readonly review: ReviewQueue;
  /** The reviewers' managed policy and the review backlog alarm. */
  readonly reviewers: ReviewerAccess;
  /** The operators' managed policy: redrive executions and Map Runs, redrive the review dead-letter queue. */
  readonly operators: OperatorAccess;
  readonly categoryEndpoint: HuggingFaceEndpoint;
  readonly policyEndpoint: HuggingFaceEndpoint;
  readonly pipeline: PipelineFunctions;
  readonly stateMachine: TriageStateMachine;
  /** Glue tables over the report CSVs, the Athena workgroup and the named queries. */
  readonly analytics: ReportAnalytics;
  /** Dead-letter queue of the EventBridge rule's target (events that could not start an execution). */
  readonly triggerDeadLetterQueue: Queue;
  /** The customer-managed key, when `customerManagedKey` is set. */
  readonly encryptionKey?: Key;
  /** The EventBridge Scheduler schedule that runs the Nightly stage. */
  readonly nightly: NightlySchedule;
  /** Dashboard, alarms and their SNS topic. */
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: MediaTriageStackProps = {}) {
    super(scope, id, props);
    if (Token.isUnresolved(this.region)) {
      throw new Error('media-triage needs a region: set env.region on the stack (CDK_DEFAULT_REGION) or the "region" context value');
    }
    // Validate the configuration at synth time, with the same code the Lambdas run at start.
    const taxonomy = loadTaxonomy();
    const triagePolicy = loadTriagePolicy();
    loadQualityGates();

    if (props.customerManagedKey === true) {
      this.encryptionKey = new Key(this, 'DataKey', {
        description: 'media-triage: buckets, records table and queues of this stack',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    const encryptionKey = this.encryptionKey;
    this.storage = new TriageStorage(this, 'Storage', { retention: props.retention, encryptionKey });
    this.records = new RecordsTable(this, 'Records', { timeToLive: props.retention?.expireReviewClaims, encryptionKey });
    this.review = new ReviewQueue(this, 'Review', { encryptionKey });
    this.reviewers = new ReviewerAccess(this, 'Reviewers', {
      reviewQueue: this.review.queue,
      table: this.records.table,
      dataBucket: this.storage.dataBucket,
      imagePrefix: MODEL_INPUT_PREFIX,
      encryptionKey,
    });

    const category = props.categoryModel ?? CATEGORY_MODEL_SETTINGS;
    this.categoryEndpoint = new HuggingFaceEndpoint(this, 'CategoryModel', {
      task: 'zero-shot-image-classification',
      ...endpointModels(category, DEFAULT_CATEGORY_MODEL),
      compute: category.compute,
      imageUri: category.imageUri,
    });
    const policy = props.policyModel ?? POLICY_MODEL_SETTINGS;
    this.policyEndpoint = new HuggingFaceEndpoint(this, 'PolicyModel', {
      task: 'image-classification',
      ...endpointModels(policy, DEFAULT_POLICY_MODEL),
      compute: policy.compute,
      imageUri: policy.imageUri,
    });

    // The Nightly stage re-drives batches on the state machine, which is built from the stage functions: its ARN is
    // read lazily, once the state machine exists.
    const stateMachineArn = Lazy.string({ produce: () => this.stateMachine.stateMachine.stateMachineArn });
    const metricsNamespace = props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
    const endpointLimits = [this.categoryEndpoint.maxConcurrentInvocations, this.policyEndpoint.maxConcurrentInvocations].filter(
      (limit): limit is number => limit !== undefined,
    );
    const mapConcurrency = props.maxConcurrency ?? (endpointLimits.length === 0 ? DEFAULT_MAP_CONCURRENCY : Math.min(...endpointLimits));
    this.pipeline = new PipelineFunctions(this, 'Stages', {
      dataBucket: this.storage.dataBucket,
      reportsBucket: this.storage.reportsBucket,
      table: this.records.table,
      reviewQueue: this.review.queue,
      grantModelInvoke: (grantee: IGrantable) => {
        this.categoryEndpoint.grantInvoke(grantee);
        this.policyEndpoint.grantInvoke(grantee);
      },
      grantExecutionStart: (grantee: IGrantable) => {
        grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: ['states:StartExecution'], resources: [stateMachineArn] }));
      },
      settings: {
        metricsNamespace,
        metricsService: this.stackName,
        stateMachineArn,
        pipelineVersion: packageJson.version,
        categoryEndpoint: this.categoryEndpoint.endpointName,
        categoryModelId: this.categoryEndpoint.modelId,
        categoryModelVersion: this.categoryEndpoint.modelVersion,
        categoryPayloadLimit: String(this.categoryEndpoint.payloadLimitBytes),
        policyEndpoint: this.policyEndpoint.endpointName,
        policyModelId: this.policyEndpoint.modelId,
        policyModelVersion: this.policyEndpoint.modelVersion,
        policyPayloadLimit: String(this.policyEndpoint.payloadLimitBytes),
        // The concurrency guard's slots per endpoint: what the endpoint serves at once (instance endpoints queue
        // instead of throttling, so the map's concurrency bounds them).
        categoryEndpointConcurrency: String(this.categoryEndpoint.maxConcurrentInvocations ?? mapConcurrency),
        policyEndpointConcurrency: String(this.policyEndpoint.maxConcurrentInvocations ?? mapConcurrency),
      },
    });

    this.stateMachine = new TriageStateMachine(this, 'Pipeline', {
      functions: this.pipeline.functions,
      dataBucket: this.storage.dataBucket,
      maxConcurrency: mapConcurrency,
      assetsPerChild: props.assetsPerChild,
    });

    this.operators = new OperatorAccess(this, 'Operators', {
      stateMachine: this.stateMachine.stateMachine,
      mapLabel: STATE_NAMES.map,
      reviewQueue: this.review.queue,
      reviewDeadLetterQueue: this.review.deadLetterQueue,
    });

    this.analytics = new ReportAnalytics(this, 'Analytics', { reportsBucket: this.storage.reportsBucket, encryptionKey });

    this.triggerDeadLetterQueue = new Queue(this, 'TriggerDeadLetter', {
      ...queueEncryption(encryptionKey),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    if (encryptionKey !== undefined) {
      // The Distributed Map reads items.jsonl and writes its results in the data bucket itself (no CDK grant adds the key).
      encryptionKey.grant(this.stateMachine.stateMachine, 'kms:Decrypt', 'kms:GenerateDataKey');
      // EventBridge dead-letters undeliverable events into the KMS-encrypted queue as itself, so the key policy must
      // say so (scoped to this account; the rule's ARN would make a cycle: rule → queue → key → rule).
      encryptionKey.grant(
        new ServicePrincipal('events.amazonaws.com').withConditions({ StringEquals: { 'aws:SourceAccount': this.account } }),
        'kms:Decrypt',
        'kms:GenerateDataKey',
      );
    }
    new Rule(this, 'BatchUploaded', {
      description: `Starts the triage state machine when a batch archive lands under ${INCOMING_PREFIX}`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [this.storage.dataBucket.bucketName] },
          object: { key: Match.wildcard(`${INCOMING_PREFIX}*.zip`) },
        },
      },
      targets: [
        new SfnStateMachine(this.stateMachine.stateMachine, {
          // The same fields the nightly sweep starts a re-driven batch with (lambdas/core/batch-start.ts).
          input: RuleTargetInput.fromObject(
            batchStartInput({
              bucket: EventField.fromPath('$.detail.bucket.name'),
              key: EventField.fromPath('$.detail.object.key'),
              receivedAt: EventField.time,
            }),
          ),
          deadLetterQueue: this.triggerDeadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    this.nightly = new NightlySchedule(this, 'Nightly', { target: this.pipeline.functions.Nightly, scheduleExpression: props.nightlySchedule, encryptionKey });
    const contextEmail: unknown = this.node.tryGetContext('alarmEmail');
    this.monitoring = new Monitoring(this, 'Monitoring', {
      stateMachine: this.stateMachine.stateMachine,
      mapRunLabel: STATE_NAMES.map,
      functions: this.pipeline.functions,
      triggerDeadLetterQueue: this.triggerDeadLetterQueue,
      reviewQueue: this.review.queue,
      reviewDeadLetterQueue: this.review.deadLetterQueue,
      nightlyDeadLetterQueue: this.nightly.deadLetterQueue,
      endpoints: [
        { model: 'category', endpointName: this.categoryEndpoint.endpointName, variantName: this.categoryEndpoint.variantName },
        { model: 'policy', endpointName: this.policyEndpoint.endpointName, variantName: this.policyEndpoint.variantName },
      ],
      existingAlarms: [this.reviewers.backlogAlarm, ...this.categoryEndpoint.rollbackAlarms, ...this.policyEndpoint.rollbackAlarms],
      metricsNamespace,
      metricsService: this.stackName,
      alarmEmail: props.alarmEmail ?? (typeof contextEmail === 'string' ? contextEmail : undefined),
      thresholds: props.alarmThresholds,
    });

    new CfnOutput(this, 'UploadLocation', {
      value: `s3://${this.storage.dataBucket.bucketName}/${INCOMING_PREFIX}`,
      description: 'Upload batch archives (<name>.zip) here',
    });
    new CfnOutput(this, 'ReportsLocation', { value: `s3://${this.storage.reportsBucket.bucketName}/reports/` });
    new CfnOutput(this, 'AthenaWorkGroup', {
      value: this.analytics.workGroup.ref,
      description: `Athena workgroup for the report tables (database ${this.analytics.databaseName}; named queries: README "Report tables")`,
    });
    new CfnOutput(this, 'ReviewQueueUrl', { value: this.review.queue.queueUrl });
    new CfnOutput(this, 'ReviewerPolicyArn', {
      value: this.reviewers.policy.managedPolicyArn,
      description: 'Attach to the reviewers’ role or permission set (media-triage review … --stack)',
    });
    new CfnOutput(this, 'OperatorPolicyArn', {
      value: this.operators.policy.managedPolicyArn,
      description: 'Attach to the on-call role: redrive batch executions and Map Runs, redrive the review dead-letter queue (README "Recovery")',
    });
    new CfnOutput(this, 'RecordsTableName', { value: this.records.table.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachine.stateMachineArn });
    new CfnOutput(this, 'CategoryEndpointName', {
      value: this.categoryEndpoint.endpointName,
      description: 'media-triage model rollback category --endpoint <this> --to <version>',
    });
    new CfnOutput(this, 'PolicyEndpointName', {
      value: this.policyEndpoint.endpointName,
      description: 'media-triage model rollback policy --endpoint <this> --to <version>',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn, description: 'Every alarm notifies this SNS topic' });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName, description: 'CloudWatch dashboard of the pipeline' });
    acknowledgeNagFindings(this);
    new CfnOutput(this, 'ConfigVersions', { value: `taxonomy ${taxonomy.version}, triage policy ${triagePolicy.version}` });
  }
}
