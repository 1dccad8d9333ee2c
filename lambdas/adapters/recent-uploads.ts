/**
 * Batch archives uploaded under incoming/ in a time window, each with the batch id PrepareBatch gives it (the archive's
 * name slug and the first 12 hex of its SHA-256: lambdas/core/batch-plan.ts). The id needs the content, so each archive
 * is streamed through the hash once (never stored); the window bounds that cost to recent uploads.
 */
import { createHash } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { batchIdFromDigest } from '../core/batch-plan';
import { s3Client } from './aws-clients';
import { getObjectStream } from './object-store';

export interface RecentUpload {
  bucket: string;
  key: string;
  lastModified: Date;
  size: number;
}

/** Objects `<prefix>*.zip` (what the rule starts the pipeline for) last modified at or after `from`. */
export async function listUploads(bucket: string, prefix: string, from: Date): Promise<RecentUpload[]> {
  const uploads: RecentUpload[] = [];
  let token: string | undefined;
  do {
    const page = await s3Client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined || !object.Key.endsWith('.zip') || object.LastModified === undefined) continue;
      if (object.LastModified < from) continue;
      uploads.push({ bucket, key: object.Key, lastModified: object.LastModified, size: object.Size ?? 0 });
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return uploads.sort((a, b) => a.lastModified.getTime() - b.lastModified.getTime() || a.key.localeCompare(b.key));
}

/** The batch id of an uploaded archive, hashing it as it streams from S3. */
export async function uploadBatchId(upload: RecentUpload): Promise<string> {
  const { body } = await getObjectStream(upload.bucket, upload.key);
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return batchIdFromDigest(upload.key, hash.digest('hex'));
}
