/**
 * `media-triage purge --merchant <id>`: erases a merchant's staged images, model inputs, records, review items,
 * queued review messages and report rows (lambdas/adapters/purge.ts), on the local state or a deployed stack. Without
 * `--yes` it only counts what it would remove.
 */
import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { printJsonLine } from '../output';
import { optionValue, UsageError } from '../usage';
import type { CommandContext } from './context';
import { jsonOption, stateDirOption, type JsonOption, type StateDirOption } from './options';

interface PurgeCommandOptions extends JsonOption, StateDirOption {
  merchant: string;
  stack?: string;
  region?: string;
  yes?: boolean;
}

/** Who runs the purge, for the audit entry: the local user, or the AWS credentials' access key and profile. */
async function actorOf(kind: 'local' | 'stack'): Promise<string> {
  if (kind === 'local') return `local:${userInfo().username}`;
  const { s3Client } = await import('../../lambdas/adapters/aws-clients');
  const credentials = await s3Client().config.credentials();
  const profile = process.env['AWS_PROFILE'];
  return `aws:${credentials.accessKeyId}${profile === undefined ? '' : ` (profile ${profile})`}`;
}

export function purgeCommand(context: CommandContext): Command {
  return new Command('purge')
    .description('erase a merchant: staged images, model inputs, records, review items and messages, report rows (README "Retention and erasure")')
    .addOption(new Option('--merchant <id>', 'the merchant id to erase (as in the manifests’ merchant_id)').makeOptionMandatory().argParser(optionValue))
    .addOption(new Option('--yes', 'really remove (otherwise only count what would be removed)'))
    .addOption(new Option('--stack <name>', 'purge a deployed stack (names from its CloudFormation outputs) instead of the local state').argParser(optionValue))
    .addOption(new Option('--region <region>', 'AWS region of --stack (default: from the AWS environment)').argParser(optionValue))
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .action(async (options: PurgeCommandOptions) => {
      if (options.merchant.trim() === '') throw new UsageError('--merchant must not be empty');
      const [{ withTarget }, { checkStateDir }, { purgeMerchant, PURGE_KINDS }, { phase }] = await Promise.all([
        import('../target'),
        import('../checks/state-dir'),
        import('../../lambdas/adapters/purge'),
        import('../../local/progress'),
      ]);
      const stateDir = await checkStateDir(options.stateDir);
      const result = await withTarget({ stack: options.stack, region: options.region, stateDir, command: 'purge' }, async (target) =>
        purgeMerchant(target.names, options.merchant, {
          apply: options.yes === true,
          actor: await actorOf(target.kind),
          onStep: (kind, count) => phase(`purge ${options.merchant}: ${kind} ${count}`, options.json !== true && process.stderr.isTTY === true),
        }),
      );
      if (options.json === true) printJsonLine(result);
      else {
        const verb = result.dryRun ? 'would remove' : 'removed';
        console.log(`Merchant ${result.merchantId}: ${verb}`);
        for (const kind of PURGE_KINDS) console.log(`  ${kind.padEnd(17)} ${result.removed[kind]}`);
        if (result.dryRun) console.log('Nothing was removed: run again with --yes to erase.');
      }
      context.setExitCode(0);
    });
}
