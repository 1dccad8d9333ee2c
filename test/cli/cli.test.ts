/**
 * The CLI as a user runs it: the package's bin in a child process, persisted state in a temporary folder, and the
 * --json contract (last stdout line is one JSON object).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { buildZip, manifestCsv, stdlibPhoto } from '../../local/demo-batch';
import { savedReviewMessages } from '../support/cli-process';

const run = promisify(execFile);
const BIN = path.resolve('bin/media-triage.mjs');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  last: Record<string, unknown>;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 240_000, maxBuffer: 16 * 1024 * 1024, env });
    return { code: 0, stdout, stderr, last: lastJson(stdout) };
  } catch (error) {
    const failed = error as { code?: number; stdout: string; stderr: string };
    return { code: failed.code ?? -1, stdout: failed.stdout, stderr: failed.stderr, last: lastJson(failed.stdout) };
  }
}

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  return last.startsWith('{') ? (JSON.parse(last) as Record<string, unknown>) : {};
}

function stderrLines(result: CliResult): string[] {
  return result.stderr.split('\n').filter((line) => line !== '');
}

describe('media-triage run', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a batch, persists records and reports, and a rerun from a new process adds nothing', async () => {
    const archive = path.join(dir, 'listings.zip');
    await writeFile(
      archive,
      buildZip({
        'manifest.csv': manifestCsv([
          { asset_id: 'c1', file: 'boats.jpg', merchant_id: 'm1', declared_category: 'Boats', title: 'Boat' },
          { asset_id: 'c2', file: 'gone.jpg', merchant_id: 'm1', declared_category: 'Boats', title: 'Missing file' },
        ]),
        'boats.jpg': stdlibPhoto('boats'),
      }),
    );
    const stateDir = path.join(dir, 'state');
    const first = await cli(['run', archive, '--json', '--state-dir', stateDir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.last).toMatchObject({ status: 'COMPLETED', assets: 2 });
    expect(first.last['batchId']).toMatch(/^listings-[0-9a-f]{12}$/);
    expect((first.last['outcomes'] as Record<string, number>)['REJECTED_INPUT']).toBe(1);
    expect((first.last['reasons'] as Record<string, number>)['MISSING_FILE']).toBe(1);
    const reportsDir = first.last['reportsDir'] as string;
    const reports = first.last['reports'] as { assets: string };
    const csv = await readFile(path.join(reportsDir, reports.assets.replace(/^reports\//, '')), 'utf8');
    expect(parse(csv, { columns: true })).toHaveLength(2);

    const second = await cli(['run', archive, '--json', '--state-dir', stateDir]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.last['batchId']).toBe(first.last['batchId']);
    expect(second.last['outcomes']).toEqual(first.last['outcomes']);
    expect(second.last['sentToReview']).toBe(first.last['sentToReview']);
    // The review queue persisted across processes holds each reviewable asset once.
    expect(savedReviewMessages(stateDir)).toHaveLength(first.last['sentToReview'] as number);
  });

  it('refuses a batch-level problem: non-zero exit, one line on stderr, a JSON error line', async () => {
    const archive = path.join(dir, 'no-manifest.zip');
    await writeFile(archive, buildZip({ 'a.jpg': stdlibPhoto('boats') }));
    const result = await cli(['run', archive, '--json', '--state-dir', path.join(dir, 'state2')]);
    expect(result.code).toBe(1);
    expect(result.last).toMatchObject({ status: 'REFUSED', code: 'MANIFEST_MISSING' });
    expect(String(result.last['error'])).toContain('manifest');
    const errorLines = result.stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errorLines).toHaveLength(1);
  });

  it('runs a --template file instead of synthesizing', async () => {
    const { template } = await import('../support/local-pipeline');
    const templateFile = path.join(dir, 'MediaTriage.template.json');
    await writeFile(templateFile, JSON.stringify(template()));
    const archive = path.join(dir, 'from-template.zip');
    await writeFile(
      archive,
      buildZip({ 'manifest.csv': manifestCsv([{ asset_id: 'c1', file: 'gone.jpg', merchant_id: 'm1', declared_category: 'Boats', title: 'Boat' }]) }),
    );
    const result = await cli(['run', archive, '--template', templateFile, '--state-dir', path.join(dir, 'state3')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('Starting local AWS stand-ins');
    expect(result.stderr).not.toContain('Synthesizing');
    expect(result.stdout).toMatch(/^Batch from-template-[0-9a-f]{12} {2}\(1 assets/m);
    expect(result.stdout).toMatch(/^ {2}MISSING_FILE +1 /m);
  });

  it('names a missing archive file', async () => {
    const result = await cli(['run', path.join(dir, 'nope.zip'), '--json']);
    expect(result.code).toBe(2);
    expect(String(result.last['error'])).toContain('no such file');
  });
});

describe('usage problems', () => {
  let dir: string;
  let zip: string;
  let home: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'media-triage-cli-usage-'));
    zip = path.join(dir, 'batch.zip');
    await writeFile(zip, buildZip({ 'manifest.csv': manifestCsv([]) }));
    await writeFile(path.join(dir, 'batch.bin'), await readFile(zip));
    await writeFile(path.join(dir, 'not-a-template.json'), JSON.stringify({ name: 'x', version: '1.0.0' }));
    await writeFile(path.join(dir, 'no-machine.json'), JSON.stringify({ Resources: { Bucket: { Type: 'AWS::S3::Bucket' } } }));
    await writeFile(
      path.join(dir, 'no-rule.json'),
      JSON.stringify({
        Resources: {
          Machine: {
            Type: 'AWS::StepFunctions::StateMachine',
            Properties: { DefinitionString: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }) },
          },
        },
      }),
    );
    await mkdir(path.join(dir, 'a-folder'));
    // Every case runs with the default state dir pointed here: a usage problem must not create it.
    home = path.join(dir, 'state');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cases: Array<{ problem: string; args: () => string[]; says: RegExp }> = [
    { problem: 'an unknown flag', args: () => ['run', zip, '--bogus'], says: /^unknown option '--bogus' for 'run' \(see media-triage run --help\)$/ },
    { problem: 'a misspelt flag', args: () => ['run', zip, '--jsn'], says: /unknown option '--jsn' for 'run'; did you mean --json\?/ },
    { problem: 'a flag missing its value at the end', args: () => ['run', zip, '--state-dir'], says: /option '--state-dir <dir>' argument missing for 'run'/ },
    {
      problem: 'a flag whose value is another flag',
      args: () => ['run', zip, '--template', '--state-dir', home],
      says: /option '--template <file>' argument missing for 'run' \(the next word, '--state-dir', is a flag\)/,
    },
    { problem: 'an extra argument', args: () => ['run', zip, 'b.zip'], says: /unexpected argument 'b\.zip' for 'run', which takes <batch\.zip>/ },
    {
      problem: 'an argument to a command that takes none',
      args: () => ['reset', 'now'],
      says: /unexpected argument 'now' for 'reset', which takes no arguments/,
    },
    { problem: "an option of another command (run's --to)", args: () => ['run', zip, '--to', 'v1'], says: /unknown option '--to' for 'run'/ },
    {
      problem: "an option of another command (reset's --template)",
      args: () => ['reset', '--template', 'x.json'],
      says: /unknown option '--template' for 'reset'/,
    },
    { problem: 'an unknown command', args: () => ['bogus'], says: /^unknown command 'bogus' \(see media-triage --help\)$/ },
    {
      problem: 'no command',
      args: () => [],
      says: /^missing command: one of run, demo, reset, model, model-server, review, dataset, submit, show, status, query, report, cost, purge, sweep \(see media-triage --help\)$/,
    },
    { problem: 'no subcommand', args: () => ['model'], says: /missing command for 'model': one of rollback \(see media-triage model --help\)/ },
    {
      problem: 'a missing required option',
      args: () => ['model', 'rollback', 'category', '--endpoint', 'e'],
      says: /required option '--to <version>' not specified for 'model rollback'/,
    },
    {
      problem: 'a value outside the choices',
      args: () => ['model', 'rollback', 'vision', '--to', 'v1', '--endpoint', 'e'],
      says: /'vision' is invalid for argument 'model'\. Allowed choices are category, policy/,
    },
    { problem: 'a missing batch file', args: () => ['run', path.join(dir, 'nope.zip')], says: /cannot read the batch .*nope\.zip: no such file/ },
    { problem: 'a folder as the batch', args: () => ['run', path.join(dir, 'a-folder')], says: /the batch .*a-folder is a folder/ },
    { problem: 'a non-zip as the batch', args: () => ['run', 'README.md'], says: /the batch README\.md is not a zip archive/ },
    { problem: 'a zip not named *.zip', args: () => ['run', path.join(dir, 'batch.bin')], says: /batch\.bin must be named \*\.zip/ },
    {
      problem: 'a template that is not JSON',
      args: () => ['run', zip, '--template', 'README.md'],
      says: /--template README\.md is not a synthesized template: it is not JSON/,
    },
    {
      problem: 'a JSON file that is not a template',
      args: () => ['run', zip, '--template', path.join(dir, 'not-a-template.json')],
      says: /is not a synthesized template: it has no "Resources" object/,
    },
    {
      problem: 'a template without a state machine',
      args: () => ['run', zip, '--template', path.join(dir, 'no-machine.json')],
      says: /has no AWS::StepFunctions::StateMachine resource/,
    },
    {
      problem: 'a template without a rule for its state machine',
      args: () => ['run', zip, '--template', path.join(dir, 'no-rule.json')],
      says: /no EventBridge rule targets its state machine Machine/,
    },
    {
      problem: 'a missing template',
      args: () => ['run', zip, '--template', path.join(dir, 'nope.json')],
      says: /cannot read --template .*nope\.json: no such file/,
    },
    { problem: 'a file as the state dir', args: () => ['reset', '--state-dir', 'README.md'], says: /the state dir README\.md is a file, not a folder/ },
  ];

  it.each(cases)('$problem: exit 2, one stderr line naming it, no synth, and the JSON error with --json', async ({ args, says }) => {
    const env = { ...process.env, MEDIA_TRIAGE_HOME: home };
    // --json last: after the bad flag or argument, so commander has not parsed it when the problem is found.
    const [text, json] = await Promise.all([cli(args(), env), cli([...args(), '--json'], env)]);
    for (const result of [text, json]) {
      expect(result.code, result.stderr).toBe(2);
      const lines = stderrLines(result);
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[0]!.slice('error: '.length)).toMatch(says);
      expect(lines[0]).toMatch(/\(see media-triage( [a-z]+)* --help\)$/);
    }
    expect(text.stdout).toBe('');
    expect(json.last).toEqual({ error: stderrLines(json)[0]!.slice('error: '.length), code: 'USAGE' });
    // Nothing was started: no phase line (printed without --json before the synth or the stand-ins) and no state dir.
    expect(text.stderr).not.toMatch(/Synthesizing|Starting local/);
    expect(existsSync(home)).toBe(false);
  });

  it('reads MEDIA_TRIAGE_HOME through the same checks as --state-dir', async () => {
    const result = await cli(['reset', '--json'], { ...process.env, MEDIA_TRIAGE_HOME: '' });
    expect(result.code).toBe(2);
    expect(stderrLines(result)).toEqual([expect.stringMatching(/^error: option '--state-dir <dir>' value '' from env 'MEDIA_TRIAGE_HOME' is invalid/)]);
    expect(result.last['code']).toBe('USAGE');
  });
});

describe('help and version', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    const result = await cli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it('each command has its own help, listing its own options and the global ones', async () => {
    const { STACK_NAME } = await import('../../lib/app');
    const [root, runHelp, rollbackHelp, resetHelp, helpCommand] = await Promise.all([
      cli(['--help']),
      cli(['run', '--help']),
      cli(['model', 'rollback', '--help']),
      cli(['reset', '--help']),
      cli(['help', 'demo']),
    ]);
    for (const result of [root, runHelp, rollbackHelp, resetHelp, helpCommand]) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('--debug');
    }
    for (const command of ['run', 'demo', 'reset', 'model']) expect(root.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(runHelp.stdout).toContain('Usage: media-triage run [options] <batch.zip>');
    expect(runHelp.stdout).toContain('--template <file>');
    expect(runHelp.stdout).not.toContain('--endpoint');
    expect(rollbackHelp.stdout).toContain('Usage: media-triage model rollback [options] <model>');
    expect(rollbackHelp.stdout).toContain('--to <version>');
    expect(rollbackHelp.stdout).toContain(`(default: "${STACK_NAME}")`);
    expect(rollbackHelp.stdout).not.toContain('--state-dir');
    expect(resetHelp.stdout).toContain('env: MEDIA_TRIAGE_HOME');
    expect(resetHelp.stdout).not.toContain('--template');
    expect(helpCommand.stdout).toContain('Usage: media-triage demo [options]');
  });
});

describe('media-triage model rollback', () => {
  it('points the endpoint at the listed version through UpdateEndpoint and names the prop to change', async () => {
    const { startControlPlaneStandIn } = await import('../../local/sagemaker/control-plane-standin');
    const { VERSION_TAG_KEYS } = await import('../../lib/constructs/hugging-face-endpoint');
    // Named and tagged as the construct names and tags them (test/ops/model-rollback.test.ts derives both from a template).
    const identity = { [VERSION_TAG_KEYS.stack]: 'MediaTriage', [VERSION_TAG_KEYS.construct]: 'CategoryModel' };
    const config = (version: string, hash: string) => ({
      name: `MediaTriage-CategoryModel-${version}-${hash}-5a1e2b3c`,
      tags: { ...identity, [VERSION_TAG_KEYS.version]: version },
    });
    const [v1, v2] = [config('v1', '0badcafe'), config('v2', '1badcafe')].map((c) => c.name) as [string, string];
    const controlPlane = await startControlPlaneStandIn({
      endpointConfigs: [config('v1', '0badcafe'), config('v2', '1badcafe')],
      endpoints: [{ name: 'category-endpoint', configName: v2, tags: identity }],
    });
    try {
      const env = {
        ...process.env,
        AWS_ENDPOINT_URL_SAGEMAKER: controlPlane.url,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      };
      const { stdout } = await run(process.execPath, [BIN, 'model', 'rollback', 'category', '--to', 'v1', '--endpoint', 'category-endpoint', '--json'], {
        env,
      });
      const result = lastJson(stdout);
      expect(result).toMatchObject({ endpointName: 'category-endpoint', fromConfig: v2, toConfig: v1, changed: true });
      expect(String(result['propToChange'])).toContain("activeVersion: 'v1'");
      expect(JSON.stringify(controlPlane.endpoint('category-endpoint'))).toContain(v1);
      const missing = await run(process.execPath, [BIN, 'model', 'rollback', 'category', '--to', 'v9', '--endpoint', 'category-endpoint', '--json'], {
        env,
      }).catch((error: { code: number; stdout: string }) => error);
      expect((missing as { code: number }).code).toBe(1);
      expect(String(lastJson((missing as { stdout: string }).stdout)['error'])).toContain('v9');

      // An error while the command runs: one line and {"code":"ERROR"}; the stack trace only with --debug.
      const args = ['model', 'rollback', 'category', '--to', 'v9', '--endpoint', 'category-endpoint', '--json'];
      const [plain, debug] = await Promise.all([cli(args, env), cli([...args, '--debug'], env)]);
      for (const result of [plain, debug]) {
        expect(result.code).toBe(1);
        expect(result.last).toMatchObject({ code: 'ERROR' });
        expect(stderrLines(result)[0]).toBe(`error: ${String(result.last['error'])}`);
      }
      expect(stderrLines(plain)).toHaveLength(1);
      expect(debug.stderr).toMatch(/^\s+at .*model-rollback\.ts/m);
    } finally {
      await controlPlane.stop();
    }
  });
});
