/**
 * What the CLI prints. Errors: one `error: …` line on stderr and, with --json, one JSON object as the last stdout line
 * (README "CLI output"); a stack trace only with --debug.
 */
export interface ErrorOutput {
  json: boolean;
  /** Printed after the error line when --debug asks for it. */
  stack?: string;
}

export function printJsonLine(value: unknown): void {
  console.log(JSON.stringify(value));
}

/** `jsonFields` are the object printed with --json (the error sentence and code, plus e.g. a batch's status). */
export function printError(message: string, jsonFields: Record<string, unknown>, output: ErrorOutput): void {
  const line = message.replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`error: ${line}\n`);
  if (output.stack !== undefined) process.stderr.write(`${output.stack}\n`);
  if (output.json) printJsonLine(jsonFields);
}
