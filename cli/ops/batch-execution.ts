/**
 * The execution behind a batch record, for `media-triage status` (`--json` → `execution`).
 *
 * On a deployed stack: the Step Functions execution whose ARN PrepareBatch stored on the batch record
 * (`executionArn`), as DescribeExecution reports it, with the failing state's error and cause from its history.
 * Locally no execution outlives its `run`, so the state comes from what the local state keeps: a batch record
 * COMPLETED or REFUSED ended so; one still PREPARED was stopped (Ctrl-C, a kill, a failed execution) and is resumed
 * by running the same archive again — no run can be going on, since the status command holds the state folder's lock.
 */
import type { BatchRecord } from '../../lambdas/core/records';
import type { Target } from '../target';
import { describeExecution, type ExecutionState } from './executions';

export interface BatchExecution extends Omit<ExecutionState, 'executionArn'> {
  /** null for a batch prepared before the record kept it. */
  executionArn: string | null;
  /** Locally: the run was stopped before the batch was reported, and running the same archive resumes it. */
  resumable: boolean;
}

const LOCAL_STATES: Record<BatchRecord['status'], string> = { COMPLETED: 'COMPLETED', REFUSED: 'REFUSED', PREPARED: 'INTERRUPTED' };

export async function batchExecution(target: Pick<Target, 'kind'>, batch: BatchRecord): Promise<BatchExecution> {
  const executionArn = batch.executionArn ?? null;
  if (target.kind === 'local') {
    const status = LOCAL_STATES[batch.status];
    return {
      executionArn,
      status,
      startedAt: batch.lastRunAt,
      stoppedAt: batch.status === 'COMPLETED' ? (batch.completedAt ?? null) : null,
      error: null,
      cause: null,
      failedState: null,
      resumable: status === 'INTERRUPTED',
    };
  }
  const unknown = { executionArn, startedAt: null, stoppedAt: null, error: null, cause: null, failedState: null, resumable: false };
  // Prepared by a version that did not store it.
  if (executionArn === null) return { ...unknown, status: 'UNKNOWN' };
  try {
    return { ...(await describeExecution(executionArn)).state, resumable: false };
  } catch (error) {
    // Step Functions keeps a Standard execution's record for 90 days after it stops.
    if ((error as Error).name === 'ExecutionDoesNotExist')
      return { ...unknown, status: 'NOT_FOUND', error: 'ExecutionDoesNotExist', cause: (error as Error).message };
    // Credentials that may read the table but not the state machine still get the batch record.
    if ((error as Error).name === 'AccessDeniedException')
      return { ...unknown, status: 'UNKNOWN', error: 'AccessDeniedException', cause: (error as Error).message };
    throw error;
  }
}
