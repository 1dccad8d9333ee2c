/**
 * The SQS journal: one JSON line per change of a queue or a message, appended before fauxqs answers the request
 * that made the change, and replayed (then compacted) when the stand-ins start.
 *
 * Messages are keyed by their id (a UUID, unique across queues), and each line carries the state it leaves the
 * message in, so replay is a fold: the last line about a message wins, and a message moving to its dead-letter
 * queue is simply a `message` line naming the other queue. What time alone changes (an in-flight message whose
 * visibility timeout ran out, a delayed message coming due) is not journaled: the saved deadline says it.
 *
 * FIFO: group and deduplication ids and sequence numbers travel on the messages; the deduplication cache has its
 * own lines (with their expiry), so a resend after a restart is still recognised within the 5-minute window.
 */
import { readFileSync } from 'node:fs';
import type { SqsMessage } from './fauxqs-internals';

export type JournalLine =
  | { t: 'queue'; name: string; arn: string; attributes: Record<string, string>; tags: Record<string, string> }
  | { t: 'dropQueue'; name: string }
  | { t: 'message'; queue: string; message: SqsMessage; inflight?: { receiptHandle: string; visibilityDeadline: number } }
  | { t: 'received'; id: string; receiveCount: number; firstReceived?: number; receiptHandle: string; visibilityDeadline: number }
  | { t: 'visible'; id: string }
  | { t: 'visibility'; id: string; visibilityDeadline: number }
  | { t: 'deleted'; id: string }
  | { t: 'purged'; queue: string }
  | { t: 'dedup'; queue: string; dedupId: string; messageId: string; sequenceNumber?: string; expiresAt: number };

export interface SavedMessage {
  message: SqsMessage;
  /** Present while a consumer holds the message: its receipt handle stays valid until the deadline. */
  inflight?: { receiptHandle: string; visibilityDeadline: number };
}

export interface SavedQueue {
  name: string;
  arn: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  messages: SavedMessage[];
  dedup: Array<{ dedupId: string; messageId: string; sequenceNumber?: string; expiresAt: number }>;
}

/** Folds journal lines into the queues they describe (in journal order; unknown or torn lines are skipped). */
export function replayJournal(lines: Iterable<JournalLine>, now = Date.now()): SavedQueue[] {
  const queues = new Map<string, SavedQueue>();
  const messages = new Map<string, SavedMessage & { queue: string }>();
  const dedup = new Map<string, Map<string, SavedQueue['dedup'][number]>>();
  for (const line of lines) {
    switch (line.t) {
      case 'queue': {
        const existing = queues.get(line.name);
        queues.set(line.name, { name: line.name, arn: line.arn, attributes: line.attributes, tags: line.tags, messages: existing?.messages ?? [], dedup: [] });
        break;
      }
      case 'dropQueue':
        queues.delete(line.name);
        dedup.delete(line.name);
        for (const [id, saved] of messages) if (saved.queue === line.name) messages.delete(id);
        break;
      case 'message':
        messages.delete(line.message.messageId);
        messages.set(line.message.messageId, { queue: line.queue, message: line.message, inflight: line.inflight });
        break;
      case 'received': {
        const saved = messages.get(line.id);
        if (saved === undefined) break;
        saved.message.approximateReceiveCount = line.receiveCount;
        if (line.firstReceived !== undefined) saved.message.approximateFirstReceiveTimestamp = line.firstReceived;
        saved.inflight = { receiptHandle: line.receiptHandle, visibilityDeadline: line.visibilityDeadline };
        break;
      }
      case 'visible': {
        const saved = messages.get(line.id);
        if (saved !== undefined) saved.inflight = undefined;
        break;
      }
      case 'visibility': {
        const saved = messages.get(line.id);
        if (saved?.inflight !== undefined) saved.inflight.visibilityDeadline = line.visibilityDeadline;
        break;
      }
      case 'deleted':
        messages.delete(line.id);
        break;
      case 'purged':
        for (const [id, saved] of messages) if (saved.queue === line.queue) messages.delete(id);
        break;
      case 'dedup': {
        const entries = dedup.get(line.queue) ?? new Map();
        entries.set(line.dedupId, { dedupId: line.dedupId, messageId: line.messageId, sequenceNumber: line.sequenceNumber, expiresAt: line.expiresAt });
        dedup.set(line.queue, entries);
        break;
      }
      default:
        break;
    }
  }
  for (const { queue, ...saved } of messages.values()) {
    // A timed-out receipt is a visible message again, as SQS would have made it.
    if (saved.inflight !== undefined && saved.inflight.visibilityDeadline <= now) saved.inflight = undefined;
    queues.get(queue)?.messages.push(saved);
  }
  for (const [name, entries] of dedup) {
    const queue = queues.get(name);
    if (queue !== undefined) queue.dedup = [...entries.values()].filter((entry) => entry.expiresAt > now);
  }
  return [...queues.values()];
}

/** The lines that recreate these queues, for the compacted journal. */
export function compactLines(queues: SavedQueue[]): JournalLine[] {
  const lines: JournalLine[] = [];
  for (const queue of queues) {
    lines.push({ t: 'queue', name: queue.name, arn: queue.arn, attributes: queue.attributes, tags: queue.tags });
    for (const saved of queue.messages) lines.push({ t: 'message', queue: queue.name, message: saved.message, inflight: saved.inflight });
    for (const entry of queue.dedup) lines.push({ t: 'dedup', queue: queue.name, ...entry });
  }
  return lines;
}

export function parseJournal(text: string): JournalLine[] {
  const lines: JournalLine[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      lines.push(JSON.parse(line) as JournalLine);
    } catch {
      // Only the last line can be torn (a kill mid-append); the request it belonged to was never answered.
    }
  }
  return lines;
}

/** The saved queues of a state folder's journal, as the next start would restore them (tests, tools). */
export function readJournalFile(file: string, now = Date.now()): SavedQueue[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return replayJournal(parseJournal(text), now);
}
