#!/usr/bin/env node
/**
 * CDK entry point (`cdk synth`, `cdk deploy`). The region comes from `-c region=…`, else CDK_DEFAULT_REGION (the
 * credentials' region, set by the CDK CLI); without either the app stops with one line saying how to give one.
 */
import { buildApp, RegionMissingError } from '../lib/app';

try {
  buildApp().app.synth();
} catch (error) {
  if (!(error instanceof RegionMissingError)) throw error;
  console.error(`error: ${error.message}`);
  process.exitCode = 1;
}
