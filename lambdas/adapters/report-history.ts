/**
 * Reading back the reports bucket: the summaries of one report partition (`reports/summaries/dt=<day>/…`), which
 * give the drift baseline and the daily roll-up their batches without a table scan.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { BatchSummary } from '../core/report';
import { s3Client } from './aws-clients';
import { getObjectBytes } from './object-store';

/** `YYYY-MM-DD` shifted by whole days (UTC). */
export function shiftDate(date: string, days: number): string {
  const at = new Date(`${date}T00:00:00Z`);
  at.setUTCDate(at.getUTCDate() + days);
  return at.toISOString().slice(0, 10);
}

export function summariesPrefix(dt: string): string {
  return `reports/summaries/dt=${dt}/`;
}

/** Every summary.json of the partition (any shape: older summaries lack later fields). */
export async function readSummaries<T extends Pick<BatchSummary, 'batchId' | 'dt'>>(reportsBucket: string, dt: string): Promise<T[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3Client().send(new ListObjectsV2Command({ Bucket: reportsBucket, Prefix: summariesPrefix(dt), ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key?.endsWith('/summary.json') === true) keys.push(object.Key);
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  const summaries: T[] = [];
  for (const key of keys.sort()) summaries.push(JSON.parse((await getObjectBytes(reportsBucket, key)).toString('utf8')) as T);
  return summaries;
}
