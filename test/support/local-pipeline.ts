/**
 * Test helpers around a local session: one synthesized template per test file, in-memory stand-ins per run, and
 * readers for what a run leaves behind (records, review messages, CSV rows).
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { listAssetRecords } from '../../lambdas/adapters/record-store';
import type { AssetRecord } from '../../lambdas/core/records';
import type { BatchSummary } from '../../lambdas/core/report';
import { openLocalSession, type LocalSession, type LocalSessionOptions } from '../../local/local-session';
import { synthesizeTemplate } from '../../local/synthesize';
import type { LocalExecutionResult } from '../../local/state-machine-runner';
import type { CfnTemplate } from '../../local/template';

let cachedTemplate: CfnTemplate | undefined;

export function template(): CfnTemplate {
  cachedTemplate ??= synthesizeTemplate();
  return structuredClone(cachedTemplate);
}

export interface RunOutcome {
  execution: LocalExecutionResult;
  summary?: BatchSummary;
  records: AssetRecord[];
  messages: Array<{ body: Record<string, unknown> }>;
  csvRows: Array<Record<string, string>>;
}

/** Opens a session (in-memory unless options say otherwise); the caller closes it. */
export async function session(options: LocalSessionOptions = {}): Promise<LocalSession> {
  return openLocalSession({ template: template(), retryIntervalMs: 5, ...options });
}

export async function runIn(local: LocalSession, archive: Buffer, name = 'batch.zip'): Promise<RunOutcome> {
  const execution = await local.runArchive(archive, name);
  const output = execution.output as (BatchSummary & { status?: string }) | undefined;
  if (execution.status !== 'SUCCEEDED' || output?.status !== 'COMPLETED') {
    return { execution, records: [], messages: [], csvRows: [] };
  }
  const records = await listAssetRecords(output.batchId);
  const reviewQueue = local.stack.queues.find((queue) => queue.deadLetterTargetArn !== undefined)!;
  const inspected = local.standIns.fauxqs.inspectQueue(reviewQueue.name)!;
  const messages = [...inspected.messages.ready, ...inspected.messages.inflight.map((m) => m.message)].map((message) => ({
    body: JSON.parse(message.body) as Record<string, unknown>,
  }));
  const s3 = new S3Client({});
  const csv = await s3.send(new GetObjectCommand({ Bucket: local.reportsBucket, Key: output.reports.assets }));
  const csvRows = parse(await csv.Body!.transformToString(), { columns: true }) as Array<Record<string, string>>;
  return { execution, summary: output, records, messages, csvRows };
}

/** Runs one archive in a fresh in-memory session. */
export async function runOnce(archive: Buffer, options: LocalSessionOptions = {}, name = 'batch.zip'): Promise<RunOutcome> {
  const local = await session(options);
  try {
    return await runIn(local, archive, name);
  } finally {
    await local.close();
  }
}
