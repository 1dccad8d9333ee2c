/**
 * The model server process's arguments: `--dir D --key K --size N --idle-seconds S` (model-server-client.ts passes
 * them). Exits 0 when the server ended or another one already holds the lock, 1 when it could not start.
 */
import { parseArgs } from 'node:util';
import '../quiet-node-version-warning';
import { serveModels } from './model-server';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, key: { type: 'string' }, size: { type: 'string' }, 'idle-seconds': { type: 'string' } },
});
try {
  const outcome = await serveModels({
    dir: values.dir ?? '',
    key: values.key ?? '',
    size: Number(values.size ?? '1'),
    idleSeconds: Number(values['idle-seconds'] ?? '900'),
  });
  process.stderr.write(`model server ${process.pid}: ${outcome}\n`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`model server ${process.pid} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
