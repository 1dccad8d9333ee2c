/**
 * The AWS SDK warns on every process start that its 2027 releases will need Node 22. On the Node 20 this project
 * pins, that is known and not actionable per run, so the CLI and the tests drop that one warning (and only it).
 */
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;

process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : warning.message;
  const first = rest[0];
  const type = typeof first === 'string' ? first : (first as { type?: string } | undefined)?.type;
  if (type === 'NodeVersionSupportWarning' || text.includes('will require node >=22')) return;
  emitWarning(warning, ...rest);
}) as typeof process.emitWarning;

export {};
