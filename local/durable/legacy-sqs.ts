/**
 * State folders written before the journal kept SQS messages in `sqs.json`, saved on a clean exit. On the first
 * start with this version its messages are appended to the journal (as new messages: that format kept no ids)
 * and the file is removed, so an upgrade keeps the review queue.
 */
import { randomUUID, createHash } from 'node:crypto';
import { appendFile, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fauxqsStatePaths } from '../fauxqs-server';
import type { JournalLine } from './sqs-journal';

interface LegacyQueue {
  name: string;
  attributes: Record<string, string>;
  messages: Array<{ body: string; attributes?: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }> }>;
}

/** Attributes fauxqs computes on read; the legacy file saved them alongside the settable ones. */
const COMPUTED = /^(QueueArn|Approximate.*|CreatedTimestamp|LastModifiedTimestamp)$/;

export async function importLegacySqsSnapshot(stateDir: string, region = 'us-east-1'): Promise<void> {
  const legacy = path.join(stateDir, 'sqs.json');
  let saved: LegacyQueue[];
  try {
    saved = JSON.parse(await readFile(legacy, 'utf8')) as LegacyQueue[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`cannot read the old SQS snapshot ${legacy}: ${(error as Error).message}`);
  }
  const lines: JournalLine[] = [];
  const now = Date.now();
  for (const queue of saved) {
    const attributes = Object.fromEntries(Object.entries(queue.attributes).filter(([name]) => !COMPUTED.test(name)));
    lines.push({ t: 'queue', name: queue.name, arn: `arn:aws:sqs:${region}:000000000000:${queue.name}`, attributes, tags: {} });
    for (const message of queue.messages) {
      lines.push({
        t: 'message',
        queue: queue.name,
        message: {
          messageId: randomUUID(),
          body: message.body,
          md5OfBody: createHash('md5').update(message.body).digest('hex'),
          messageAttributes: message.attributes ?? {},
          // fauxqs recomputes nothing from this on receive; an empty digest only omits it from the response.
          md5OfMessageAttributes: '',
          sentTimestamp: now,
          approximateReceiveCount: 0,
        },
      });
    }
  }
  await appendFile(fauxqsStatePaths(stateDir).sqsJournal, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
  await rm(legacy);
}
