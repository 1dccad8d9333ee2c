// Entry of one model worker thread (local/sagemaker/model-pool.ts): Node 20 does not carry the parent's tsx loader
// into worker threads, so register tsx here, then load the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./model-worker.ts');
