#!/usr/bin/env node
// Launcher for the media-triage CLI: registers tsx so the TypeScript sources run as they are (no build step),
// then hands over to bin/cli.ts. Works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../local/quiet-node-version-warning.ts');
await import('./cli.ts');
