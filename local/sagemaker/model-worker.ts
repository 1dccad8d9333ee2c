/**
 * One model worker thread: its own TensorFlow.js wasm runtime with both local models, answering one inference at a
 * time (the wasm backend runs on one core, so one worker per core is what spreads model work over the machine).
 * Messages in: `{type: 'load'}` (load both models now) and `{type: 'run', id, model, image}`; out: `{type: 'loaded'}`
 * and `{type: 'result', id, value}` or `{type: 'error', id, error: {name, message}}`.
 */
import { traceMark } from '../startup-trace';
import { parentPort } from 'node:worker_threads';
import { detectObjects, loadObjectDetector } from './object-detector';
import { classifyPolicy, loadPolicyModel } from './policy-model';
import type { ModelJob } from './model-pool';

traceMark('model worker: modules imported');
const port = parentPort!;

function describe(error: unknown): { name: string; message: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
}

port.on('message', (message: { type: 'load' } | ({ type: 'run'; id: number } & ModelJob)) => {
  if (message.type === 'load') {
    traceMark('model worker: load asked');
    Promise.all([loadObjectDetector(), loadPolicyModel()]).then(
      () => (traceMark('model worker: loaded'), port.postMessage({ type: 'loaded' })),
      (error: unknown) => port.postMessage({ type: 'load-error', error: describe(error) }),
    );
    return;
  }
  const { id, model, image } = message;
  const work = model === 'detector' ? detectObjects(image) : classifyPolicy(image);
  work.then(
    (value) => port.postMessage({ type: 'result', id, value }),
    (error: unknown) => port.postMessage({ type: 'error', id, error: describe(error) }),
  );
});
