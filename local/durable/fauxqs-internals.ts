/**
 * fauxqs 1.9.2 exports `buildApp({ stores })` but not the store classes it expects, and its package `exports` map
 * hides `dist/`. The durable stores extend those classes, so this module loads them from the installed package's
 * files (found the way Node resolves `fauxqs`) and types them from its declarations. Pinned version: the classes'
 * shape is read in `s3-store.ts` and `sqs-store.ts`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { S3Store as S3StoreClass } from '../../node_modules/fauxqs/dist/s3/s3Store';
import type { SqsStore as SqsStoreClass, SqsQueue as SqsQueueClass } from '../../node_modules/fauxqs/dist/sqs/sqsStore';
import type { SnsStore as SnsStoreClass } from '../../node_modules/fauxqs/dist/sns/snsStore';

export type { S3Object } from '../../node_modules/fauxqs/dist/s3/s3Types';
export type { SqsMessage, InflightEntry } from '../../node_modules/fauxqs/dist/sqs/sqsTypes';
export type SqsQueue = SqsQueueClass;

function fauxqsDist(): string {
  const require = createRequire(import.meta.url);
  for (const candidate of require.resolve.paths('fauxqs') ?? []) {
    const dist = path.join(candidate, 'fauxqs', 'dist');
    if (existsSync(path.join(dist, 'app.js'))) return dist;
  }
  throw new Error('cannot find the installed fauxqs package');
}

async function load<T>(file: string, name: string): Promise<T> {
  const module = (await import(pathToFileURL(path.join(fauxqsDist(), file)).href)) as Record<string, unknown>;
  if (typeof module[name] !== 'function') throw new Error(`fauxqs ${file} no longer exports ${name}`);
  return module[name] as T;
}

export const S3Store = await load<typeof S3StoreClass>('s3/s3Store.js', 'S3Store');
export const SqsStore = await load<typeof SqsStoreClass>('sqs/sqsStore.js', 'SqsStore');
export const SnsStore = await load<typeof SnsStoreClass>('sns/snsStore.js', 'SnsStore');
export type S3Store = S3StoreClass;
export type SqsStore = SqsStoreClass;
export type SnsStore = SnsStoreClass;
