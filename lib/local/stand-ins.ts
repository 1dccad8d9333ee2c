/**
 * Local stand-ins for the AWS services the pipeline talks to, all on 127.0.0.1 in this process:
 * fauxqs (S3 + SQS), dynalite (DynamoDB) and the SageMaker runtime stand-in with real models.
 *
 * Persistence: dynalite keeps DynamoDB on disk (LevelDB) under the state folder. fauxqs is in-memory only, so S3
 * objects and SQS messages are saved to the state folder when the stand-ins stop (S3 as a plain file tree, which is
 * also where `reportsDir` points) and loaded back when they start. In-flight messages come back visible, as they
 * would after their visibility timeout.
 */
import { createRequire } from 'node:module';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import { interceptLocalhostDns, startFauxqs, type FauxqsServer } from 'fauxqs';
import type { Taxonomy } from '../../lambdas/core/taxonomy';
import { startSageMakerStandIn, type SageMakerStandInOptions } from './sagemaker/standin';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './local-identity';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { path?: string; createTableMs?: number }) => Server;

export { LOCAL_ACCOUNT, LOCAL_REGION };

export interface StandInsOptions {
  /** Folder for persisted state; omit for a throwaway in-memory run (tests). */
  stateDir?: string;
  taxonomy: Taxonomy;
  endpoints: SageMakerStandInOptions['endpoints'];
  intercept?: SageMakerStandInOptions['intercept'];
}

export interface StandIns {
  /** Environment that points the AWS SDK v3 at the stand-ins. */
  env: Record<string, string>;
  fauxqs: FauxqsServer;
  /** Folder mirroring S3 (bucket/key) after `stop()`; undefined without a state folder. */
  s3Dir?: string;
  sageMakerInvocations(): number;
  stop(): Promise<void>;
}

interface SavedQueue {
  name: string;
  attributes: Record<string, string>;
  messages: Array<{ body: string; attributes?: Record<string, unknown> }>;
}

export async function startStandIns(options: StandInsOptions): Promise<StandIns> {
  const restoreDns = interceptLocalhostDns();
  const fauxqs = await startFauxqs({ port: 0, logger: false, host: 'localhost', defaultRegion: LOCAL_REGION });
  const dynamoDir = options.stateDir === undefined ? undefined : path.join(options.stateDir, 'dynamodb');
  if (dynamoDir !== undefined) await mkdir(dynamoDir, { recursive: true });
  const dynamo = dynalite({ path: dynamoDir, createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    dynamo.once('error', reject);
    dynamo.listen(0, '127.0.0.1', () => resolve());
  });
  const sagemaker = await startSageMakerStandIn({ endpoints: options.endpoints, taxonomy: options.taxonomy, intercept: options.intercept });

  const env: Record<string, string> = {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_S3: `http://s3.localhost:${fauxqs.port}`,
    // The host form of fauxqs's queue URLs, so the SDK does not warn that QueueUrl and endpoint differ.
    AWS_ENDPOINT_URL_SQS: `http://sqs.${LOCAL_REGION}.localhost:${fauxqs.port}`,
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: sagemaker.url,
  };
  const s3Dir = options.stateDir === undefined ? undefined : path.join(options.stateDir, 's3');
  const sqsFile = options.stateDir === undefined ? undefined : path.join(options.stateDir, 'sqs.json');
  if (s3Dir !== undefined) await restoreS3(fauxqs, env, s3Dir);
  if (sqsFile !== undefined) await restoreSqs(fauxqs, env, sqsFile);

  let stopped = false;
  return {
    env,
    fauxqs,
    s3Dir,
    sageMakerInvocations: () => sagemaker.invocations,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (s3Dir !== undefined) await saveS3(env, s3Dir);
        if (sqsFile !== undefined) await saveSqs(fauxqs, sqsFile);
      } finally {
        await sagemaker.stop();
        await new Promise<void>((resolve) => dynamo.close(() => resolve()));
        await fauxqs.stop();
        restoreDns();
      }
    },
  };
}

