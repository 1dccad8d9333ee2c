/**
 * Reads a batch's items.jsonl (written by PrepareBatch) line by line, keeping only the items asked for: Report needs
 * the listing of the few assets no stage recorded, and the file can be large (one line per asset of the batch).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { WorkItem } from '../core/work-items';
import { s3Client } from './aws-clients';

export async function readWorkItems(bucket: string, key: string, wanted: ReadonlySet<string>): Promise<Map<string, WorkItem>> {
  const found = new Map<string, WorkItem>();
  if (wanted.size === 0) return found;
  const response = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (response.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
  const lines = createInterface({ input: response.Body as Readable, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const item = JSON.parse(line) as WorkItem;
    if (wanted.has(item.assetKey)) found.set(item.assetKey, item);
    if (found.size === wanted.size) {
      lines.close();
      (response.Body as Readable).destroy();
      break;
    }
  }
  return found;
}
