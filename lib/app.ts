/**
 * Builds the CDK app. Shared by `bin/app.ts` (cdk synth/deploy), the tests and the local runner, which synthesizes
 * in-process with bundling skipped (it runs the handlers from source).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MediaTriageStack, type MediaTriageStackProps } from './media-triage-stack';
import type { RetentionProps } from './constructs/retention';

export const STACK_NAME = 'MediaTriage';

export interface BuildAppOptions {
  /**
   * The stack's region. Tests and the local mode pass it; `cdk synth`/`deploy` leave it out and get
   * {@link resolveRegion}'s answer.
   * @default the `region` context value, else CDK_DEFAULT_REGION, else an error
   */
  region?: string;
  account?: string;
  /** Skip esbuild bundling (tests, local mode): the template is the same, the asset hashes are placeholders. */
  skipBundling?: boolean;
  /** Run cdk-nag's AWS Solutions checks on synth. */
  nag?: boolean;
  outdir?: string;
  /**
   * Stack props beyond the environment (tests). `cdk synth`/`deploy` read two of them from context:
   * `-c customerManagedKey=true` and `-c retention='{"reportDays":730}'` (JSON).
   */
  stackProps?: Pick<MediaTriageStackProps, 'retention' | 'customerManagedKey' | 'maxConcurrency'>;
}

/** Stack props given as context values (`-c customerManagedKey=true`, `-c retention=<JSON>`). */
function stackPropsFromContext(app: App): Pick<MediaTriageStackProps, 'retention' | 'customerManagedKey'> {
  const key: unknown = app.node.tryGetContext('customerManagedKey');
  const retention: unknown = app.node.tryGetContext('retention');
  return {
    customerManagedKey: key === true || key === 'true' ? true : undefined,
    retention: typeof retention === 'string' ? (JSON.parse(retention) as RetentionProps) : (retention as RetentionProps | undefined),
  };
}

/** Thrown when no region is given: the DLC image, ARNs and quotas are regional, so there is no safe default. */
export class RegionMissingError extends Error {
  override readonly name = 'RegionMissingError';
  constructor() {
    super(
      'media-triage needs a region to synthesize: pass `-c region=<region>` (e.g. `npx cdk deploy -c region=eu-west-1`) ' +
        'or run with AWS credentials/a profile that has a region (the CDK CLI passes it as CDK_DEFAULT_REGION, ' +
        'e.g. `AWS_PROFILE=prod npx cdk deploy` or `export AWS_REGION=eu-west-1`).',
    );
  }
}

/** The region the CDK CLI puts in CDK_DEFAULT_REGION when nothing configures one. */
const CDK_CLI_FALLBACK_REGION = 'us-east-1';

/**
 * Whether CDK_DEFAULT_REGION is only the CDK CLI's fallback: the CLI takes AWS_REGION / AWS_DEFAULT_REGION, then the
 * profile's config, then instance metadata, and otherwise says us-east-1. With none of the environment variables, no
 * AWS_PROFILE and no AWS config file, nothing chose us-east-1 (short of EC2 instance metadata, for which
 * `-c region=us-east-1` says it explicitly), so it is treated as no region rather than deploying there by accident.
 */
export function isCliFallbackRegion(env: NodeJS.ProcessEnv, configFileExists: (file: string) => boolean = existsSync): boolean {
  if (env['CDK_DEFAULT_REGION'] !== CDK_CLI_FALLBACK_REGION) return false;
  if (['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE'].some((name) => (env[name] ?? '') !== '')) return false;
  return !configFileExists(env['AWS_CONFIG_FILE'] ?? path.join(homedir(), '.aws', 'config'));
}

/**
 * The region to deploy to: the `region` context value (`-c region=…`) wins, then CDK_DEFAULT_REGION (which the CDK
 * CLI sets from AWS_REGION or the credentials' profile) unless it is only the CLI's fallback
 * ({@link isCliFallbackRegion}); otherwise a {@link RegionMissingError}.
 */
export function resolveRegion(context: unknown, env: NodeJS.ProcessEnv = process.env, configFileExists: (file: string) => boolean = existsSync): string {
  if (typeof context === 'string' && context.trim() !== '') return context.trim();
  const fromCli = env['CDK_DEFAULT_REGION']?.trim() ?? '';
  if (fromCli !== '' && !isCliFallbackRegion(env, configFileExists)) return fromCli;
  throw new RegionMissingError();
}

function cdkJsonContext(): Record<string, unknown> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cdk.json');
  const { context } = JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  return context ?? {};
}

export function buildApp(options: BuildAppOptions = {}): { app: App; stack: MediaTriageStack } {
  const app = new App({
    outdir: options.outdir,
    // cdk.json's feature flags, so an in-process synth (tests, local mode) gives the template `cdk synth` gives.
    context: { ...cdkJsonContext(), ...(options.skipBundling ? { 'aws:cdk:bundling-stacks': [] } : {}) },
  });
  const region = options.region ?? resolveRegion(app.node.tryGetContext('region'));
  const stack = new MediaTriageStack(app, STACK_NAME, {
    ...stackPropsFromContext(app),
    ...options.stackProps,
    env: { region, account: options.account ?? process.env['CDK_DEFAULT_ACCOUNT'] },
    description: 'media-triage: batch image triage with SageMaker Hugging Face endpoints, Step Functions and human review',
  });
  if (options.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
