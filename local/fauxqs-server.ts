/**
 * The S3 + SQS stand-in: fauxqs's Fastify app built with our stores, listening on 127.0.0.1 only. With a state
 * folder the stores are durable (objects written through as a file tree, SQS changes journaled before each
 * response, see `durable/`); without one they are fauxqs's in-memory stores (tests).
 *
 * This replaces `startFauxqs`, which cannot take stores and listens on every interface.
 */
import path from 'node:path';
import { buildApp } from 'fauxqs';
import { DurableS3Store } from './durable/s3-store';
import { DurableSqsStore } from './durable/sqs-store';
import { S3Store, SnsStore, SqsStore, type SqsMessage } from './durable/fauxqs-internals';

export interface QueueSnapshot {
  name: string;
  url: string;
  arn: string;
  attributes: Record<string, string>;
  messages: {
    ready: SqsMessage[];
    delayed: SqsMessage[];
    inflight: Array<{ message: SqsMessage; receiptHandle: string; visibilityDeadline: number }>;
  };
}

export interface FauxqsHandle {
  readonly port: number;
  /** Non-destructive look at a queue's messages; undefined when there is no such queue. */
  inspectQueue(name: string): QueueSnapshot | undefined;
  createBucket(name: string): void;
  /**
   * Creates the queue, or — when it exists (restored from the state folder) — keeps it and its messages and
   * applies the attributes. Never replaces a queue: that would drop what it holds.
   */
  ensureQueue(name: string, options: { region: string; attributes: Record<string, string> }): { queueUrl: string };
  stop(): Promise<void>;
}

/** Where the durable stores keep their files inside the state folder. */
export function fauxqsStatePaths(stateDir: string): { s3Dir: string; sqsJournal: string } {
  return { s3Dir: path.join(stateDir, 's3'), sqsJournal: path.join(stateDir, 'sqs.journal.jsonl') };
}

export async function startFauxqsServer(options: { stateDir?: string; region: string; host: string }): Promise<FauxqsHandle> {
  const paths = options.stateDir === undefined ? undefined : fauxqsStatePaths(options.stateDir);
  const s3Store = paths === undefined ? new S3Store() : new DurableS3Store(paths.s3Dir);
  const durableSqs = paths === undefined ? undefined : new DurableSqsStore(paths.sqsJournal);
  const sqsStore = durableSqs ?? new SqsStore();
  const app = buildApp({ logger: false, host: options.host, defaultRegion: options.region, stores: { sqsStore, snsStore: new SnsStore(), s3Store } });
  if (durableSqs !== undefined) {
    // Runs after the action and before the response is written: what a client is told happened is on disk.
    app.addHook('onSend', (_request: unknown, _reply: unknown, payload: unknown, done: (error: Error | null, payload?: unknown) => void) => {
      try {
        durableSqs.flush();
        done(null, payload);
      } catch (error) {
        done(error as Error);
      }
    });
  }
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const port = Number(new URL(address).port);
  durableSqs?.open(port);

  return {
    port,
    inspectQueue: (name) => sqsStore.inspectQueue(name),
    createBucket: (name) => s3Store.createBucket(name),
    ensureQueue(name, { region, attributes }) {
      const existing = sqsStore.getQueueByName(name);
      if (existing !== undefined) {
        existing.setAttributes(attributes);
        durableSqs?.flush();
        return { queueUrl: existing.url };
      }
      const url = sqsStore.buildQueueUrl(name, String(port), `127.0.0.1:${port}`, region);
      const arn = `arn:aws:sqs:${region}:000000000000:${name}`;
      sqsStore.createQueue(name, url, arn, attributes);
      durableSqs?.flush();
      return { queueUrl: url };
    },
    async stop() {
      await app.close();
      durableSqs?.close();
    },
  };
}
