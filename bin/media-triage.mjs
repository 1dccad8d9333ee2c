#!/usr/bin/env node
// Launcher for the media-triage CLI: registers tsx so the TypeScript sources run as they are (no build step),
// then hands over to bin/cli.ts. Works right after `npm ci`.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every run that its 2027 releases will need Node 22; that is not news to a user of this CLI.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const text = typeof warning === 'string' ? warning : warning?.message ?? '';
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'NodeVersionSupportWarning' || text.includes('will require node >=22')) return;
  emitWarning(warning, ...rest);
};

register();
await import('./cli.ts');
