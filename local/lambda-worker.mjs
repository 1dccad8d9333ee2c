// One local Lambda sandbox: a worker thread started with its function's environment only (see
// local/lambda-sandboxes.ts). It imports the function's bundled handler once (the cold start), then answers one
// invocation at a time, like a Lambda execution environment. Results and errors travel as JSON text; errors keep
// their `name`, which is what Step Functions matches Retry and Catch on.
import dns from 'node:dns';
import { parentPort, workerData } from 'node:worker_threads';

resolveLocalhostNames();

/**
 * The stand-ins' endpoints use *.localhost host names (virtual-hosted S3 buckets, the SQS queue host). The main
 * thread resolves them to 127.0.0.1 through fauxqs's DNS hook; a worker has its own `dns` module, so it gets the
 * same rule here.
 */
function resolveLocalhostNames() {
  const original = dns.lookup;
  dns.lookup = (hostname, options, callback) => {
    const done = typeof options === 'function' ? options : callback;
    const settings = typeof options === 'function' ? {} : typeof options === 'number' ? { family: options } : (options ?? {});
    if (typeof hostname === 'string' && hostname.endsWith('.localhost')) {
      if (settings.all) done(null, [{ address: '127.0.0.1', family: 4 }]);
      else done(null, '127.0.0.1', 4);
      return;
    }
    original(hostname, options, callback);
  };
}

function describeError(error) {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: typeof error === 'string' ? error : JSON.stringify(error) };
}

let handler;
try {
  const module = await import(workerData.entryUrl);
  if (typeof module.handler !== 'function') throw new Error(`${workerData.entryUrl} exports no handler`);
  handler = module.handler;
  parentPort.postMessage({ type: 'ready' });
} catch (error) {
  parentPort.postMessage({ type: 'init-error', error: describeError(error) });
}

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke' || handler === undefined) return;
  const context = {
    functionName: workerData.functionName,
    memoryLimitInMB: String(workerData.memorySizeMb),
    awsRequestId: message.requestId,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
  };
  try {
    const result = await handler(JSON.parse(message.payload), context);
    parentPort.postMessage({ type: 'result', requestId: message.requestId, result: JSON.stringify(result ?? null) });
  } catch (error) {
    parentPort.postMessage({ type: 'error', requestId: message.requestId, error: describeError(error) });
  }
});
