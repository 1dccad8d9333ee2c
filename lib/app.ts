/**
 * Builds the CDK app. Shared by `bin/app.ts` (cdk synth/deploy), the tests and the local runner, which synthesizes
 * in-process with bundling skipped (it runs the handlers from source).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MediaTriageStack } from './media-triage-stack';

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

/**
 * The region to deploy to: the `region` context value (`-c region=…`) wins, then CDK_DEFAULT_REGION (which the CDK
 * CLI sets from the credentials' profile or AWS_REGION); without either, a {@link RegionMissingError}.
 */
export function resolveRegion(context: unknown, env: NodeJS.ProcessEnv = process.env): string {
  for (const candidate of [context, env['CDK_DEFAULT_REGION']]) {
    if (typeof candidate === 'string' && candidate.trim() !== '') return candidate.trim();
  }
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
    env: { region, account: options.account ?? process.env['CDK_DEFAULT_ACCOUNT'] },
    description: 'media-triage: batch image triage with SageMaker Hugging Face endpoints, Step Functions and human review',
  });
  if (options.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
