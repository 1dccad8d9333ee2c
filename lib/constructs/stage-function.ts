/**
 * A Lambda stage built from the stage registry (lambdas/stages.ts): Node 24 on arm64, ESM bundle by esbuild (no
 * Docker), active tracing, its own log group with retention, and STAGE_NAME so the local runner can map a task in the
 * synthesized state machine back to its handler.
 */
import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SETTING_NAMES, type SettingKey } from '../../lambdas/adapters/settings';
import { imageCodecWasmFiles } from '../../lambdas/core/image-codecs';
import { COMMON_SETTINGS, type StageDefinition, type StageName } from '../../lambdas/stages';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface StageFunctionProps {
  /** The registry entry's name; becomes the STAGE_NAME environment variable. */
  readonly stageName: StageName;
  readonly stage: StageDefinition;
  /** Values for the settings the stage declares; every declared setting must have one. */
  readonly settings: Partial<Record<SettingKey, string>>;
  /**
   * Log retention of the function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

export class StageFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: StageFunctionProps) {
    const environment: Record<string, string> = { [SETTING_NAMES.stage]: props.stageName, NODE_OPTIONS: '--enable-source-maps' };
    for (const key of [...COMMON_SETTINGS, ...props.stage.settings]) {
      const value = props.settings[key];
      if (value === undefined) throw new Error(`stage ${props.stageName} needs setting "${key}" but the stack gave none`);
      environment[SETTING_NAMES[key]] = value;
    }
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: path.join(PROJECT_ROOT, props.stage.entry),
      handler: 'handler',
      description: props.stage.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.stage.memorySizeMb,
      ephemeralStorageSize: props.stage.ephemeralStorageMb === undefined ? undefined : Size.mebibytes(props.stage.ephemeralStorageMb),
      timeout: Duration.seconds(props.stage.timeoutSeconds),
      tracing: Tracing.ACTIVE,
      logGroup,
      environment,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // Some dependencies still call require(); give the ESM bundle one.
        banner: "import { createRequire as __mtCreateRequire } from 'node:module'; const require = __mtCreateRequire(import.meta.url);",
        externalModules: ['@aws-sdk/*'],
        // A bundle has no node_modules to load the WebP/AVIF decoders' .wasm from: they are copied beside it, and
        // the code told to look there (lambdas/core/image-codecs.ts).
        define: { __MEDIA_TRIAGE_WASM_BESIDE_BUNDLE__: 'true' },
        ...(props.stage.wasmCodecs === true
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) => imageCodecWasmFiles().map((file) => `cp "${file}" "${outputDir}/"`),
              },
            }
          : {}),
      },
    });
  }
}
