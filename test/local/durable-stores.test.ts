/**
 * The durable S3 and SQS stores against the real SDK clients: what one server was told is restored by the next
 * server started on the same state folder while the first is still running — i.e. without any save at exit, as
 * after a SIGKILL — including receive counts, in-flight visibility and receipt handles, FIFO deduplication and
 * sequence numbers, object metadata, and keys a file system cannot hold as names.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { interceptLocalhostDns } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importLegacySqsSnapshot } from '../../local/durable/legacy-sqs';
import { startFauxqsServer, type FauxqsHandle } from '../../local/fauxqs-server';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let dir: string;
let restoreDns: () => void;
const servers: FauxqsHandle[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-stores-'));
  restoreDns = interceptLocalhostDns();
});
afterAll(async () => {
  for (const server of servers) await server.stop();
  restoreDns();
  await rm(dir, { recursive: true, force: true });
});

async function server(stateDir: string): Promise<{ handle: FauxqsHandle; s3: S3Client; sqs: SQSClient }> {
  const handle = await startFauxqsServer({ stateDir, region: 'us-east-1', host: 'localhost' });
  servers.push(handle);
  return {
    handle,
    s3: new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${handle.port}`, forcePathStyle: true, credentials }),
    sqs: new SQSClient({ region: 'us-east-1', endpoint: `http://sqs.us-east-1.localhost:${handle.port}`, credentials }),
  };
}

describe('durable SQS', () => {
  it('restores messages with receive counts, in-flight receipts and the dead-letter move', async () => {
    const stateDir = path.join(dir, 'sqs');
    const first = await server(stateDir);
    first.handle.ensureQueue('dlq', { region: 'us-east-1', attributes: {} });
    const redrive = JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:dlq', maxReceiveCount: 1 });
    const { queueUrl } = first.handle.ensureQueue('work', { region: 'us-east-1', attributes: { VisibilityTimeout: '300', RedrivePolicy: redrive } });
    const sent = [];
    for (const body of ['one', 'two', 'three'])
      sent.push(
        (
          await first.sqs.send(
            new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: { kind: { DataType: 'String', StringValue: body } } }),
          )
        ).MessageId!,
      );
    const received = (await first.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 2 }))).Messages!;
    expect(received).toHaveLength(2);
    const [held, released] = received as [{ ReceiptHandle: string; MessageId: string }, { ReceiptHandle: string; MessageId: string }];
    // One goes back to visible at once; one stays held for 300 s.
    await first.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: released.ReceiptHandle, VisibilityTimeout: 0 }));
    const deletedId = sent.find((id) => id !== held.MessageId && id !== released.MessageId)!;
    const third = (await first.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }))).Messages!;
    // `released` was received a second time: past maxReceiveCount 1, so fauxqs moved it to the DLQ.
    const deleteHandle = third.find((message) => message.MessageId === deletedId)!.ReceiptHandle!;
    await first.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: deleteHandle }));

    // A second server on the same folder, the first never stopped: nothing was saved at exit.
    const second = await server(stateDir);
    const work = second.handle.inspectQueue('work')!;
    const dlq = second.handle.inspectQueue('dlq')!;
    expect(work.messages.ready).toHaveLength(0);
    expect(work.messages.inflight.map((entry) => entry.message.messageId)).toEqual([held.MessageId]);
    expect(work.messages.inflight[0]!.message.approximateReceiveCount).toBe(1);
    expect(work.messages.inflight[0]!.visibilityDeadline).toBeGreaterThan(Date.now() + 200_000);
    expect(dlq.messages.ready.map((message) => message.messageId)).toEqual([released.MessageId]);
    expect(dlq.messages.ready[0]!.approximateReceiveCount).toBe(2);
    expect(work.attributes['RedrivePolicy']).toBe(redrive);
    // ensureQueue on a restored queue keeps its messages (the session does this on every start).
    const again = second.handle.ensureQueue('work', { region: 'us-east-1', attributes: { VisibilityTimeout: '300', RedrivePolicy: redrive } });
    expect(second.handle.inspectQueue('work')!.messages.inflight).toHaveLength(1);
    // The consumer's receipt handle from before the restart still deletes the message.
    await second.sqs.send(new DeleteMessageCommand({ QueueUrl: again.queueUrl, ReceiptHandle: held.ReceiptHandle }));
    const dlqMessage = (
      await second.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: second.handle.ensureQueue('dlq', { region: 'us-east-1', attributes: {} }).queueUrl,
          MessageAttributeNames: ['All'],
        }),
      )
    ).Messages!;
    expect(dlqMessage.map((message) => [message.MessageId, message.Body, message.MessageAttributes?.['kind']?.StringValue])).toEqual([
      [released.MessageId, 'two', 'two'],
    ]);

    const restarted = await server(stateDir);
    expect(restarted.handle.inspectQueue('work')!.messages.inflight).toHaveLength(0);
    expect(restarted.handle.inspectQueue('dlq')!.messages.inflight.map((entry) => entry.message.approximateReceiveCount)).toEqual([3]);
  });

  it('keeps FIFO order, group ids, sequence numbers and the deduplication window across a restart', async () => {
    const stateDir = path.join(dir, 'fifo');
    const first = await server(stateDir);
    const { queueUrl } = first.handle.ensureQueue('review.fifo', {
      region: 'us-east-1',
      attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
    });
    const ids: string[] = [];
    const sequences: string[] = [];
    for (const n of [1, 2, 3]) {
      const sent = await first.sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `m${n}`, MessageGroupId: 'g', MessageDeduplicationId: `d${n}` }),
      );
      ids.push(sent.MessageId!);
      sequences.push(sent.SequenceNumber!);
    }
    const second = await server(stateDir);
    const url = second.handle.ensureQueue('review.fifo', {
      region: 'us-east-1',
      attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'false' },
    }).queueUrl;
    const duplicate = await second.sqs.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'm2 again', MessageGroupId: 'g', MessageDeduplicationId: 'd2' }),
    );
    expect(duplicate.MessageId).toBe(ids[1]);
    const next = await second.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'm4', MessageGroupId: 'g', MessageDeduplicationId: 'd4' }));
    expect(BigInt(next.SequenceNumber!)).toBeGreaterThan(BigInt(sequences[2]!));
    const order: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const [message] = (await second.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Messages!;
      expect(message!.Attributes?.['MessageGroupId']).toBe('g');
      order.push(message!.Body!);
      await second.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle! }));
    }
    expect(order).toEqual(['m1', 'm2', 'm3', 'm4']);
  });
});

describe('state folders of the save-at-exit format', () => {
  it('imports the old sqs.json once into the journal', async () => {
    const stateDir = path.join(dir, 'legacy');
    await mkdir(stateDir, { recursive: true });
    const legacy = [
      {
        name: 'ReviewQueueX',
        attributes: { VisibilityTimeout: '30', QueueArn: 'arn:x', ApproximateNumberOfMessages: '2' },
        messages: [{ body: '{"a":1}' }, { body: '{"a":2}', attributes: { outcome: { DataType: 'String', StringValue: 'FLAGGED' } } }],
      },
    ];
    await writeFile(path.join(stateDir, 'sqs.json'), JSON.stringify(legacy));
    await importLegacySqsSnapshot(stateDir);
    expect(existsSync(path.join(stateDir, 'sqs.json'))).toBe(false);
    const { handle } = await server(stateDir);
    const queue = handle.inspectQueue('ReviewQueueX')!;
    expect(queue.messages.ready.map((message) => message.body)).toEqual(['{"a":1}', '{"a":2}']);
    expect(queue.attributes['VisibilityTimeout']).toBe('30');
  });
});

describe('durable S3', () => {
  it('writes objects through as a file tree and restores them with their metadata', async () => {
    const stateDir = path.join(dir, 's3');
    const first = await server(stateDir);
    first.handle.createBucket('data');
    first.handle.createBucket('empty');
    const keys = ['reports/a.csv', 'odd//double', 'dot/./x', 'up/../y', 'pct%20name', 'trailing/'];
    for (const key of keys) {
      await first.s3.send(
        new PutObjectCommand({ Bucket: 'data', Key: key, Body: Buffer.from(`body of ${key}`), ContentType: 'text/csv', Metadata: { origin: 'test' } }),
      );
    }
    await first.s3.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'trailing/' }));
    // Multipart: two parts, the first at the 5 MiB minimum.
    const upload = await first.s3.send(new CreateMultipartUploadCommand({ Bucket: 'data', Key: 'big.zip', ContentType: 'application/zip' }));
    const partA = Buffer.alloc(5 * 1024 * 1024, 1);
    const partB = Buffer.from('tail');
    const etagA = (await first.s3.send(new UploadPartCommand({ Bucket: 'data', Key: 'big.zip', UploadId: upload.UploadId, PartNumber: 1, Body: partA }))).ETag!;
    const etagB = (await first.s3.send(new UploadPartCommand({ Bucket: 'data', Key: 'big.zip', UploadId: upload.UploadId, PartNumber: 2, Body: partB }))).ETag!;
    const completed = await first.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'data',
        Key: 'big.zip',
        UploadId: upload.UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: etagA },
            { PartNumber: 2, ETag: etagB },
          ],
        },
      }),
    );

    expect(readFileSync(path.join(stateDir, 's3', 'data', 'reports', 'a.csv'), 'utf8')).toBe('body of reports/a.csv');

    const second = await server(stateDir);
    const listed = (await second.s3.send(new ListObjectsV2Command({ Bucket: 'data' }))).Contents!.map((object) => object.Key).sort();
    expect(listed).toEqual([...keys.filter((key) => key !== 'trailing/'), 'big.zip'].sort());
    for (const key of keys.filter((k) => k !== 'trailing/')) {
      const object = await second.s3.send(new GetObjectCommand({ Bucket: 'data', Key: key }));
      expect(await object.Body!.transformToString()).toBe(`body of ${key}`);
      expect(object.ContentType).toBe('text/csv');
      expect(object.Metadata).toEqual({ origin: 'test' });
    }
    const big = await second.s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'big.zip' }));
    expect(big.ETag).toBe(completed.ETag);
    expect(big.ContentLength).toBe(partA.length + partB.length);
    expect((await second.s3.send(new ListObjectsV2Command({ Bucket: 'empty' }))).KeyCount).toBe(0);
  });
});
