/**
 * `status`'s execution state on the local target, from what the local state keeps (the batch record): a run is never
 * going on while `status` holds the state folder's lock, so a batch still PREPARED was stopped and resumes on a rerun.
 * (The deployed-stack path is tested through the Step Functions stand-in in submit.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { batchExecution } from '../../cli/ops/batch-execution';
import { batchPk, type BatchRecord } from '../../lambdas/core/records';

const record = (status: BatchRecord['status'], extra: Partial<BatchRecord> = {}): BatchRecord => ({
  pk: batchPk('b-1'),
  sk: 'BATCH',
  recordType: 'BATCH',
  batchId: 'b-1',
  archiveBucket: 'data',
  archiveKey: 'incoming/b.zip',
  archiveSha256: 'ab',
  receivedAt: '2026-12-01T10:00:00.000Z',
  dt: '2026-12-01',
  status,
  lastRunAt: '2026-12-01T10:05:00.000Z',
  pipelineVersion: '1',
  taxonomyVersion: '1',
  policyVersion: '1',
  ...extra,
});

describe('local execution state', () => {
  const local = { kind: 'local' as const };
  const arn = 'arn:aws:states:us-east-1:000000000000:execution:Pipeline:run-1';

  it('a reported batch completed, with its last run’s ARN and times', async () => {
    expect(await batchExecution(local, record('COMPLETED', { executionArn: arn, completedAt: '2026-12-01T10:06:00.000Z' }))).toEqual({
      executionArn: arn,
      status: 'COMPLETED',
      startedAt: '2026-12-01T10:05:00.000Z',
      stoppedAt: '2026-12-01T10:06:00.000Z',
      error: null,
      cause: null,
      failedState: null,
      resumable: false,
    });
  });

  it('a batch still PREPARED was interrupted and is resumable; a refused one is not', async () => {
    expect(await batchExecution(local, record('PREPARED', { executionArn: arn }))).toMatchObject({ status: 'INTERRUPTED', resumable: true, stoppedAt: null });
    expect(await batchExecution(local, record('REFUSED'))).toMatchObject({ status: 'REFUSED', resumable: false, executionArn: null });
  });

  it('on a stack, a batch prepared before records kept the ARN has an UNKNOWN execution (nothing to ask)', async () => {
    expect(await batchExecution({ kind: 'stack' }, record('PREPARED'))).toMatchObject({ executionArn: null, status: 'UNKNOWN', resumable: false });
  });
});
