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
import type { LocalSession } from '../local/local-session';

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
  /** The local session behind a local target (the console runs batches in it). */
  session?: LocalSession;
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
  if (missing.length > 0)
    throw new TargetError(`stack ${stackName} has no output ${missing.join(', ')}: is it a media-triage stack, deployed with this version?`);
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
    if ((error as Error).name === 'ValidationError')
      throw new TargetError(`stack ${options.stack} not found in ${await cloudFormation.config.region()}: ${(error as Error).message}`);
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

/**
 * The local mode's state (`--state-dir`): holds the state dir's lock for as long as the target is open (the stand-ins
 * of two processes must never share one state dir), opens a session over it, and shows images as files of the local
 * S3 tree.
 */
export async function localTarget(options: { stateDir: string; command: string }): Promise<Target> {
  const [{ hasMarker, acquireStateLock }, { openLocalSession, loadTemplate }, { sweepStaleTempDirs }, { keyToRelativePath }, path] = await Promise.all([
    import('../local/state-dir'),
    import('../local/local-session'),
    import('../local/temp-dirs'),
    import('../local/durable/s3-paths'),
    import('node:path'),
  ]);
  if (!(await hasMarker(options.stateDir))) {
    throw new TargetError(
      `no local state in ${options.stateDir}: run a batch first (media-triage run <batch.zip> or npm run demo), or pass --state-dir / --stack`,
    );
  }
  const lock = acquireStateLock(options.stateDir, options.command);
  try {
    sweepStaleTempDirs();
    const session = await openLocalSession({ stateDir: options.stateDir, template: await loadTemplate() });
    const reviewQueue = session.stack.queues.find((queue) => queue.deadLetterTargetArn !== undefined);
    const table = session.stack.tables[0];
    if (reviewQueue === undefined || table === undefined) throw new TargetError('the synthesized template has no review queue or records table');
    const s3Dir = session.standIns.s3Dir!;
    const names: PipelineNames = {
      dataBucket: session.dataBucket,
      reportsBucket: session.reportsBucket,
      tableName: table.name,
      reviewQueueUrl: reviewQueue.url,
      stateMachineArn: session.stack.stateMachine.arn,
    };
    let closed = false;
    return {
      kind: 'local',
      description: `local state in ${options.stateDir}`,
      names,
      review: {
        tableName: names.tableName,
        reviewQueueUrl: names.reviewQueueUrl,
        dataBucket: names.dataBucket,
        imageLocation: async (bucket, key) => path.join(s3Dir, bucket, keyToRelativePath(key)),
      },
      readObject: readObjectOrUndefined,
      session,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await session.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** `--stack NAME [--region R]` → the deployed stack; otherwise the local state. */
export async function openTarget(options: { stack?: string; region?: string; stateDir: string; command: string }): Promise<Target> {
  if (options.stack !== undefined) return stackTarget({ stack: options.stack, region: options.region });
  if (options.region !== undefined) throw new TargetError('--region applies to a deployed stack: give --stack NAME too');
  return localTarget(options);
}

/** Opens the target, runs `work` on it, and closes it whatever happens. */
export async function withTarget<T>(
  options: { stack?: string; region?: string; stateDir: string; command: string },
  work: (target: Target) => Promise<T>,
): Promise<T> {
  const target = await openTarget(options);
  try {
    return await work(target);
  } finally {
    await target.close();
  }
}
