/**
 * Local stand-ins for the AWS services the pipeline talks to, all on 127.0.0.1 in this process:
 * fauxqs (S3 + SQS), dynalite (DynamoDB) and the SageMaker runtime stand-in with real models (which run in worker
 * threads of their own: local/sagemaker/model-pool.ts).
 *
 * Persistence (with a state folder): everything is on disk as it changes, before the client's request is
 * answered, so a SIGKILL at any moment loses nothing a client was told succeeded. dynalite keeps DynamoDB in
 * LevelDB; S3 objects are written through as a plain file tree (`<state>/s3/<bucket>/<key>`, where `reportsDir`
 * points); SQS queues and messages — receive counts, visibility deadlines and receipt handles, FIFO group and
 * deduplication ids, the deduplication cache — are journaled (`<state>/sqs.journal.jsonl`, compacted on start).
 * See `fauxqs-server.ts` and `durable/`.
 */
import { createRequire } from 'node:module';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import path from 'node:path';
import { interceptLocalhostDns } from 'fauxqs';
import type { Taxonomy } from '../lambdas/core/taxonomy';
import { fauxqsStatePaths, startFauxqsServer, type FauxqsHandle } from './fauxqs-server';
import { importLegacySqsSnapshot } from './durable/legacy-sqs';
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
  /** Worker threads of the SageMaker stand-in's models (default one per core). */
  modelWorkers?: number;
}

export interface StandIns {
  /** Environment that points the AWS SDK v3 at the stand-ins. */
  env: Record<string, string>;
  fauxqs: FauxqsHandle;
  /** Folder mirroring S3 (bucket/key), kept current as objects change; undefined without a state folder. */
  s3Dir?: string;
  sageMakerInvocations(): number;
  /** Starts loading the local models in their worker threads; resolves when they are ready. */
  warmUpModels(): Promise<void>;
  stop(): Promise<void>;
}

async function startDynalite(dir: string | undefined): Promise<Server> {
  if (dir !== undefined) await mkdir(dir, { recursive: true });
  const dynamo = dynalite({ path: dir, createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    dynamo.once('error', reject);
    dynamo.listen(0, '127.0.0.1', () => resolve());
  });
  return dynamo;
}

export async function startStandIns(options: StandInsOptions): Promise<StandIns> {
  const restoreDns = interceptLocalhostDns();
  if (options.stateDir !== undefined) await importLegacySqsSnapshot(options.stateDir);
  const dynamoDir = options.stateDir === undefined ? undefined : path.join(options.stateDir, 'dynamodb');
  // The three start side by side (each mostly waits on its files or its port), and none is left running if another fails.
  const starting = await Promise.allSettled([
    startFauxqsServer({ stateDir: options.stateDir, region: LOCAL_REGION, host: 'localhost' }),
    startDynalite(dynamoDir),
    startSageMakerStandIn({ endpoints: options.endpoints, taxonomy: options.taxonomy, intercept: options.intercept, modelWorkers: options.modelWorkers }),
  ]);
  const failed = starting.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) {
    const [fauxqsStart, dynamoStart, sagemakerStart] = starting;
    await Promise.allSettled([
      fauxqsStart.status === 'fulfilled' ? fauxqsStart.value.stop() : undefined,
      dynamoStart.status === 'fulfilled' ? new Promise<void>((resolve) => dynamoStart.value.close(() => resolve())) : undefined,
      sagemakerStart.status === 'fulfilled' ? sagemakerStart.value.stop() : undefined,
    ]);
    restoreDns();
    throw failed.reason;
  }
  const [fauxqs, dynamo, sagemaker] = starting.map((result) => (result as PromiseFulfilledResult<unknown>).value) as [
    FauxqsHandle,
    Server,
    Awaited<ReturnType<typeof startSageMakerStandIn>>,
  ];

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

  let stopped = false;
  return {
    env,
    fauxqs,
    s3Dir: options.stateDir === undefined ? undefined : fauxqsStatePaths(options.stateDir).s3Dir,
    sageMakerInvocations: () => sagemaker.invocations,
    warmUpModels: () => sagemaker.warmUp(),
    async stop() {
      if (stopped) return;
      stopped = true;
      // Nothing to save: every change is already on disk.
      try {
        await sagemaker.stop();
        await new Promise<void>((resolve) => dynamo.close(() => resolve()));
        await fauxqs.stop();
      } finally {
        restoreDns();
      }
    },
  };
}
