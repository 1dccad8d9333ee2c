/**
 * The media-triage stack: storage, records table, review queue, the two model endpoints, the Lambda stages, the
 * state machine and the EventBridge rule that starts it when a batch archive lands under `incoming/`.
 */
import { CfnOutput, Duration, Stack, Token, type StackProps } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, EventField, Match } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import packageJson from '../package.json';
import { loadTaxonomy } from '../lambdas/core/taxonomy';
import { loadTriagePolicy } from '../lambdas/core/triage-policy';
import {
  HuggingFaceEndpoint,
  type HuggingFaceEndpointCompute,
  type HuggingFaceEndpointProps,
  type HuggingFaceModelSource,
  type ModelVersion,
} from './constructs/hugging-face-endpoint';
import { OperatorAccess } from './constructs/operator-access';
import { PipelineFunctions } from './constructs/pipeline-functions';
import { RecordsTable } from './constructs/records-table';
import { ReportAnalytics } from './constructs/report-analytics';
import { ReviewQueue } from './constructs/review-queue';
import { ReviewerAccess } from './constructs/reviewer-access';
import { MODEL_INPUT_PREFIX } from '../lambdas/core/work-items';
import { TriageStorage } from './constructs/storage';
import { STATE_NAMES, TriageStateMachine } from './constructs/triage-state-machine';
import { acknowledgeNagFindings } from './nag-acknowledgements';

/** Key prefix and suffix of batch uploads that start the pipeline. */
export const INCOMING_PREFIX = 'incoming/';

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

  constructor(scope: Construct, id: string, props: MediaTriageStackProps = {}) {
    super(scope, id, props);
    if (Token.isUnresolved(this.region)) {
      throw new Error('media-triage needs a region: set env.region on the stack (CDK_DEFAULT_REGION) or the "region" context value');
    }
    // Validate the configuration at synth time, with the same code the Lambdas run at start.
    const taxonomy = loadTaxonomy();
    const triagePolicy = loadTriagePolicy();

    this.storage = new TriageStorage(this, 'Storage');
    this.records = new RecordsTable(this, 'Records');
    this.review = new ReviewQueue(this, 'Review');
    this.reviewers = new ReviewerAccess(this, 'Reviewers', {
      reviewQueue: this.review.queue,
      table: this.records.table,
      dataBucket: this.storage.dataBucket,
      imagePrefix: MODEL_INPUT_PREFIX,
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
      settings: {
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

    this.analytics = new ReportAnalytics(this, 'Analytics', { reportsBucket: this.storage.reportsBucket });

    this.triggerDeadLetterQueue = new Queue(this, 'TriggerDeadLetter', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
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
          input: RuleTargetInput.fromObject({
            bucket: EventField.fromPath('$.detail.bucket.name'),
            key: EventField.fromPath('$.detail.object.key'),
            receivedAt: EventField.time,
          }),
          deadLetterQueue: this.triggerDeadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(24),
        }),
      ],
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
    acknowledgeNagFindings(this);
    new CfnOutput(this, 'ConfigVersions', { value: `taxonomy ${taxonomy.version}, triage policy ${triagePolicy.version}` });
  }
}
