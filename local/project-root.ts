/**
 * The project's root folder, found from this file's place (local/ is one level down). lib/constructs/stage-function.ts
 * exports the same path, but importing it loads aws-cdk-lib (seconds of start-up): local commands take it from here.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
