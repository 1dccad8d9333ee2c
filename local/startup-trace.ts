/**
 * Start-up tracing for the bench (bench/startup-probe.ts): with MEDIA_TRIAGE_TRACE set, `traceMark(label)` writes
 * `[trace] <ms since the process started> <label>` to stderr; otherwise it does nothing. The time is absolute
 * (timeOrigin + now) minus the main process's start, so marks from worker threads line up with the main thread's.
 */
const setting = process.env['MEDIA_TRIAGE_TRACE'];
const enabled = setting !== undefined && setting !== '';
// The main thread records its start in the variable, which worker threads inherit.
const inherited = Number(setting);
const processStart = inherited > 1e12 ? inherited : performance.timeOrigin;
if (enabled && !(inherited > 1e12)) process.env['MEDIA_TRIAGE_TRACE'] = String(processStart);

export function traceMark(label: string): void {
  if (!enabled) return;
  process.stderr.write(`[trace] ${(performance.timeOrigin + performance.now() - processStart).toFixed(0)} ${label}\n`);
}
