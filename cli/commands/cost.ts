/** `media-triage cost --images N`: the AWS cost of N images, from the synthesized template and measured durations. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../local/project-root';
import { printJsonLine } from '../output';
import { optionValue } from '../usage';
import type { CommandContext } from './context';
import { DEFAULT_DURATIONS, estimateCost, US_EAST_1_PRICES, type CostEstimate, type PriceTable, type StageDurations } from './cost-model';
import { jsonOption, type JsonOption } from './options';

interface CostOptions extends JsonOption {
  images: number;
  avgMb?: number;
  batchSize?: number;
  prices?: string;
  template?: string;
}

/** Where `npm run bench` writes its figures; the newest file (timestamped names sort by time) is used. */
export const BENCH_RESULTS_DIR = path.join(PROJECT_ROOT, 'bench', 'results');

export function costCommand(context: CommandContext): Command {
  return new Command('cost')
    .description('estimate the AWS cost of N images from the synthesized stack and the bench durations')
    .addOption(new Option('--images <n>', 'how many images').argParser(positiveNumber).makeOptionMandatory())
    .addOption(new Option('--avg-mb <x>', 'average image size in MB (default: that of the images the durations were measured on)').argParser(positiveNumber))
    .addOption(new Option('--batch-size <n>', 'images per uploaded archive (default: all N in one)').argParser(positiveNumber))
    .addOption(new Option('--prices <file>', 'JSON object overriding unit prices (keys as in cli/commands/cost-model.ts)').argParser(optionValue))
    .addOption(new Option('--template <file>', 'price this synthesized template instead of synthesizing in-process').argParser(optionValue))
    .addOption(jsonOption())
    .action(async (options: CostOptions) => {
      // Imported here, not at the top: the CLI's other commands should not load the local session's modules.
      const { loadTemplate, readTemplateFile } = await import('../../local/local-session');
      const template = options.template === undefined ? await loadTemplate() : await readTemplateFile(options.template);
      const durations = latestBenchDurations() ?? DEFAULT_DURATIONS;
      const estimate = estimateCost(template, {
        images: Math.ceil(options.images),
        batchSize: Math.ceil(options.batchSize ?? options.images),
        avgMb: options.avgMb ?? durations.measuredAvgMb,
        durations,
        prices:
          options.prices === undefined
            ? US_EAST_1_PRICES
            : { ...US_EAST_1_PRICES, ...(JSON.parse(readFileSync(options.prices, 'utf8')) as Partial<PriceTable>) },
      });
      if (options.json === true) printJsonLine(estimate);
      else printEstimate(estimate);
      context.setExitCode(0);
    });
}

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('must be a positive number');
  return number;
}

interface BenchResultFile {
  costDurations?: Omit<StageDurations, 'source'>;
  quick?: boolean;
  machine?: { underLoad?: boolean };
}

/** Why a bench result's durations are not clean: a smoke run (`--quick`), or other jobs loading the machine. */
function blemishes(result: BenchResultFile): string[] {
  return [...(result.quick === true ? ['a --quick run'] : []), ...(result.machine?.underLoad === true ? ['taken under load'] : [])];
}

/**
 * The durations of the newest clean bench result (a full run on a machine not loaded by other jobs); when there is
 * none, of the newest result that has durations at all, saying what is wrong with it; else undefined (then the
 * documented defaults apply).
 */
export function latestBenchDurations(dir = BENCH_RESULTS_DIR): StageDurations | undefined {
  if (!existsSync(dir)) return undefined;
  const results: Array<{ file: string; result: BenchResultFile }> = [];
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .reverse()) {
    try {
      const result = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as BenchResultFile;
      if (result.costDurations !== undefined) results.push({ file, result });
    } catch {
      // A half-written or hand-edited file is not a measurement.
    }
  }
  const chosen = results.find(({ result }) => blemishes(result).length === 0) ?? results[0];
  if (chosen !== undefined) {
    const { file, result } = chosen;
    const measured = result.costDurations!;
    const caveats = blemishes(result);
    // A figure the bench did not take (e.g. --skip-models) falls back to its documented default.
    const missing = [
      ...Object.keys(DEFAULT_DURATIONS.stageMsPerImage).filter((stage) => measured.stageMsPerImage[stage] === undefined),
      ...Object.keys(DEFAULT_DURATIONS.modelMsPerCall).filter((task) => measured.modelMsPerCall[task] === undefined),
    ];
    return {
      stageMsPerImage: { ...DEFAULT_DURATIONS.stageMsPerImage, ...measured.stageMsPerImage },
      modelMsPerCall: { ...DEFAULT_DURATIONS.modelMsPerCall, ...measured.modelMsPerCall },
      measuredAvgMb: measured.measuredAvgMb,
      source: `bench result ${path.join('bench', 'results', file)}${caveats.length === 0 ? '' : ` (${caveats.join(', ')}: no clean result yet)`}${missing.length === 0 ? '' : ` (defaults for ${missing.join(', ')})`}`,
    };
  }
  return undefined;
}

function printEstimate(estimate: CostEstimate): void {
  const usd = (value: number): string => `$${value.toFixed(value < 1 ? 4 : 2)}`;
  console.log(`${estimate.images} images of ${estimate.avgMb} MB, ${estimate.batchSize} per batch`);
  console.log(`durations: ${estimate.durationsSource}`);
  console.log(`prices: ${estimate.pricesAsOf}`);
  const width = Math.max(...estimate.lines.map((line) => `${line.service}: ${line.item}`.length));
  for (const line of estimate.lines) {
    const label = `${line.service}: ${line.item}`.padEnd(width);
    console.log(`  ${label}  ${line.quantity.toFixed(line.quantity < 100 ? 2 : 0).padStart(12)} ${line.unit.padEnd(12)} ${usd(line.usd).padStart(10)}`);
  }
  console.log(`total ${usd(estimate.totalUsd)}; per 1,000 images ${usd(estimate.costPer1kImagesUsd)}`);
  console.log(
    `Standard state transitions: ${estimate.standardTransitionsPerBatch} per batch, ${estimate.standardTransitionsPerImage.toFixed(3)} per image; ${estimate.expressChildrenPerBatch} Express children per batch`,
  );
  const t = estimate.throughput;
  const count = (value: number): string => (Number.isFinite(value) ? value.toLocaleString('en-US') : 'unbounded');
  console.log(`throughput on AWS: ${count(t.sustainedImagesPerHour)} images/hour for one archive at a time, bound by ${t.boundBy}`);
  console.log(`  archives at once: ${count(t.concurrentArchivesImagesPerHour)} images/hour, bound by ${t.concurrentArchivesBoundBy}`);
  console.log(`  a child takes ${t.childSecondsPerImage.toFixed(2)} s per image through its stages (${t.itemsPerChild} items per child)`);
  for (const bound of t.bounds) console.log(`  ${bound.setting} = ${bound.value}: ${count(bound.imagesPerHour)} images/hour`);
  for (const check of t.timeLimits) {
    const verdict = check.withinLimit ? 'within' : 'OVER';
    console.log(`  ${check.limit}: ${check.secondsPerInvocation.toFixed(1)} s per invocation, ${verdict} its ${check.limitSeconds} s`);
  }
}
