/**
 * Throughput on AWS, on paper: the images per hour the deployed stack can sustain, derived from the synthesized
 * template (the Distributed Map's MaxConcurrency and ItemBatcher, the endpoints' concurrency, the functions' and
 * the Express children's time limits) and the per-image stage and model times (the bench's, else the defaults).
 *
 * The model: a Map child takes its items one after the other through its stages (Preprocess, Classify, Triage,
 * Persist: each handler loops over the child's items, and Classify waits on the two endpoint calls of an item at
 * once), so one child moves 1 / (its stages' seconds per image) images per second, and MaxConcurrency children run at
 * once per execution. An endpoint answers at most its concurrency (serverless MaxConcurrency; an instance endpoint:
 * its instances, one inference at a time each) calls at once, each taking the model's seconds per call. The
 * sustained rate of one archive at a time is the lowest of these bounds; several archives at once each bring their
 * own MaxConcurrency children, so then only the endpoints bound it. Per-batch work (PrepareBatch, CrossCheck, Report)
 * runs outside the children and is left out: it is small next to a large archive's map. Pure arithmetic.
 */
import type { CfnTemplate } from '../../local/template';
import type { StageDurations } from './cost-model';

export interface ThroughputBound {
  /** The setting, as the template names it (e.g. `ProcessAssets MaxConcurrency`). */
  setting: string;
  value: number;
  imagesPerHour: number;
}

export interface TimeLimitCheck {
  /** A function's Timeout, or the Express child's 5-minute limit. */
  limit: string;
  limitSeconds: number;
  /** Seconds one invocation (one child's items) takes at the given per-image times. */
  secondsPerInvocation: number;
  withinLimit: boolean;
}

export interface Throughput {
  /** One archive at a time: the lowest bound. */
  sustainedImagesPerHour: number;
  /** The setting that gives that bound. */
  boundBy: string;
  /** Archives running at once (each execution its own map children): the endpoints alone bound it. */
  concurrentArchivesImagesPerHour: number;
  concurrentArchivesBoundBy: string;
  bounds: ThroughputBound[];
  itemsPerChild: number;
  mapMaxConcurrency: number;
  /** A child's stage seconds per image (the sum over the child's stages). */
  childSecondsPerImage: number;
  timeLimits: TimeLimitCheck[];
}

type AslState = {
  Type: string;
  Resource?: string;
  MaxConcurrency?: number;
  ItemBatcher?: { MaxItemsPerBatch?: number };
  ItemProcessor?: { States: Record<string, AslState>; ProcessorConfig?: { Mode?: string; ExecutionType?: string } };
};

const EXPRESS_LIMIT_SECONDS = 300;

interface EndpointCapacity {
  name: string;
  task: string;
  concurrency: number;
  kind: 'serverless' | 'instance';
}

/** Each endpoint's concurrency, as its EndpointConfig's production variants give it (summed over variants). */
function endpointCapacities(template: CfnTemplate): EndpointCapacity[] {
  const resources = template.Resources;
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::SageMaker::EndpointConfig')
    .map(([logicalId, config]) => {
      type Variant = { ModelName?: { 'Fn::GetAtt'?: string[] }; ServerlessConfig?: { MaxConcurrency: number }; InitialInstanceCount?: number };
      const variants = (config.Properties?.['ProductionVariants'] as Variant[] | undefined) ?? [];
      const model = resources[variants[0]?.ModelName?.['Fn::GetAtt']?.[0] ?? ''];
      const env = (model?.Properties?.['PrimaryContainer'] as { Environment?: Record<string, string> } | undefined)?.Environment ?? {};
      const serverless = variants.every((variant) => variant.ServerlessConfig !== undefined);
      const concurrency = variants.reduce((sum, variant) => sum + (variant.ServerlessConfig?.MaxConcurrency ?? variant.InitialInstanceCount ?? 1), 0);
      // The construct's logical ids start with its id (CategoryModel…, PolicyModel…): the readable part.
      const name = /^([A-Z][A-Za-z]*?Model)/.exec(logicalId)?.[1] ?? logicalId;
      return { name, task: env['HF_TASK'] ?? 'unknown', concurrency, kind: serverless ? 'serverless' : 'instance' } as EndpointCapacity;
    });
}

