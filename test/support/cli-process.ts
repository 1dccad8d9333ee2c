/**
 * The CLI as a real child process for tests that signal or kill it, and readers for what a state folder holds
 * afterwards (records from dynalite on disk, review messages from the SQS journal, objects from the file tree).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { AssetRecord } from '../../lambdas/core/records';
import { readJournalFile } from '../../local/durable/sqs-journal';
import { fauxqsStatePaths } from '../../local/fauxqs-server';

export const BIN = path.resolve('bin/media-triage.mjs');

export interface CliRun {
  child: ChildProcess;
  /** Resolves when the process ends. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; last: Record<string, unknown> | undefined }>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = process.env): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const done = new Promise<Awaited<CliRun['done']>>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, last: lastJson(stdout) }));
  });
  return { child, done };
}

export function lastJson(stdout: string): Record<string, unknown> | undefined {
  const line = stdout.trim().split('\n').pop();
  if (line === undefined || line === '') return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Polls until the predicate holds (true) or the process ends first (false). */
export async function waitFor(run: CliRun, predicate: () => boolean, intervalMs = 20): Promise<boolean> {
  let ended = false;
  void run.done.then(() => (ended = true));
  while (!ended) {
    if (predicate()) return true;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return false;
}

export function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
}

/** The folder of a bucket in a state folder's S3 tree, found by the bucket's name prefix (e.g. `local-storagedata`). */
export function bucketDir(stateDir: string, prefix: string): string {
  const root = fauxqsStatePaths(stateDir).s3Dir;
  const name = existsSync(root) ? readdirSync(root).find((entry) => entry.startsWith(prefix)) : undefined;
  return path.join(root, name ?? `${prefix}-missing`);
}

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { path?: string; createTableMs?: number }) => Server;

/** Every asset record in the state folder's DynamoDB (dynalite opened on its LevelDB files, read-only use). */
export async function savedRecords(stateDir: string): Promise<AssetRecord[]> {
  const server = dynalite({ path: path.join(stateDir, 'dynamodb'), createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  try {
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const documents = DynamoDBDocumentClient.from(client);
    const records: AssetRecord[] = [];
    for (const table of (await client.send(new ListTablesCommand({}))).TableNames ?? []) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(new ScanCommand({ TableName: table, ExclusiveStartKey: startKey }));
        records.push(...((page.Items ?? []) as AssetRecord[]).filter((item) => String(item.sk).startsWith('ASSET#')));
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
    }
    client.destroy();
    return records;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface SavedReviewMessage {
  messageId: string;
  body: { batchId: string; assetKey: string; recordKey: { pk: string; sk: string }; revision: number; reviewTaskId: string };
}

/** The review queue's messages as the next start would restore them (the queue whose name starts ReviewQueue). */
export function savedReviewMessages(stateDir: string): SavedReviewMessage[] {
  const queues = readJournalFile(fauxqsStatePaths(stateDir).sqsJournal);
  const review = queues.find((queue) => queue.name.startsWith('ReviewQueue'));
  return (review?.messages ?? []).map(({ message }) => ({ messageId: message.messageId, body: JSON.parse(message.body) as SavedReviewMessage['body'] }));
}
