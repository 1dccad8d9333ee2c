// Worker entry: Node 20 does not carry the parent's `--import tsx` loader into worker threads, so register tsx here
// and then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./floor-worker.ts');
