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
export const DEFAULT_REGION = 'eu-west-1';

export interface BuildAppOptions {
  region?: string;
  account?: string;
  /** Skip esbuild bundling (tests, local mode): the template is the same, the asset hashes are placeholders. */
  skipBundling?: boolean;
  /** Run cdk-nag's AWS Solutions checks on synth. */
  nag?: boolean;
  outdir?: string;
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
  const region = options.region ?? (app.node.tryGetContext('region') as string | undefined) ?? process.env['CDK_DEFAULT_REGION'] ?? DEFAULT_REGION;
  const stack = new MediaTriageStack(app, STACK_NAME, {
    env: { region, account: options.account ?? process.env['CDK_DEFAULT_ACCOUNT'] },
    description: 'media-triage: batch image triage with SageMaker Hugging Face endpoints, Step Functions and human review',
  });
  if (options.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
