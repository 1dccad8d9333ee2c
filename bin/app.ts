#!/usr/bin/env node
/** CDK entry point (`cdk synth`, `cdk deploy`). The region comes from the `region` context value or CDK_DEFAULT_REGION. */
import { buildApp } from '../lib/app';

buildApp().app.synth();
