/** Starts triage executions (the nightly sweep's re-drives) on the state machine named by STATE_MACHINE_ARN. */
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { BatchStartInput } from '../core/batch-start';
import { sfnClient } from './aws-clients';
import { setting } from './settings';

export type StartResult = { started: true; executionArn: string } | { started: false; reason: 'ALREADY_EXISTS' };

/**
 * StartExecution with a deterministic name. A Standard state machine answers the same name and input with the first
 * execution's ARN (idempotent), and the same name with another input with ExecutionAlreadyExists: both mean the batch
 * was already started by this sweep.
 */
export async function startBatchExecution(input: BatchStartInput, name: string): Promise<StartResult> {
  try {
    const response = await sfnClient().send(new StartExecutionCommand({ stateMachineArn: setting('stateMachineArn'), name, input: JSON.stringify(input) }));
    return { started: true, executionArn: response.executionArn ?? '' };
  } catch (error) {
    if ((error as Error).name === 'ExecutionAlreadyExists') return { started: false, reason: 'ALREADY_EXISTS' };
    throw error;
  }
}
