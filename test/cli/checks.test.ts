/**
 * The CLI's checks on its inputs, against the real synthesized template and altered copies of it: what passes must be
 * what the local mode runs, and each way a file can fail names its problem as a usage error.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBatchArchive, type BatchArchive } from '../../cli/checks/batch-archive';
import { readRunnableTemplate } from '../../cli/checks/template-file';
import { UsageError } from '../../cli/usage';
import { buildZip, manifestCsv } from '../../local/demo-batch';
import type { CfnResource, CfnTemplate } from '../../local/template';
import { template } from '../support/local-pipeline';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-cli-checks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, content: Buffer | string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

describe('the batch archive', () => {
  it('accepts a zip and an empty zip, read whole, under their own name', async () => {
    const zip = buildZip({ 'manifest.csv': manifestCsv([]) });
    await expect(readBatchArchive(await fileWith('one.zip', zip))).resolves.toEqual({ archive: zip, fileName: 'one.zip' });
    // The end-of-central-directory record alone: a valid zip with no entries (the pipeline refuses it, not the CLI).
    const empty = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)]);
    await expect(readBatchArchive(await fileWith('empty.zip', empty))).resolves.toMatchObject({ fileName: 'empty.zip' });
  });

  it('refuses a file that only has the name of a zip', async () => {
    const error = await readBatchArchive(await fileWith('fake.zip', 'PK but not a zip')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain('is not a zip archive');
  });
});

describe('--template', () => {
  let real: CfnTemplate;
  let batch: BatchArchive;
  beforeAll(() => {
    real = template();
    batch = { archive: buildZip({ 'manifest.csv': manifestCsv([]) }), fileName: 'batch.zip' };
  });

  const ofType = (t: CfnTemplate, type: string): Array<[string, CfnResource]> => Object.entries(t.Resources).filter(([, resource]) => resource.Type === type);

  async function problemWith(name: string, alter: (t: CfnTemplate) => void): Promise<string> {
    const altered = structuredClone(real);
    alter(altered);
    const error = await readRunnableTemplate(await fileWith(name, JSON.stringify(altered)), batch).catch((caught: unknown) => caught);
    expect(error, 'the altered template was accepted').toBeInstanceOf(UsageError);
    return (error as Error).message;
  }

  it('accepts the synthesized template as it is', async () => {
    await expect(readRunnableTemplate(await fileWith('real.json', JSON.stringify(real)), batch)).resolves.toEqual(real);
  });

  it('refuses a template whose rule does not start the state machine for the batch', async () => {
    const [ruleId] = ofType(real, 'AWS::Events::Rule')[0]!;
    const [machineId] = ofType(real, 'AWS::StepFunctions::StateMachine')[0]!;
    expect(await problemWith('no-rule.json', (t) => delete t.Resources[ruleId])).toContain(`no EventBridge rule targets its state machine ${machineId}`);
    const retargeted = await problemWith('retargeted.json', (t) => {
      const targets = t.Resources[ruleId]!.Properties!['Targets'] as Array<{ Arn: unknown }>;
      targets[0]!.Arn = { 'Fn::GetAtt': [ofType(t, 'AWS::SQS::Queue')[0]![0], 'Arn'] };
    });
    expect(retargeted).toContain('no EventBridge rule targets its state machine');
    const otherFiles = await problemWith('tar-rule.json', (t) => {
      const pattern = t.Resources[ruleId]!.Properties!['EventPattern'] as { detail: { object: { key: unknown } } };
      pattern.detail.object.key = [{ wildcard: 'incoming/*.tar' }];
    });
    expect(otherFiles).toMatch(/no EventBridge rule in --template .*tar-rule\.json starts its state machine for s3:\/\/.+\/incoming\/batch\.zip$/);
  });

  it('refuses a template without exactly one state machine', async () => {
    const [machineId, machine] = ofType(real, 'AWS::StepFunctions::StateMachine')[0]!;
    expect(await problemWith('no-machine.json', (t) => delete t.Resources[machineId])).toContain('has no AWS::StepFunctions::StateMachine resource');
    expect(await problemWith('two-machines.json', (t) => (t.Resources['Another'] = structuredClone(machine)))).toContain(
      'has 2 AWS::StepFunctions::StateMachine resources',
    );
  });

  it('refuses a template the local mode cannot read, naming why', async () => {
    const variables = (resource: CfnResource): Record<string, unknown> | undefined =>
      (resource.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables;
    const [stageId] = ofType(real, 'AWS::Lambda::Function').find(([, resource]) => variables(resource)?.['STAGE_NAME'] !== undefined)!;
    const message = await problemWith('import-value.json', (t) => {
      variables(t.Resources[stageId]!)!['FROM_ELSEWHERE'] = { 'Fn::ImportValue': 'SharedBucket' };
    });
    expect(message).toContain('the local mode cannot read it (local mode cannot resolve Fn::ImportValue)');
  });
});
