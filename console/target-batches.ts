/**
 * Which Batches backend a console target gets: the local pipeline in the open local session, or — on a deployed
 * stack with a state machine output — uploads that follow the stack's executions. A stack without the output gets
 * no Batches page (the page says so) rather than uploads nobody can follow.
 */
import type { Target } from '../cli/target';
import type { BatchesBackend } from './batches';

export async function batchesFor(target: Pick<Target, 'session' | 'names'>): Promise<(BatchesBackend & { close?: () => Promise<void> }) | undefined> {
  if (target.session !== undefined) return new (await import('./local-batches')).LocalBatches(target.session);
  if (target.names.stateMachineArn !== undefined) return new (await import('./stack-batches')).StackBatches(target.names);
  return undefined;
}
