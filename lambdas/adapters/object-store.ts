/** Small S3 helpers used by the stages. */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { s3Client } from './aws-clients';

export async function getObjectBytes(bucket: string, key: string): Promise<Buffer> {
  const response = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (response.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
  return Buffer.from(await response.Body.transformToByteArray());
}

/** The object's body as a stream (never buffered whole) and its size. Throws NoSuchKey as the SDK does. */
export async function getObjectStream(bucket: string, key: string): Promise<{ body: Readable; size: number }> {
  const response = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (response.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
  return { body: response.Body as Readable, size: response.ContentLength ?? 0 };
}

export function isNoSuchKey(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound');
}

export async function putObject(bucket: string, key: string, body: Uint8Array | string, contentType: string): Promise<void> {
  // As bytes: the SDK sends an empty string (a rerun's empty items.jsonl) without a length, and warns about it.
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  await s3Client().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType }));
}

/**
 * Uploads a stream of unknown length: one PutObject when it ends within the first part, multipart otherwise (5 MiB
 * parts, two in flight, so at most ~10 MiB of it is buffered). If the stream fails, nothing is stored: the single
 * put is never sent and a started multipart upload is aborted.
 */
export async function putObjectStream(bucket: string, key: string, body: Readable, contentType: string): Promise<void> {
  await new Upload({ client: s3Client(), queueSize: 2, params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType } }).done();
}

export async function putJson(bucket: string, key: string, value: unknown): Promise<void> {
  await putObject(bucket, key, `${JSON.stringify(value, null, 2)}\n`, 'application/json');
}
