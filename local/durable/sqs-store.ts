/**
 * fauxqs's SQS store with a journal (see `sqs-journal.ts`). Every queue the store creates is instrumented: the
 * methods through which fauxqs's actions change messages (enqueue, dequeue, delete, change visibility, purge,
 * record a deduplication id) queue a journal line; `flush()` appends the pending lines with one synchronous write.
 * The server calls it in a Fastify `onSend` hook, i.e. after the action ran and before the response leaves, so
 * nothing a client was told happened can be lost to a SIGKILL. Cost: one small append per request that changed
 * something, never a snapshot.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { SqsStore, type SqsMessage, type SqsQueue } from './fauxqs-internals';
import { compactLines, readJournalFile, type JournalLine, type SavedQueue } from './sqs-journal';

/** fauxqs's dedup window (sqsStore.js DEDUP_WINDOW_MS). */
const DEDUP_WINDOW_MS = 5 * 60 * 1000;

interface DedupCacheInternals {
  items?: Map<string, { expiry: number }>;
}

export class DurableSqsStore extends SqsStore {
  private pending: JournalLine[] = [];
  private fd: number | undefined;
  /** Last journaled attributes + tags per queue: SetQueueAttributes and TagQueue change them in place. */
  private readonly queueShapes = new Map<string, string>();
  private restoring = false;
  private flushScheduled = false;

  constructor(private readonly journalFile: string) {
    super();
  }

