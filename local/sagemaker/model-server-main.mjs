// Entry of the local model server process (model-server.ts), started detached by model-server-client.ts:
// registers tsx so the TypeScript sources run as they are, then serves until idle.
import { register } from 'tsx/esm/api';

register();
await import('./model-server-entry.ts');
