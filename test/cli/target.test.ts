/**
 * The deployed-stack target, exercised through the same CloudFormation-output resolution it uses against AWS: the
 * real CloudFormation client reads a stack from a local DescribeStacks stand-in whose outputs name the local
 * stand-ins' resources, and the resolved target reads objects and presigns image links against them.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '../../lambdas/adapters/aws-clients';
import { namesFromOutputs, stackTarget, TargetError } from '../../cli/target';
import { startCloudFormationStandIn, type CloudFormationStandIn } from '../../local/cloudformation-standin';
import type { LocalSession } from '../../local/local-session';
import { session } from '../support/local-pipeline';

let local: LocalSession;
let cloudFormation: CloudFormationStandIn;
let outputs: Record<string, string>;

beforeAll(async () => {
  local = await session();
  const reviewQueue = local.stack.queues.find((queue) => queue.deadLetterTargetArn !== undefined)!;
  outputs = {
    UploadLocation: `s3://${local.dataBucket}/incoming/`,
    ReportsLocation: `s3://${local.reportsBucket}/reports/`,
    ReviewQueueUrl: reviewQueue.url,
    RecordsTableName: local.stack.tables[0]!.name,
    StateMachineArn: local.stack.stateMachine.arn,
  };
  cloudFormation = await startCloudFormationStandIn([
    { name: 'MediaTriage', outputs },
    { name: 'SomethingElse', outputs: { Bucket: 'x' } },
  ]);
  process.env['AWS_ENDPOINT_URL_CLOUDFORMATION'] = cloudFormation.url;
});

afterAll(async () => {
  delete process.env['AWS_ENDPOINT_URL_CLOUDFORMATION'];
  await cloudFormation?.stop();
  await local?.close();
});

describe('--stack target', () => {
  it('resolves the pipeline names from the stack outputs', async () => {
    const target = await stackTarget({ stack: 'MediaTriage' });
    expect(target.kind).toBe('stack');
    expect(target.names).toEqual({
      dataBucket: local.dataBucket,
      reportsBucket: local.reportsBucket,
      tableName: outputs['RecordsTableName'],
      reviewQueueUrl: outputs['ReviewQueueUrl'],
      stateMachineArn: outputs['StateMachineArn'],
    });
    expect(target.review).toMatchObject({ tableName: outputs['RecordsTableName'], dataBucket: local.dataBucket });
  });

  it('reads objects and presigns image links that open', async () => {
    const target = await stackTarget({ stack: 'MediaTriage' });
    await s3Client().send(new PutObjectCommand({ Bucket: local.dataBucket, Key: 'staging/t/model-input.jpg', Body: Buffer.from('jpeg bytes') }));
    expect((await target.readObject(local.dataBucket, 'staging/t/model-input.jpg'))?.toString()).toBe('jpeg bytes');
    expect(await target.readObject(local.dataBucket, 'staging/t/missing.jpg')).toBeUndefined();
    const url = await target.review.imageLocation(local.dataBucket, 'staging/t/model-input.jpg');
    expect(url).toContain('X-Amz-Signature=');
    const response = await fetch(url!);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('jpeg bytes');
  });

  it('refuses an unknown stack and a stack without the outputs, naming what is missing', async () => {
    await expect(stackTarget({ stack: 'NoSuchStack' })).rejects.toThrow(/NoSuchStack not found/);
    await expect(stackTarget({ stack: 'SomethingElse' })).rejects.toThrow(TargetError);
    expect(() => namesFromOutputs('Old', { UploadLocation: 's3://b/incoming/' })).toThrow(/ReportsLocation, RecordsTableName, ReviewQueueUrl/);
  });
});
