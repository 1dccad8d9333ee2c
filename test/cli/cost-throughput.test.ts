/** Throughput on paper, checked against the settings of the synthesized template rather than restated numbers. */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DURATIONS, estimateCost, US_EAST_1_PRICES, type CostInput } from '../../cli/commands/cost-model';
import { synthesizeTemplate } from '../../local/synthesize';
import { readLocalStack, type CfnTemplate } from '../../local/template';

const input: CostInput = { images: 1000, batchSize: 1000, avgMb: DEFAULT_DURATIONS.measuredAvgMb, durations: DEFAULT_DURATIONS, prices: US_EAST_1_PRICES };

/** A copy of the template with a text replacement in the state machine's definition. */
function withDefinition(template: CfnTemplate, pattern: RegExp, replacement: string): CfnTemplate {
  const copy = structuredClone(template);
  const machine = Object.values(copy.Resources).find((resource) => resource.Type === 'AWS::StepFunctions::StateMachine')!;
  const join = machine.Properties!['DefinitionString'] as { 'Fn::Join': [string, unknown[]] };
  join['Fn::Join'][1] = join['Fn::Join'][1].map((part) => (typeof part === 'string' ? part.replace(pattern, replacement) : part));
  return copy;
}

function mapState(template: CfnTemplate): { MaxConcurrency: number; ItemBatcher: { MaxItemsPerBatch: number } } {
  const definition = readLocalStack(template, (name) => name).stateMachine.definition as { States: Record<string, { Type: string; ItemBatcher?: unknown }> };
  return Object.values(definition.States).find((state) => state.Type === 'Map') as never;
}

function serverlessConcurrencies(template: CfnTemplate): number[] {
  return Object.values(template.Resources)
    .filter((resource) => resource.Type === 'AWS::SageMaker::EndpointConfig')
    .map((config) => (config.Properties!['ProductionVariants'] as Array<{ ServerlessConfig: { MaxConcurrency: number } }>)[0]!.ServerlessConfig.MaxConcurrency);
}

describe('throughput on paper', () => {
  let template: CfnTemplate;
  beforeAll(() => {
    template = synthesizeTemplate();
  }, 60_000);

  it('bounds one archive by the lowest of the map and endpoint bounds, each from its template setting', () => {
    const { throughput, sustainedImagesPerHour, boundBy } = estimateCost(template, input);
    const map = mapState(template);
    expect(throughput.mapMaxConcurrency).toBe(map.MaxConcurrency);
    expect(throughput.itemsPerChild).toBe(map.ItemBatcher.MaxItemsPerBatch);
    const childSeconds = ['Preprocess', 'Classify', 'Triage', 'Persist'].reduce((sum, stage) => sum + DEFAULT_DURATIONS.stageMsPerImage[stage]! / 1000, 0);
    expect(throughput.childSecondsPerImage).toBeCloseTo(childSeconds, 9);
    expect(throughput.bounds[0]!.imagesPerHour).toBe(Math.floor((map.MaxConcurrency / childSeconds) * 3600));
    const endpointValues = throughput.bounds
      .slice(1)
      .map((bound) => bound.value)
      .sort();
    expect(endpointValues).toEqual(serverlessConcurrencies(template).sort());
    expect(sustainedImagesPerHour).toBe(Math.min(...throughput.bounds.map((bound) => bound.imagesPerHour)));
    expect(throughput.bounds.find((bound) => bound.imagesPerHour === sustainedImagesPerHour)!.setting).toBe(boundBy);
  });

  it('follows the map: twice the MaxConcurrency, twice the map bound; archives at once are bound by an endpoint', () => {
    const base = estimateCost(template, input).throughput;
    const map = mapState(template);
    const doubled = estimateCost(withDefinition(template, /"MaxConcurrency":\d+/, `"MaxConcurrency":${map.MaxConcurrency * 2}`), input).throughput;
    expect(doubled.bounds[0]!.imagesPerHour).toBeCloseTo(base.bounds[0]!.imagesPerHour * 2, -1);
    expect(base.concurrentArchivesBoundBy).toMatch(/endpoint/);
    expect(base.concurrentArchivesImagesPerHour).toBe(Math.min(...base.bounds.slice(1).map((bound) => bound.imagesPerHour)));
  });

  it("names the slow model's endpoint as the bound when inference dominates", () => {
    const slow = { ...DEFAULT_DURATIONS, modelMsPerCall: { ...DEFAULT_DURATIONS.modelMsPerCall, 'zero-shot-image-classification': 60_000 } };
    const estimate = estimateCost(template, { ...input, durations: slow });
    expect(estimate.boundBy).toMatch(/^CategoryModel endpoint MaxConcurrency/);
  });

  it('checks each child stage against its Timeout and the Express 5-minute limit', () => {
    const fine = estimateCost(template, input).throughput.timeLimits;
    expect(fine.every((check) => check.withinLimit)).toBe(true);
    const preprocessTimeout = readLocalStack(template, (name) => name).functions.find((fn) => fn.stageName === 'Preprocess')!.timeoutSeconds;
    const items = mapState(template).ItemBatcher.MaxItemsPerBatch;
    // Just over the Timeout for one child's items.
    const slowMs = ((preprocessTimeout * 1000) / items) * 1.1;
    const slow = { ...DEFAULT_DURATIONS, stageMsPerImage: { ...DEFAULT_DURATIONS.stageMsPerImage, Preprocess: slowMs } };
    const check = estimateCost(template, { ...input, durations: slow }).throughput.timeLimits.find((entry) => entry.limit === 'Preprocess Timeout')!;
    expect(check.limitSeconds).toBe(preprocessTimeout);
    expect(check.withinLimit).toBe(false);
  });
});
