/**
 * `submit` and `status --stack` as a user runs them (real CLI subprocesses), on a "deployed stack" made of the local
 * stand-ins: a DescribeStacks stand-in whose outputs name the local session's bucket, table, queue and state machine,
 * and a Step Functions stand-in that plays EventBridge (it starts the template's execution for an upload under
 * incoming/) and answers ListExecutions / DescribeExecution / GetExecutionHistory from the local runner. The CLI
 * resolves everything through the stack's CloudFormation outputs, as it does against AWS.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { getBatchRecord, listAssetRecords } from '../../lambdas/adapters/record-store';
import { deriveBatchId } from '../../lambdas/core/batch-plan';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { startCloudFormationStandIn, type CloudFormationStandIn } from '../../local/cloudformation-standin';
import { buildZip, manifestCsv, stdlibPhoto } from '../../local/demo-batch';
import type { LocalSession } from '../../local/local-session';
import { startStepFunctionsStandIn, type StepFunctionsStandIn } from '../../local/deployed-stack-standin';
import type { CfnTemplate } from '../../local/template';
import { startCli, waitFor } from '../support/cli-process';
import { session, template } from '../support/local-pipeline';

const STACK = 'MediaTriage';

/** Set by the Ctrl-C test: model calls never answer, so the execution stays RUNNING (slow work, no timing). */
let modelsHang = false;

/** Fixed model answers (no model loads): every image a confident boat, nothing policy-sensitive. */
function boatAnswer(request: { endpointName: string }): { labels: Array<{ label: string; score: number }> } | Promise<never> {
  if (modelsHang) return new Promise<never>(() => undefined);
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: label === 'a photo of a boat' ? 0.9 : 0.1 / (candidates.length - 1) })) };
}

const archive = buildZip({
  'manifest.csv': manifestCsv([
    { asset_id: 'S-1', file: 'boats.jpg', merchant_id: 'm-submit', declared_category: 'Boats', title: 'Fishing boats' },
    { asset_id: 'S-2', file: 'gone.jpg', merchant_id: 'm-submit', declared_category: 'Boats', title: 'A boat' },
  ]),
  'boats.jpg': stdlibPhoto('boats'),
});

interface DeployedStandIns {
  local: LocalSession;
  cloudFormation: CloudFormationStandIn;
  stepFunctions: StepFunctionsStandIn;
  /** The environment a user's shell would have: AWS endpoints of the "deployed" stack. */
  env: NodeJS.ProcessEnv;
}

