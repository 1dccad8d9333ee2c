/**
 * `media-triage model-server status|stop`: the checkout's background model server (local/sagemaker/model-server.ts),
 * which keeps the bundled models loaded between local commands and exits by itself when idle.
 */
import { Command } from 'commander';
import { printJsonLine } from '../output';
import type { CommandContext } from './context';
import { jsonOption, type JsonOption } from './options';

/** The `--json` line of `model-server status` (README "CLI output"). */
export interface ModelServerStatus {
  enabled: boolean;
  running: boolean;
  pid: number | null;
  port: number | null;
  /** Model worker threads it runs. */
  workers: number | null;
  idleSeconds: number | null;
  /** Whether it runs this checkout's current code (a command on changed code replaces it). */
  current: boolean | null;
  dir: string;
}

export function modelServerCommand(context: CommandContext): Command {
  return new Command('model-server')
    .description('the background process that keeps the local models loaded between commands (it exits when idle)')
    .addCommand(
      new Command('status')
        .description('whether the model server runs, where and for how long it waits idle')
        .addOption(jsonOption())
        .action(async (options: JsonOption) => {
          const client = await import('../../local/sagemaker/model-server-client');
          const dir = client.modelServerDir();
          const info = client.readServerInfo(dir);
          const status: ModelServerStatus = {
            enabled: client.modelServerEnabled(),
            running: info !== undefined,
            pid: info?.pid ?? null,
            port: info?.port ?? null,
            workers: info?.size ?? null,
            idleSeconds: info?.idleSeconds ?? null,
            current: info === undefined ? null : info.key === client.modelServerKey(info.size),
            dir,
          };
          if (options.json === true) printJsonLine(status);
          else if (info === undefined)
            console.log(`No model server is running${status.enabled ? '' : ' (MEDIA_TRIAGE_MODEL_SERVER=off: commands load the models themselves)'}.`);
          else {
            const code = status.current === true ? 'current code' : 'older code (the next run replaces it)';
            console.log(`Model server running: pid ${info.pid}, port ${info.port}, ${info.size} worker(s), ${code}; exits after ${info.idleSeconds} s idle.`);
          }
          context.setExitCode(0);
        }),
    )
    .addCommand(
      new Command('stop')
        .description('stop the model server now (the next local run starts it again)')
        .addOption(jsonOption())
        .action(async (options: JsonOption) => {
          const { stopModelServer } = await import('../../local/sagemaker/model-server-client');
          const result = await stopModelServer();
          if (options.json === true) printJsonLine(result);
          else console.log(result.stopped ? `Stopped the model server (pid ${result.pid}).` : 'No model server was running.');
          context.setExitCode(0);
        }),
    );
}
