/**
 * A `--template` file must be a template the local mode can run for this batch: JSON with CloudFormation
 * `Resources`, one `AWS::StepFunctions::StateMachine`, readable by the local template reader (local/template.ts),
 * and an EventBridge rule that targets the state machine and matches the batch's upload (`incoming/<name>`). Each
 * problem is named before any stand-in starts.
 */
import { readFile } from 'node:fs/promises';
import { readLocalStack, type CfnTemplate, type LocalStack } from '../../local/template';
import { UsageError } from '../usage';
import type { BatchArchive } from './batch-archive';
import { describeFsError } from './fs-errors';

const STATE_MACHINE = 'AWS::StepFunctions::StateMachine';

export async function readRunnableTemplate(file: string, batch: BatchArchive): Promise<CfnTemplate> {
  const notATemplate = (why: string): UsageError => new UsageError(`--template ${file} is not a synthesized template: ${why}`);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read --template ${file}: ${describeFsError(error)}`);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw notATemplate(`it is not JSON (${(error as Error).message})`);
  }
  const resources = (parsed as { Resources?: unknown } | null)?.Resources;
  if (resources === null || typeof resources !== 'object' || Array.isArray(resources)) throw notATemplate('it has no "Resources" object');
  const template = parsed as CfnTemplate;
  const machines = Object.values(template.Resources).filter((resource) => resource?.Type === STATE_MACHINE).length;
  if (machines === 0) throw notATemplate(`it has no ${STATE_MACHINE} resource`);
  if (machines > 1) throw notATemplate(`it has ${machines} ${STATE_MACHINE} resources; the local mode runs one`);

  let stack: LocalStack;
  try {
    // Queue URLs depend on the stand-ins' ports, unknown yet; any URL will do to read the rest.
    stack = readLocalStack(template, (name) => name);
  } catch (error) {
    throw notATemplate(`the local mode cannot read it (${(error as Error).message})`);
  }
  const rules = stack.rules.filter((rule) => rule.targetArn === stack.stateMachine.arn);
  if (rules.length === 0) throw notATemplate(`no EventBridge rule targets its state machine ${stack.stateMachine.logicalId}`);
  const dataBucket = stack.functions.map((fn) => fn.environment['DATA_BUCKET_NAME']).find((name) => name !== undefined);
  if (dataBucket === undefined) throw notATemplate('no function in it has DATA_BUCKET_NAME (the bucket batches are uploaded to)');

  // Event routing pulls in the state machine runner: imported only once the cheap checks passed, when the run is
  // about to need it anyway.
  const { matchesPattern, objectCreatedEvent } = await import('../../local/event-routing');
  const key = `incoming/${batch.fileName}`;
  const event = objectCreatedEvent(dataBucket, key, batch.archive.byteLength);
  let matched: boolean;
  try {
    matched = rules.some((rule) => matchesPattern(rule.eventPattern, event));
  } catch (error) {
    throw notATemplate(`the local mode cannot route its events (${(error as Error).message})`);
  }
  if (!matched) {
    throw new UsageError(`no EventBridge rule in --template ${file} starts its state machine for s3://${dataBucket}/${key}`);
  }
  return template;
}