async function s3ClientFor(env: Record<string, string>) {
  const { S3Client } = await import('@aws-sdk/client-s3');
  // Path-style on the bare host: fauxqs would read the `s3.` of `s3.localhost` as a bucket name for ListBuckets.
  return new S3Client({
    region: env['AWS_REGION'],
    endpoint: env['AWS_ENDPOINT_URL_S3']!.replace('//s3.localhost', '//localhost'),
    forcePathStyle: true,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** Writes every object as `<s3Dir>/<bucket>/<key>`: a plain folder a user can open (reports land here). */
async function saveS3(env: Record<string, string>, s3Dir: string): Promise<void> {
  const { ListBucketsCommand, GetObjectCommand, paginateListObjectsV2 } = await import('@aws-sdk/client-s3');
  const s3 = await s3ClientFor(env);
  const staging = `${s3Dir}.saving`;
  await rm(staging, { recursive: true, force: true });
  const buckets = (await s3.send(new ListBucketsCommand({}))).Buckets ?? [];
  for (const bucket of buckets) {
    const bucketDir = path.join(staging, bucket.Name!);
    await mkdir(bucketDir, { recursive: true });
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket.Name! })) {
      for (const object of page.Contents ?? []) {
        const body = await s3.send(new GetObjectCommand({ Bucket: bucket.Name!, Key: object.Key! }));
        const target = path.join(bucketDir, ...object.Key!.split('/'));
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, await body.Body!.transformToByteArray());
      }
    }
  }
  // Swap in one step so an interrupted save never leaves a half-written mirror behind.
  await rm(s3Dir, { recursive: true, force: true });
  const { rename } = await import('node:fs/promises');
  await rename(staging, s3Dir);
}

async function restoreS3(fauxqs: FauxqsServer, env: Record<string, string>, s3Dir: string): Promise<void> {
  const { Upload } = await import('@aws-sdk/lib-storage');
  const buckets = await readdir(s3Dir, { withFileTypes: true }).catch(() => []);
  const s3 = await s3ClientFor(env);
  for (const bucket of buckets) {
    if (!bucket.isDirectory()) continue;
    fauxqs.createBucket(bucket.name);
    const root = path.join(s3Dir, bucket.name);
    for (const file of await readdir(root, { recursive: true, withFileTypes: true })) {
      if (!file.isFile()) continue;
      const full = path.join(file.parentPath, file.name);
      const key = path.relative(root, full).split(path.sep).join('/');
      await new Upload({ client: s3, params: { Bucket: bucket.name, Key: key, Body: await readFile(full) } }).done();
    }
  }
}

async function saveSqs(fauxqs: FauxqsServer, sqsFile: string): Promise<void> {
  const saved: SavedQueue[] = [];
  for (const name of knownQueues) {
    const queue = fauxqs.inspectQueue(name);
    if (queue === undefined) continue;
    const messages = [...queue.messages.ready, ...queue.messages.delayed, ...queue.messages.inflight.map((m) => m.message)];
    saved.push({
      name,
      attributes: queue.attributes,
      messages: messages.map((message) => ({ body: message.body, attributes: message.messageAttributes as Record<string, unknown> })),
    });
  }
  await writeFile(sqsFile, `${JSON.stringify(saved, null, 2)}\n`);
}

async function restoreSqs(fauxqs: FauxqsServer, env: Record<string, string>, sqsFile: string): Promise<void> {
  let saved: SavedQueue[];
  try {
    saved = JSON.parse(await readFile(sqsFile, 'utf8')) as SavedQueue[];
  } catch {
    return;
  }
  const { SQSClient, SendMessageCommand } = await import('@aws-sdk/client-sqs');
  const sqs = new SQSClient({ region: env['AWS_REGION'], endpoint: env['AWS_ENDPOINT_URL_SQS'], credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  for (const queue of saved) {
    const { queueUrl } = fauxqs.createQueue(queue.name);
    knownQueues.add(queue.name);
    for (const message of queue.messages) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: message.body,
          MessageAttributes: message.attributes as never,
        }),
      );
    }
  }
}

/** Queue names this process created or restored (fauxqs has no list-by-inspection API). */
const knownQueues = new Set<string>();

export function rememberQueue(name: string): void {
  knownQueues.add(name);
}
