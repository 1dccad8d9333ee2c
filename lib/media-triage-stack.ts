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
import { HuggingFaceEndpoint, type HuggingFaceEndpointCompute, type HuggingFaceModelSource } from './constructs/hugging-face-endpoint';
import { PipelineFunctions } from './constructs/pipeline-functions';
import { RecordsTable } from './constructs/records-table';
import { ReviewQueue } from './constructs/review-queue';
import { TriageStorage } from './constructs/storage';
import { TriageStateMachine } from './constructs/triage-state-machine';
import { acknowledgeNagFindings } from './nag-acknowledgements';

/** Key prefix and suffix of batch uploads that start the pipeline. */
export const INCOMING_PREFIX = 'incoming/';

export interface ModelEndpointSettings {
  readonly model: HuggingFaceModelSource;
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
   * Child executions of the map running at once.
   * @default the lower of the two endpoints' concurrency (serverless: maxConcurrency), or 5
   */
  readonly maxConcurrency?: number;
}

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

export class MediaTriageStack extends Stack {
  readonly storage: TriageStorage;
  readonly records: RecordsTable;
  readonly review: ReviewQueue;
  readonly categoryEndpoint: HuggingFaceEndpoint;
  readonly policyEndpoint: HuggingFaceEndpoint;
  readonly pipeline: PipelineFunctions;
  readonly stateMachine: TriageStateMachine;
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

    this.categoryEndpoint = new HuggingFaceEndpoint(this, 'CategoryModel', {
      task: 'zero-shot-image-classification',
      model: props.categoryModel?.model ?? DEFAULT_CATEGORY_MODEL,
      compute: props.categoryModel?.compute,
      imageUri: props.categoryModel?.imageUri,
    });
    this.policyEndpoint = new HuggingFaceEndpoint(this, 'PolicyModel', {
      task: 'image-classification',
      model: props.policyModel?.model ?? DEFAULT_POLICY_MODEL,
      compute: props.policyModel?.compute,
      imageUri: props.policyModel?.imageUri,
    });

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
      },
    });

    this.stateMachine = new TriageStateMachine(this, 'Pipeline', {
      functions: this.pipeline.functions,
      dataBucket: this.storage.dataBucket,
      maxConcurrency: props.maxConcurrency ?? 5,
    });

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
    new CfnOutput(this, 'ReviewQueueUrl', { value: this.review.queue.queueUrl });
    new CfnOutput(this, 'RecordsTableName', { value: this.records.table.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachine.stateMachineArn });
    acknowledgeNagFindings(this);
    new CfnOutput(this, 'ConfigVersions', { value: `taxonomy ${taxonomy.version}, triage policy ${triagePolicy.version}` });
  }
}
