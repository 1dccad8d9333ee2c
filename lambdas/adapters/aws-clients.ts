/**
 * One SDK client per service per process (reused across warm invocations). Endpoints come from the standard
 * AWS_ENDPOINT_URL_<SERVICE> variables, which is how the local mode points the same code at its stand-ins.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

let s3: S3Client | undefined;
let documents: DynamoDBDocumentClient | undefined;
let sqs: SQSClient | undefined;
let sagemaker: SageMakerRuntimeClient | undefined;
let sfn: SFNClient | undefined;

export function s3Client(): S3Client {
  s3 ??= new S3Client({});
  return s3;
}

export function documentClient(): DynamoDBDocumentClient {
  documents ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
  return documents;
}

export function sqsClient(): SQSClient {
  sqs ??= new SQSClient({});
  return sqs;
}

export function sageMakerClient(): SageMakerRuntimeClient {
  // Throttling is retried by the SDK's adaptive mode before the stage sees it (attempts: AWS_MAX_ATTEMPTS, default 3).
  sagemaker ??= new SageMakerRuntimeClient({ retryMode: 'adaptive' });
  return sagemaker;
}

/** Step Functions (the nightly sweep's StartExecution; locally the sweep's stand-in, local/step-functions-standin.ts). */
export function sfnClient(): SFNClient {
  sfn ??= new SFNClient({});
  return sfn;
}

/** Drops cached clients (tests that move endpoints between files). */
export function resetClients(): void {
  s3 = undefined;
  documents = undefined;
  sqs = undefined;
  sagemaker = undefined;
  sfn = undefined;
}