  /**
   * Restores the journal's queues (their URLs built for this run's port), rewrites the journal compacted, and
   * starts appending. Call once the server listens, before any client request.
   */
  open(port: number): void {
    const saved = readJournalFile(this.journalFile);
    this.restoring = true;
    try {
      for (const queue of saved) this.restoreQueue(queue, port);
    } finally {
      this.restoring = false;
    }
    const compacted = `${this.journalFile}.compacting`;
    const fd = openSync(compacted, 'w');
    try {
      const text = compactLines(this.listQueues().map((queue) => savedShape(queue)))
        .map((line) => `${JSON.stringify(line)}\n`)
        .join('');
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(compacted, this.journalFile);
    for (const queue of this.listQueues()) this.queueShapes.set(queue.name, shapeOf(queue));
    this.fd = openSync(this.journalFile, 'a');
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Appends what changed since the last flush (one write), including queues whose attributes or tags changed. */
  flush(): void {
    for (const queue of this.listQueues()) {
      const shape = shapeOf(queue);
      if (this.queueShapes.get(queue.name) !== shape) {
        this.queueShapes.set(queue.name, shape);
        this.pending.push(queueLine(queue));
      }
    }
    if (this.pending.length === 0 || this.fd === undefined) return;
    const text = this.pending.map((line) => `${JSON.stringify(line)}\n`).join('');
    this.pending = [];
    writeSync(this.fd, text);
  }

  override createQueue(name: string, url: string, arn: string, attributes?: Record<string, string>, tags?: Record<string, string>): SqsQueue {
    const queue = super.createQueue(name, url, arn, attributes, tags);
    this.instrument(queue);
    if (!this.restoring) {
      this.queueShapes.set(name, shapeOf(queue));
      this.record(queueLine(queue));
    }
    return queue;
  }

  override deleteQueue(url: string): boolean {
    const queue = this.getQueue(url);
    const deleted = super.deleteQueue(url);
    if (deleted && queue !== undefined) {
      this.queueShapes.delete(queue.name);
      this.record({ t: 'dropQueue', name: queue.name });
    }
    return deleted;
  }

  private record(line: JournalLine): void {
    if (this.restoring) return;
    this.pending.push(line);
    // Changes made outside a request (the session creating its queues) still reach the disk promptly.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Wraps the queue's state-changing methods so each change queues its journal line. */
  private instrument(queue: SqsQueue): void {
    const enqueue = queue.enqueue.bind(queue);
    queue.enqueue = (message: SqsMessage) => {
      enqueue(message);
      this.record({ t: 'message', queue: queue.name, message: { ...message } });
    };
    const dequeue = queue.dequeue.bind(queue);
    queue.dequeue = (...args: Parameters<SqsQueue['dequeue']>) => {
      const received = dequeue(...args);
      for (const { ReceiptHandle } of received) {
        const entry = queue.inflightMessages.get(ReceiptHandle);
        if (entry === undefined) continue;
        this.record({
          t: 'received',
          id: entry.message.messageId,
          receiveCount: entry.message.approximateReceiveCount,
          firstReceived: entry.message.approximateFirstReceiveTimestamp,
          receiptHandle: ReceiptHandle,
          visibilityDeadline: entry.visibilityDeadline,
        });
      }
      return received;
    };
    const deleteMessage = queue.deleteMessage.bind(queue);
    queue.deleteMessage = (receiptHandle: string) => {
      const id = queue.inflightMessages.get(receiptHandle)?.message.messageId;
      const deleted = deleteMessage(receiptHandle);
      if (deleted && id !== undefined) this.record({ t: 'deleted', id });
      return deleted;
    };
    const changeVisibility = queue.changeVisibility.bind(queue);
    queue.changeVisibility = (receiptHandle: string, timeoutSeconds: number) => {
      const entry = queue.inflightMessages.get(receiptHandle);
      changeVisibility(receiptHandle, timeoutSeconds);
      if (entry === undefined) return;
      if (timeoutSeconds === 0) this.record({ t: 'visible', id: entry.message.messageId });
      else this.record({ t: 'visibility', id: entry.message.messageId, visibilityDeadline: entry.visibilityDeadline });
    };
    const purge = queue.purge.bind(queue);
    queue.purge = () => {
      purge();
      this.record({ t: 'purged', queue: queue.name });
    };
    const recordDeduplication = queue.recordDeduplication.bind(queue);
    queue.recordDeduplication = (dedupId: string, messageId: string, sequenceNumber?: string) => {
      recordDeduplication(dedupId, messageId, sequenceNumber);
      this.record({ t: 'dedup', queue: queue.name, dedupId, messageId, sequenceNumber, expiresAt: Date.now() + DEDUP_WINDOW_MS });
    };
  }

  private restoreQueue(saved: SavedQueue, port: number): void {
    const region = saved.arn.split(':')[3] ?? this.region ?? 'us-east-1';
    const url = this.buildQueueUrl(saved.name, String(port), `127.0.0.1:${port}`, region);
    const queue = this.createQueue(saved.name, url, saved.arn, saved.attributes, saved.tags);
    const now = Date.now();
    const ordered = queue.isFifo()
      ? [...saved.messages].sort((a, b) => (a.message.sequenceNumber ?? '').localeCompare(b.message.sequenceNumber ?? ''))
      : [...saved.messages].sort((a, b) => a.message.sentTimestamp - b.message.sentTimestamp);
    let sequence = 0;
    for (const { message, inflight } of ordered) {
      sequence = Math.max(sequence, Number(message.sequenceNumber ?? 0));
      if (inflight !== undefined) {
        queue.inflightMessages.set(inflight.receiptHandle, { message, receiptHandle: inflight.receiptHandle, visibilityDeadline: inflight.visibilityDeadline });
        if (queue.isFifo()) {
          const group = message.messageGroupId ?? '__default';
          queue.fifoLockedGroups.set(group, (queue.fifoLockedGroups.get(group) ?? 0) + 1);
        }
      } else if (queue.isFifo()) {
        const group = message.messageGroupId ?? '__default';
        const target = message.delayUntil !== undefined && message.delayUntil > now ? queue.fifoDelayed : queue.fifoMessages;
        target.set(group, [...(target.get(group) ?? []), message]);
      } else if (message.delayUntil !== undefined && message.delayUntil > now) {
        queue.delayedMessages.push(message);
      } else {
        queue.messages.push(message);
      }
    }
    for (const entry of saved.dedup) {
      sequence = Math.max(sequence, Number(entry.sequenceNumber ?? 0));
      queue.deduplicationCache.set(entry.dedupId, { messageId: entry.messageId, sequenceNumber: entry.sequenceNumber });
      // Keep the original window where the cache lets us (toad-cache FifoMap items carry their expiry).
      const item = (queue.deduplicationCache as unknown as DedupCacheInternals).items?.get(entry.dedupId);
      if (item !== undefined) item.expiry = entry.expiresAt;
    }
    queue.sequenceCounter = Math.max(queue.sequenceCounter, sequence);
  }
}

function queueLine(queue: SqsQueue): JournalLine {
  return { t: 'queue', name: queue.name, arn: queue.arn, attributes: { ...queue.attributes }, tags: Object.fromEntries(queue.tags) };
}

function shapeOf(queue: SqsQueue): string {
  return JSON.stringify([queue.attributes, [...queue.tags]]);
}

/** A live queue as the compacted journal saves it. */
function savedShape(queue: SqsQueue): SavedQueue {
  const { ready, delayed, inflight } = queue.inspectMessages();
  const items = (queue.deduplicationCache as unknown as DedupCacheInternals).items;
  const dedup: SavedQueue['dedup'] = [];
  if (items !== undefined) {
    for (const [dedupId, item] of items) {
      const value = queue.deduplicationCache.get(dedupId);
      if (value !== undefined) dedup.push({ dedupId, messageId: value.messageId, sequenceNumber: value.sequenceNumber, expiresAt: item.expiry });
    }
  }
  return {
    name: queue.name,
    arn: queue.arn,
    attributes: { ...queue.attributes },
    tags: Object.fromEntries(queue.tags),
    messages: [
      ...[...ready, ...delayed].map((message) => ({ message })),
      ...inflight.map(({ message, receiptHandle, visibilityDeadline }) => ({ message, inflight: { receiptHandle, visibilityDeadline } })),
    ],
    dedup,
  };
}