export function estimateThroughput(
  template: CfnTemplate,
  machine: { States: Record<string, unknown> },
  mapName: string,
  functions: ReadonlyArray<{ arn: string; stageName: string; timeoutSeconds: number }>,
  durations: StageDurations,
  preprocessScale: number,
): Throughput {
  const map = machine.States[mapName] as AslState;
  const childStates = Object.values(map.ItemProcessor?.States ?? {});
  const itemsPerChild = map.ItemBatcher?.MaxItemsPerBatch ?? 1;
  // 0 or absent: the service's own limit of 10,000 concurrent child executions.
  const mapMaxConcurrency = map.MaxConcurrency === undefined || map.MaxConcurrency === 0 ? 10_000 : map.MaxConcurrency;
  const timeLimits: TimeLimitCheck[] = [];
  let childSecondsPerImage = 0;
  for (const state of childStates) {
    const fn = functions.find((candidate) => candidate.arn === state.Resource);
    if (state.Type !== 'Task' || fn === undefined) continue;
    const seconds = ((durations.stageMsPerImage[fn.stageName] ?? 0) * (fn.stageName === 'Preprocess' ? preprocessScale : 1)) / 1000;
    childSecondsPerImage += seconds;
    const perInvocation = seconds * itemsPerChild;
    timeLimits.push({
      limit: `${fn.stageName} Timeout`,
      limitSeconds: fn.timeoutSeconds,
      secondsPerInvocation: perInvocation,
      withinLimit: perInvocation < fn.timeoutSeconds,
    });
  }
  if (map.ItemProcessor?.ProcessorConfig?.ExecutionType === 'EXPRESS') {
    const perChild = childSecondsPerImage * itemsPerChild;
    timeLimits.push({
      limit: 'Express child execution (5 minutes)',
      limitSeconds: EXPRESS_LIMIT_SECONDS,
      secondsPerInvocation: perChild,
      withinLimit: perChild < EXPRESS_LIMIT_SECONDS,
    });
  }

  const perHour = (imagesPerSecond: number): number => Math.floor(imagesPerSecond * 3600);
  const mapBound: ThroughputBound = {
    setting: `${mapName} MaxConcurrency (children of ${itemsPerChild} items)`,
    value: mapMaxConcurrency,
    imagesPerHour: childSecondsPerImage > 0 ? perHour(mapMaxConcurrency / childSecondsPerImage) : Number.POSITIVE_INFINITY,
  };
  const endpointBounds: ThroughputBound[] = endpointCapacities(template).map((endpoint) => {
    const seconds = (durations.modelMsPerCall[endpoint.task] ?? 0) / 1000;
    const setting =
      endpoint.kind === 'serverless'
        ? `${endpoint.name} endpoint MaxConcurrency (serverless)`
        : `${endpoint.name} endpoint instances (one inference at a time each)`;
    return { setting, value: endpoint.concurrency, imagesPerHour: seconds > 0 ? perHour(endpoint.concurrency / seconds) : Number.POSITIVE_INFINITY };
  });
  const lowest = (bounds: ThroughputBound[]): ThroughputBound => bounds.reduce((low, bound) => (bound.imagesPerHour < low.imagesPerHour ? bound : low));
  const bounds = [mapBound, ...endpointBounds];
  const single = lowest(bounds);
  const concurrent = endpointBounds.length === 0 ? { setting: 'nothing in the template', imagesPerHour: Number.POSITIVE_INFINITY } : lowest(endpointBounds);
  return {
    sustainedImagesPerHour: single.imagesPerHour,
    boundBy: single.setting,
    concurrentArchivesImagesPerHour: concurrent.imagesPerHour,
    concurrentArchivesBoundBy: concurrent.setting,
    bounds,
    itemsPerChild,
    mapMaxConcurrency,
    childSecondsPerImage,
    timeLimits,
  };
}
