/** Small S3 helpers used by the stages. */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client } from './aws-clients';

export async function getObjectBytes(bucket: string, key: string): Promise<Buffer> {
  const response = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (response.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
  return Buffer.from(await response.Body.transformToByteArray());
}

export async function putObject(bucket: string, key: string, body: Uint8Array | string, contentType: string): Promise<void> {
  // As bytes: the SDK sends an empty string (a rerun's empty items.jsonl) without a length, and warns about it.
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  await s3Client().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType }));
}

export async function putJson(bucket: string, key: string, value: unknown): Promise<void> {
  await putObject(bucket, key, `${JSON.stringify(value, null, 2)}\n`, 'application/json');
}
