/**
 * `readImage` for the console on any target: the object's bytes from S3 with the process's credentials (the
 * reviewer's on a deployed stack, the stand-ins' locally), undefined when the object does not exist.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { s3Client } from '../lambdas/adapters/aws-clients';

export async function readS3Object(bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const object = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey' || (error as Error).name === 'NotFound') return undefined;
    throw error;
  }
}
