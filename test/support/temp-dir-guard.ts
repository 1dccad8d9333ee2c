/**
 * vitest globalSetup: every test process gets a private TMPDIR (inherited by the forked workers and any CLI they
 * spawn), removed when the run ends — so CDK's default `cdk.out*` assemblies (Template.fromStack on a bare App) and
 * anything else a test leaves in the temp dir go with it. On the way out it also checks that the real temp dir holds
 * no new media-triage or cdk.out folder: a leak that bypassed TMPDIR fails the run.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const LEAK = /^(cdk\.out|media-triage)/;

export default function setup(): () => void {
  const realTmp = os.tmpdir();
  const before = new Set(readdirSync(realTmp).filter((name) => LEAK.test(name)));
  const runTmp = mkdtempSync(path.join(realTmp, 'media-triage-test-run-'));
  const previous = process.env['TMPDIR'];
  process.env['TMPDIR'] = runTmp;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    rmSync(runTmp, { recursive: true, force: true });
    const leaked = readdirSync(realTmp).filter((name) => LEAK.test(name) && !before.has(name));
    if (leaked.length > 0) {
      // vitest reports a teardown error without failing the run: set the exit code too.
      process.exitCode = 1;
      throw new Error(`the test run left temp folders behind in ${realTmp}: ${leaked.join(', ')}`);
    }
  };
}
