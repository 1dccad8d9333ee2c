/**
 * media-triage CLI entry point (run through bin/media-triage.mjs). The command tree is cli/program.ts; README
 * "Commands" and "CLI output" describe the commands and their --json contract.
 */
import { runCli } from '../cli/main';

process.exitCode = await runCli(process.argv.slice(2));
