/**
 * The input a triage execution starts with. The stack's EventBridge rule builds it from the S3 "Object Created" event
 * (its input transformer: lib/media-triage-stack.ts calls {@link batchStartInput} with the event's fields) and the
 * nightly sweep builds it from the listed object, so a re-driven batch starts exactly as an uploaded one does.
 */

export interface BatchStartInput<T = string> {
  bucket: T;
  /** The object key (the event's may be URL-encoded; PrepareBatch tries both forms). */
  key: T;
  /** When the archive was received: the event time, or the object's LastModified. Fixes the reports' dt partition. */
  receivedAt: T;
}

/** The execution input, field for field; `T` is a string here and a CDK EventField token in the stack. */
export function batchStartInput<T>(fields: BatchStartInput<T>): BatchStartInput<T> {
  return { bucket: fields.bucket, key: fields.key, receivedAt: fields.receivedAt };
}

/** EventBridge's event time format (seconds, no milliseconds): what `receivedAt` looks like for an uploaded batch. */
export function eventTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Step Functions execution names: 1-80 characters of letters, digits, `-` and `_`. */
const EXECUTION_NAME_MAX = 80;

/**
 * The sweep's execution name for a batch on a given night: deterministic, so a second sweep the same day (a Scheduler
 * retry, a manual run) gets ExecutionAlreadyExists instead of starting the batch twice.
 */
export function sweepExecutionName(batchId: string, night: Date): string {
  const day = night.toISOString().slice(0, 10).replace(/-/g, '');
  return `sweep-${day}-${batchId.replace(/[^A-Za-z0-9_-]/g, '-')}`.slice(0, EXECUTION_NAME_MAX);
}

/** Key prefix of batch uploads that start the pipeline (the stack's rule matches `incoming/*.zip`). */
export const INCOMING_PREFIX = 'incoming/';
