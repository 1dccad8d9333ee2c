/**
 * TEST HOOK — crash points for the crash-and-resume tests (test/e2e/crash-resume.test.ts). Inert unless the
 * environment variable MEDIA_TRIAGE_TEST_KILL_AT is set; never set it outside a test.
 *
 * `MEDIA_TRIAGE_TEST_KILL_AT=<point>[@<n>]` makes the process SIGKILL itself (no cleanup, no exit handlers: what a
 * power cut or the OOM killer does) the n-th time (default 1st) the named point is reached in this process:
 *
 * | Point | Reached |
 * | --- | --- |
 * | `before:<State>` | the local runner is about to invoke the Task state `<State>` (e.g. `before:Report`: after the map and CrossCheck) |
 * | `after:<State>` | the Task state `<State>` returned its result, before the interpreter moves on (e.g. `after:Persist@3`: three map children persisted) |
 * | `put:<key prefix>` | the durable S3 stand-in stored an object whose key starts with the prefix, before it answers the client (e.g. `put:staging/`: during PrepareBatch; `put:reports/`: during Report) |
 *
 * Points are counted in the order the process reaches them, so with concurrent map children "`after:Persist@3`"
 * means "once three Persist tasks have returned", whichever they are.
 */

export const KILL_AT_VARIABLE = 'MEDIA_TRIAGE_TEST_KILL_AT';

interface KillPoint {
  kind: 'before' | 'after' | 'put';
  target: string;
  nth: number;
}

function parse(spec: string | undefined): KillPoint | undefined {
  if (spec === undefined || spec === '') return undefined;
  const match = /^(before|after|put):(.+?)(?:@(\d+))?$/.exec(spec);
  if (match === null) throw new Error(`${KILL_AT_VARIABLE}=${spec}: expected before:<State>, after:<State> or put:<key prefix>, optionally @<n>`);
  return { kind: match[1] as KillPoint['kind'], target: match[2]!, nth: match[3] === undefined ? 1 : Number(match[3]) };
}

// Read once per process: the hook is armed for the process's whole life or not at all.
const armed = parse(process.env[KILL_AT_VARIABLE]);
let reached = 0;

function hit(kind: KillPoint['kind'], matches: (target: string) => boolean): void {
  if (armed === undefined || armed.kind !== kind || !matches(armed.target)) return;
  reached += 1;
  if (reached === armed.nth) process.kill(process.pid, 'SIGKILL');
}

/** The runner is about to invoke a Task state. */
export function beforeTask(state: string): void {
  hit('before', (target) => target === state);
}

/** A Task state returned its result. */
export function afterTask(state: string): void {
  hit('after', (target) => target === state);
}

/** The durable S3 store has an object on disk and is about to answer the put. */
export function afterObjectStored(key: string): void {
  hit('put', (prefix) => key.startsWith(prefix));
}