/** A local session published as a deployed stack through the CloudFormation and Step Functions stand-ins. */
async function deploy(base?: CfnTemplate): Promise<DeployedStandIns> {
  const local = await session({ intercept: boatAnswer, template: base });
  const reviewQueue = local.stack.queues.find((queue) => queue.deadLetterTargetArn !== undefined)!;
  const outputs = {
    UploadLocation: `s3://${local.dataBucket}/incoming/`,
    ReportsLocation: `s3://${local.reportsBucket}/reports/`,
    ReviewQueueUrl: reviewQueue.url,
    RecordsTableName: local.stack.tables[0]!.name,
    StateMachineArn: local.stack.stateMachine.arn,
  };
  const { StateMachineArn: _, ...olderOutputs } = outputs;
  const cloudFormation = await startCloudFormationStandIn([
    { name: STACK, outputs },
    // a stack deployed before it had the output
    { name: 'OlderStack', outputs: olderOutputs },
  ]);
  const stepFunctions = await startStepFunctionsStandIn(local, { pollMs: 50 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
    AWS_ENDPOINT_URL_SFN: stepFunctions.url,
    // The CLI process has no in-process DNS for `*.localhost` (the session's process does): S3 by IP, path-style.
    AWS_ENDPOINT_URL_S3: process.env['AWS_ENDPOINT_URL_S3']!.replace('s3.localhost', '127.0.0.1'),
  };
  return { local, cloudFormation, stepFunctions, env };
}

async function undeploy(deployed: DeployedStandIns | undefined): Promise<void> {
  await deployed?.stepFunctions.stop();
  await deployed?.cloudFormation.stop();
  await deployed?.local.close();
}

let dir: string;
let zipFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-submit-'));
  zipFile = path.join(dir, 'submitted.zip');
  await writeFile(zipFile, archive);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('submit --stack', () => {
  let deployed: DeployedStandIns;
  beforeAll(async () => {
    deployed = await deploy();
  }, 120_000);
  afterAll(() => undeploy(deployed));

  it('uploads under incoming/, follows the execution the upload started, and prints the run summary with executionArn; status reports it', async () => {
    const submitted = await startCli(['submit', zipFile, '--stack', STACK, '--json', '--poll-seconds', '0.1'], deployed.env).done;
    expect(submitted.code, submitted.stderr).toBe(0);
    const summary = submitted.last!;
    const batchId = deriveBatchId('incoming/submitted.zip', archive);
    const [execution] = deployed.stepFunctions.executions();
    expect(execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(JSON.parse(execution!.input)).toMatchObject({ bucket: deployed.local.dataBucket, key: 'incoming/submitted.zip' });
    const records = await listAssetRecords(batchId);
    expect(records).toHaveLength(2);
    const counted = (outcome: string) => records.filter((record) => record.outcome === outcome).length;
    expect(summary).toMatchObject({
      status: 'COMPLETED',
      batchId,
      assets: 2,
      executionArn: execution!.executionArn,
      outcomes: {
        AUTO_PASS: counted('AUTO_PASS'),
        REJECTED_INPUT: counted('REJECTED_INPUT'),
        FLAGGED: counted('FLAGGED'),
        NEEDS_REVIEW: counted('NEEDS_REVIEW'),
        FAILED: 0,
      },
      reasons: { MISSING_FILE: 1 },
      records: { table: deployed.local.stack.tables[0]!.name, stateDir: null },
      reportsDir: null,
      reportsBucket: deployed.local.reportsBucket,
    });
    expect(summary['executionArn']).toMatch(/^arn:aws:states:[^:]+:\d+:execution:[^:]+:[0-9a-f-]{36}$/);
    expect(Object.keys(summary)).toEqual(
      expect.arrayContaining(['dt', 'sentToReview', 'auditSamples', 'reports', 'reviewQueue', 'reviewQueueUrl', 'versions', 'elapsedMs']),
    );
    // PrepareBatch stored the execution on the batch record ($$.Execution.Id), which is how status finds it
    expect((await getBatchRecord(batchId))?.executionArn).toBe(execution!.executionArn);

    const status = await startCli(['status', batchId, '--stack', STACK, '--json'], deployed.env).done;
    expect(status.code, status.stderr).toBe(0);
    expect(status.last).toMatchObject({
      batchId,
      status: 'COMPLETED',
      recorded: 2,
      execution: { executionArn: execution!.executionArn, status: 'SUCCEEDED', error: null, failedState: null, resumable: false },
    });
    const { startedAt, stoppedAt } = status.last!['execution'] as { startedAt: string; stoppedAt: string };
    expect(Date.parse(stoppedAt)).toBeGreaterThanOrEqual(Date.parse(startedAt));
  }, 180_000);

  it('refuses a missing --stack as usage, and a stack without a state machine output before uploading', async () => {
    const noStack = await startCli(['submit', zipFile, '--json'], deployed.env).done;
    expect(noStack.code).toBe(2);
    expect(noStack.last).toMatchObject({ code: 'USAGE', error: expect.stringContaining('--stack') });
    const older = await startCli(['submit', zipFile, '--stack', 'OlderStack', '--json'], deployed.env).done;
    expect(older.code).toBe(1);
    expect(older.last).toMatchObject({ code: 'TARGET', error: expect.stringContaining('StateMachineArn') });
    expect(deployed.stepFunctions.executions()).toHaveLength(1);
  }, 180_000);

  it('stops following on Ctrl-C (exit 130) and leaves the execution running', async () => {
    modelsHang = true;
    onTestFinished(() => void (modelsHang = false));
    const other = path.join(dir, 'interrupted.zip');
    await writeFile(
      other,
      buildZip({
        'manifest.csv': manifestCsv([{ asset_id: 'I-1', file: 'boats.jpg', merchant_id: 'm', declared_category: 'Boats', title: 'Boat' }]),
        'boats.jpg': stdlibPhoto('boats'),
      }),
    );
    let stderr = '';
    const run = startCli(['submit', other, '--stack', STACK, '--poll-seconds', '0.1'], deployed.env);
    run.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    expect(await waitFor(run, () => stderr.includes('Following execution '))).toBe(true);
    run.child.kill('SIGINT');
    const ended = await run.done;
    expect(ended.code).toBe(130);
    const execution = deployed.stepFunctions.executions().find((entry) => JSON.parse(entry.input).key === 'incoming/interrupted.zip')!;
    expect(ended.stderr).toContain(`error: interrupted by SIGINT: stopped following; execution ${execution.executionArn} goes on`);
    expect(execution.status).toBe('RUNNING');
  }, 120_000);
});

describe('submit --stack, an execution that fails', () => {
  let deployed: DeployedStandIns;
  beforeAll(async () => {
    // The Report function points at a table that does not exist: it fails after its retries, the batch fails.
    const broken = template();
    const report = Object.values(broken.Resources).find(
      (resource) => (resource.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables?.['STAGE_NAME'] === 'Report',
    )!;
    (report.Properties!['Environment'] as { Variables: Record<string, unknown> }).Variables['RECORDS_TABLE_NAME'] = 'NoSuchTable';
    deployed = await deploy(broken);
  }, 120_000);
  afterAll(() => undeploy(deployed));

  it('ends with EXECUTION_FAILED naming the execution and the failed state; status shows the same', async () => {
    const submitted = await startCli(['submit', zipFile, '--stack', STACK, '--json', '--poll-seconds', '0.1'], deployed.env).done;
    expect(submitted.code).toBe(1);
    const [execution] = deployed.stepFunctions.executions();
    expect(execution?.status).toBe('FAILED');
    expect(submitted.last).toMatchObject({
      status: 'FAILED',
      code: 'EXECUTION_FAILED',
      executionArn: execution!.executionArn,
      execution: { status: 'FAILED', error: 'BatchFailed', failedState: { state: 'Report', error: expect.stringContaining('ResourceNotFound') } },
    });
    expect(submitted.stderr).toContain(`error: the pipeline execution ${execution!.executionArn} FAILED in state Report`);

    const batchId = String(submitted.last!['batchId']);
    const status = await startCli(['status', batchId, '--stack', STACK, '--json'], deployed.env).done;
    expect(status.code, status.stderr).toBe(0);
    expect(status.last).toMatchObject({
      status: 'PREPARED',
      execution: { executionArn: execution!.executionArn, status: 'FAILED', failedState: { state: 'Report' } },
    });
  }, 180_000);
});
