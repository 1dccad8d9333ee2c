/**
 * Start-up of the real command, in a fresh process: `node --import tsx bench/startup-probe.ts run <zip> --json
 * --state-dir DIR` runs the CLI exactly as bin/media-triage.mjs does (same tsx loader, same `runCli`) and prints, as
 * its last line, {"firstAssetMs","totalMs","exitCode"}: milliseconds from the process's start (performance's time
 * origin) to the first Persist invocation that answered (the first assets recorded), and to the end.
 */
import '../local/quiet-node-version-warning';
import { runCli } from '../cli/main';
import { traceMark } from '../local/startup-trace';
traceMark('cli modules imported');
import { setInvocationTimer } from '../local/lambda-sandboxes';

let firstAssetMs: number | undefined;
setInvocationTimer((stage, _ms, ok) => {
  if (stage === 'Persist' && ok && firstAssetMs === undefined) firstAssetMs = performance.now();
});
const exitCode = await runCli(process.argv.slice(2));
console.log(JSON.stringify({ firstAssetMs: firstAssetMs ?? null, totalMs: performance.now(), exitCode }));
