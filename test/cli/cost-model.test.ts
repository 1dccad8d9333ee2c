/** The cost arithmetic, checked against figures read from the synthesized template rather than restated. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { latestBenchDurations } from '../../cli/commands/cost';
import { DEFAULT_DURATIONS, estimateCost, happyPath, US_EAST_1_PRICES, type CostInput } from '../../cli/commands/cost-model';
import { synthesizeTemplate } from '../../local/synthesize';
import type { CfnTemplate } from '../../local/template';

const input: CostInput = { images: 1000, batchSize: 250, avgMb: DEFAULT_DURATIONS.measuredAvgMb, durations: DEFAULT_DURATIONS, prices: US_EAST_1_PRICES };

function functionProps(template: CfnTemplate, stage: string): Record<string, unknown> {
  const fn = Object.values(template.Resources).find(
    (resource) =>
      resource.Type === 'AWS::Lambda::Function' &&
      (resource.Properties?.['Environment'] as { Variables?: Record<string, string> })?.Variables?.['STAGE_NAME'] === stage,
  );
  return fn!.Properties!;
}

function withMaxItemsPerBatch(template: CfnTemplate, items: number): CfnTemplate {
  const copy = JSON.parse(JSON.stringify(template)) as CfnTemplate;
  const machine = Object.values(copy.Resources).find((resource) => resource.Type === 'AWS::StepFunctions::StateMachine')!;
  const join = machine.Properties!['DefinitionString'] as { 'Fn::Join': [string, unknown[]] };
  join['Fn::Join'][1] = join['Fn::Join'][1].map((part) =>
    typeof part === 'string' ? part.replace(/"MaxItemsPerBatch":\d+/, `"MaxItemsPerBatch":${items}`) : part,
  );
  return copy;
}

describe('cost model', () => {
  let template: CfnTemplate;
  beforeAll(() => {
    template = synthesizeTemplate();
  }, 60_000);

  it('prices each stage at its MemorySize and architecture for the measured time', () => {
    const estimate = estimateCost(template, input);
    const props = functionProps(template, 'Preprocess');
    const gbSeconds = ((props['MemorySize'] as number) / 1024) * (DEFAULT_DURATIONS.stageMsPerImage['Preprocess']! / 1000) * input.images;
    const line = estimate.lines.find((candidate) => candidate.item.startsWith('Preprocess '))!;
    expect(line.quantity).toBeCloseTo(gbSeconds, 6);
    const price = (props['Architectures'] as string[] | undefined)?.[0] === 'arm64' ? US_EAST_1_PRICES.lambdaGbSecondArm : US_EAST_1_PRICES.lambdaGbSecondX86;
    const children = estimate.expressChildrenPerBatch * (input.images / input.batchSize);
    expect(line.usd).toBeGreaterThanOrEqual(gbSeconds * price);
    expect(line.usd - gbSeconds * price).toBeCloseTo((children / 1e6) * US_EAST_1_PRICES.lambdaPerMillionRequests, 9);
  });

  it('counts the Standard transitions of one batch from the ASL and divides them over its images', () => {
    const estimate = estimateCost(template, input);
    expect(estimate.standardPath[0]).toBe('PrepareBatch');
    expect(estimate.standardPath).toContain('ProcessAssets');
    expect(estimate.standardTransitionsPerImage).toBeCloseTo(estimate.standardPath.length / input.batchSize, 9);
    const single = estimateCost(template, { ...input, batchSize: input.images });
    expect(single.standardTransitionsPerImage).toBeCloseTo(estimate.standardTransitionsPerImage / (input.images / input.batchSize), 9);
  });

  it('follows the ItemBatcher: twice the items per child, half the Express requests', () => {
    const base = estimateCost(template, input);
    const doubled = estimateCost(withMaxItemsPerBatch(template, 10), input);
    const express = (estimate: typeof base) => estimate.lines.find((line) => line.item.startsWith('Express children'))!.quantity;
    expect(express(doubled)).toBe(express(base) / 2);
    expect(doubled.expressChildrenPerBatch).toBe(Math.ceil(input.batchSize / 10));
  });

  it("prices inference at each endpoint's serverless memory, and sums every line into the per-1,000 figure", () => {
    const estimate = estimateCost(template, input);
    const configs = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::SageMaker::EndpointConfig');
    const memories = configs.map(
      (config) => (config.Properties!['ProductionVariants'] as Array<{ ServerlessConfig: { MemorySizeInMB: number } }>)[0]!.ServerlessConfig.MemorySizeInMB,
    );
    const lines = estimate.lines.filter((line) => line.service === 'SageMaker Serverless');
    expect(lines.map((line) => Number(/\((\d+) MB\)/.exec(line.item)![1])).sort()).toEqual(memories.sort());
    const total = estimate.lines.reduce((sum, line) => sum + line.usd, 0);
    expect(estimate.costPer1kImagesUsd).toBeCloseTo((total / input.images) * 1000, 12);
    const cheaper = estimateCost(template, { ...input, prices: { ...US_EAST_1_PRICES, sagemakerServerlessGbSecond: 0 } });
    expect(cheaper.totalUsd).toBeLessThan(estimate.totalUsd);
  });

  it('refuses a machine without a Distributed Map', () => {
    expect(() => happyPath({ StartAt: 'A', States: { A: { Type: 'Succeed' } } })).toThrow(/Distributed Map/);
  });

  it('reads the newest bench result that has durations, and names the defaults it falls back to', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cost-bench-'));
    try {
      expect(latestBenchDurations(dir)).toBeUndefined();
      const durations = { stageMsPerImage: { Preprocess: 123 }, modelMsPerCall: {}, measuredAvgMb: 0.5 };
      writeFileSync(path.join(dir, '2026-01-01T00-00-00-000Z.json'), JSON.stringify({ costDurations: durations }));
      writeFileSync(path.join(dir, '2026-01-02T00-00-00-000Z.json'), JSON.stringify({ costDurations: { ...durations, stageMsPerImage: { Preprocess: 456 } } }));
      writeFileSync(path.join(dir, '2026-01-03T00-00-00-000Z.json'), JSON.stringify({ other: true }));
      const read = latestBenchDurations(dir)!;
      expect(read.stageMsPerImage['Preprocess']).toBe(456);
      expect(read.stageMsPerImage['Triage']).toBe(DEFAULT_DURATIONS.stageMsPerImage['Triage']);
      expect(read.source).toContain('2026-01-02');
      expect(read.source).toContain('defaults for');
      expect(read.source).toContain('image-classification');
      expect(read.source).not.toContain('no clean result');
      // A newer quick run or one under load does not displace a clean result; alone, it is used and says so.
      writeFileSync(
        path.join(dir, '2026-01-04T00-00-00-000Z.json'),
        JSON.stringify({ quick: true, costDurations: { ...durations, stageMsPerImage: { Preprocess: 789 } } }),
      );
      writeFileSync(
        path.join(dir, '2026-01-05T00-00-00-000Z.json'),
        JSON.stringify({ machine: { underLoad: true }, costDurations: { ...durations, stageMsPerImage: { Preprocess: 790 } } }),
      );
      writeFileSync(path.join(dir, '2026-01-06T00-00-00-000Z.json'), '{"costDurations": {');
      expect(latestBenchDurations(dir)!.stageMsPerImage['Preprocess']).toBe(456);
      for (const clean of ['2026-01-01T00-00-00-000Z.json', '2026-01-02T00-00-00-000Z.json']) rmSync(path.join(dir, clean));
      const fallback = latestBenchDurations(dir)!;
      expect(fallback.stageMsPerImage['Preprocess']).toBe(790);
      expect(fallback.source).toContain('taken under load: no clean result yet');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
