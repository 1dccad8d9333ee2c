/**
 * The one place that decides where a command's pipeline state lives. `--stack NAME [--region R]` resolves the data
 * and reports buckets, the records table, the review queue and the state machine from the deployed stack's
 * CloudFormation outputs, with the user's AWS credentials; without `--stack` the command works on the local mode's
 * state. Commands take a `Target` and never ask which kind it is.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { resetClients, s3Client } from '../lambdas/adapters/aws-clients';
import type { ReviewTarget } from '../lambdas/adapters/review-work';

/** The stack outputs a target needs (lib/media-triage-stack.ts defines them). */
export interface PipelineNames {
  dataBucket: string;
  reportsBucket: string;
  tableName: string;
  reviewQueueUrl: string;
  stateMachineArn?: string;
}

export interface Target {
  kind: 'local' | 'stack';
  /** For people: "local state in <dir>" or "stack MediaTriage in eu-west-1". */
  description: string;
  names: PipelineNames;
  review: ReviewTarget;
  /** An object's bytes, or undefined when it does not exist. */
  readObject(bucket: string, key: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

export class TargetError extends Error {
  override name = 'TargetError';
}

/** `s3://bucket/prefix/` → bucket. */
function bucketOf(location: string | undefined): string | undefined {
  const match = /^s3:\/\/([^/]+)/.exec(location ?? '');
  return match?.[1];
}

/** The names from a stack's outputs; refuses with the missing output names (an older or foreign stack). */
export function namesFromOutputs(stackName: string, outputs: Record<string, string>): PipelineNames {
  const names = {
    dataBucket: outputs['DataBucketName'] ?? bucketOf(outputs['UploadLocation']),
    reportsBucket: outputs['ReportsBucketName'] ?? bucketOf(outputs['ReportsLocation']),
    tableName: outputs['RecordsTableName'],
    reviewQueueUrl: outputs['ReviewQueueUrl'],
    stateMachineArn: outputs['StateMachineArn'],
  };
  const missing = [
    names.dataBucket === undefined ? 'UploadLocation' : undefined,
    names.reportsBucket === undefined ? 'ReportsLocation' : undefined,
    names.tableName === undefined ? 'RecordsTableName' : undefined,
    names.reviewQueueUrl === undefined ? 'ReviewQueueUrl' : undefined,
  ].filter((name): name is string => name !== undefined);
  if (missing.length > 0) throw new TargetError(`stack ${stackName} has no output ${missing.join(', ')}: is it a media-triage stack, deployed with this version?`);
  return names as PipelineNames;
}

export async function readObjectOrUndefined(bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const response = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return response.Body === undefined ? undefined : Buffer.from(await response.Body.transformToByteArray());
  } catch (error) {
    if (['NoSuchKey', 'NotFound', 'NoSuchBucket'].includes((error as Error).name)) return undefined;
    throw error;
  }
}

/** A deployed stack: names from DescribeStacks; images as presigned URLs valid for the length of a claim. */
export async function stackTarget(options: { stack: string; region?: string }): Promise<Target> {
  if (options.region !== undefined) {
    process.env['AWS_REGION'] = options.region;
    resetClients();
  }
  const cloudFormation = new CloudFormationClient({});
  let outputs: Record<string, string>;
  try {
    const described = await cloudFormation.send(new DescribeStacksCommand({ StackName: options.stack }));
    const stack = described.Stacks?.[0];
    if (stack === undefined) throw new TargetError(`stack ${options.stack} not found`);
    outputs = Object.fromEntries((stack.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']));
  } catch (error) {
    if ((error as Error).name === 'ValidationError') throw new TargetError(`stack ${options.stack} not found in ${await cloudFormation.config.region()}: ${(error as Error).message}`);
    throw error;
  } finally {
    cloudFormation.destroy();
  }
  const names = namesFromOutputs(options.stack, outputs);
  const region = process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? 'the default region';
  return {
    kind: 'stack',
    description: `stack ${options.stack} in ${region}`,
    names,
    review: {
      tableName: names.tableName,
      reviewQueueUrl: names.reviewQueueUrl,
      dataBucket: names.dataBucket,
      imageLocation: (bucket, key) => getSignedUrl(s3Client(), new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 15 * 60 }),
    },
    readObject: readObjectOrUndefined,
    close: async () => undefined,
  };
}
