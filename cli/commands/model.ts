/**
 * `media-triage model rollback <category|policy>`: the emergency rollback on a deployed stack
 * (cli/ops/model-rollback.ts). The AWS SDK and the construct code load only when the rollback runs.
 */
import { Argument, Command, Option } from 'commander';
import { printJsonLine } from '../output';
import { optionValue } from '../usage';
import type { CommandContext } from './context';
import { jsonOption, type JsonOption } from './options';

/**
 * The stack `bin/app.ts` deploys (`STACK_NAME` in lib/app.ts, which loads the whole CDK: not imported here so the
 * CLI starts fast; a test keeps the two equal).
 */
export const DEFAULT_STACK_NAME = 'MediaTriage';

/** CLI name of each endpoint -> its HuggingFaceEndpoint construct id in lib/media-triage-stack.ts. */
export const MODEL_CONSTRUCTS = { category: 'CategoryModel', policy: 'PolicyModel' } as const;

type ModelName = keyof typeof MODEL_CONSTRUCTS;

interface RollbackCommandOptions extends JsonOption {
  to: string;
  endpoint: string;
  stack: string;
  region?: string;
  wait?: boolean;
  keepGuardrails?: boolean;
}

export function modelCommand(context: CommandContext): Command {
  return new Command('model').description('operations on the model endpoints of a deployed stack').addCommand(rollbackCommand(context));
}

function rollbackCommand(context: CommandContext): Command {
  return new Command('rollback')
    .description(
      'point a deployed endpoint back at the already-deployed EndpointConfig of a listed version (UpdateEndpoint) and say which activeVersion prop to set so the next deploy keeps it',
    )
    .addArgument(new Argument('<model>', 'which endpoint').choices(Object.keys(MODEL_CONSTRUCTS)))
    .addOption(new Option('--to <version>', 'the listed version label to go back to').argParser(optionValue).makeOptionMandatory())
    .addOption(
      new Option('--endpoint <name>', 'the endpoint (stack output CategoryEndpointName / PolicyEndpointName)').argParser(optionValue).makeOptionMandatory(),
    )
    .addOption(new Option('--stack <name>', 'the CloudFormation stack').argParser(optionValue).default(DEFAULT_STACK_NAME))
    .addOption(new Option('--region <region>', 'AWS region (default: from the AWS environment)').argParser(optionValue))
    .option('--wait', 'wait until the endpoint is InService on the new version')
    .option('--keep-guardrails', "keep the endpoint's blue/green alarms for this update")
    .addOption(jsonOption())
    .action(async (model: ModelName, options: RollbackCommandOptions) => {
      const [{ SageMakerClient }, { formatRollback, rollbackModel }] = await Promise.all([
        import('@aws-sdk/client-sagemaker'),
        import('../ops/model-rollback'),
      ]);
      const result = await rollbackModel({
        endpointName: options.endpoint,
        toVersion: options.to,
        stackName: options.stack,
        constructId: MODEL_CONSTRUCTS[model],
        client: new SageMakerClient(options.region === undefined ? {} : { region: options.region }),
        wait: options.wait === true,
        keepGuardrails: options.keepGuardrails === true,
      });
      if (options.json === true) printJsonLine(result);
      else console.log(formatRollback(result));
      context.setExitCode(0);
    });
}
