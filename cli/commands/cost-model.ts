/**
 * The AWS cost of a number of images, derived from the synthesized template (functions' MemorySize and architecture,
 * the state machine's ASL and its Distributed Map's ItemBatcher, the endpoints' serverless memory, the table's
 * replicas, the queues' kind) and from per-image stage durations (the latest `npm run bench` figures, else the
 * documented defaults below). Pure arithmetic: no AWS call, no clock.
 */
import { readLocalStack, type CfnTemplate } from '../../local/template';
import { estimateThroughput, type Throughput } from './cost-throughput';
import { PIPELINE_STAGE_NAMES } from '../../lambdas/stages';

/**
 * Unit prices in USD, us-east-1 public list prices as known to the author (late 2025), without free tiers or savings
 * plans. Edit here or pass `--prices FILE` (a JSON object with any of these keys) when AWS changes them.
 */
export const US_EAST_1_PRICES = {
  asOf: '2025 list prices, us-east-1 (author knowledge; check aws.amazon.com/pricing)',
  lambdaGbSecondArm: 0.0000133334,
  lambdaGbSecondX86: 0.0000166667,
  lambdaPerMillionRequests: 0.2,
  sfnStandardPerThousandTransitions: 0.025,
  sfnExpressPerMillionRequests: 1.0,
  /** Express duration, first 1,000 GB-hours a month; memory is billed in 64 MB steps. */
  sfnExpressGbSecond: 0.00001667,
  /** Serverless Inference compute per second per GB of the endpoint's memory (1 GB: $0.00002/s). */
  sagemakerServerlessGbSecond: 0.00002,
  /** Serverless Inference data processed, in plus out. */
  sagemakerServerlessPerGbProcessed: 0.016,
  s3PerThousandPuts: 0.005,
  s3PerThousandGets: 0.0004,
  s3GbMonth: 0.023,
  dynamoPerMillionWriteUnits: 0.625,
  dynamoPerMillionReadUnits: 0.125,
  sqsStandardPerMillionRequests: 0.4,
  sqsFifoPerMillionRequests: 0.5,
};
export type PriceTable = typeof US_EAST_1_PRICES;

/** Milliseconds of handler time per image for each stage, and of model compute per call for each endpoint task. */
export interface StageDurations {
  source: string;
  /** Per image: a stage's total handler time over a batch divided by its images. */
  stageMsPerImage: Record<string, number>;
  /** Per model call (one call per image and endpoint), keyed by HF task. */
  modelMsPerCall: Record<string, number>;
  /** The average image size (MB) the durations were measured on; Preprocess scales linearly from it. */
  measuredAvgMb: number;
}

/**
 * Defaults when no bench results exist: rounded from a bench run on this project's 2-core dev machine (~1 MP JPEGs,
 * models answered by the local stand-ins). The deployed CLIP model is slower than the local detector, hence 300 ms.
 */
export const DEFAULT_DURATIONS: StageDurations = {
  source: 'documented defaults (cli/commands/cost-model.ts DEFAULT_DURATIONS)',
  stageMsPerImage: { PrepareBatch: 15, Preprocess: 220, Classify: 350, Triage: 2, Persist: 12, CrossCheck: 6, Report: 8 },
  modelMsPerCall: { 'zero-shot-image-classification': 300, 'image-classification': 100 },
  measuredAvgMb: 0.25,
};

/**
 * Requests per image and per batch, read from the handlers (lambdas/functions/*): per image PrepareBatch stages the
 * file (PUT) and writes its record, Preprocess reads it and writes the model input (GET, PUT), Classify reads that
 * (GET) and takes and releases a slot of the endpoint concurrency guard around each of its two model calls (4 writes),
 * Persist reads any standing record and the asset's identity item, writes the identity (first sighting or a
 * content change) and the record, and reads the record back (consistent reads), CrossCheck queries by image hash, Report
 * queries the records. Per batch: the archive, the items file, the expected-assets list, the Map's reader and result
 * writer, the reports. `reviewShare`: the share of images sent to the review queue (one SendMessage each).
 */
export const REQUEST_PROFILE = {
  s3PutsPerImage: 2,
  s3GetsPerImage: 2,
  s3PutsPerBatch: 6,
  s3GetsPerBatch: 3,
  dynamoWritesPerImage: 7,
  dynamoReadsPerImage: 4,
  dynamoWritesPerBatch: 4,
  reviewShare: 0.1,
  /** Model input sent to each endpoint (≤512 px JPEG) plus its JSON answer, in MB. */
  modelIoMbPerCall: 0.06,
};

export interface CostInput {
  images: number;
  /** Images per uploaded archive (one Standard execution each). */
  batchSize: number;
  avgMb: number;
  durations: StageDurations;
  prices: PriceTable;
}

export interface CostLine {
  service: string;
  item: string;
  quantity: number;
  unit: string;
  usd: number;
}

export interface CostEstimate {
  images: number;
  batchSize: number;
  avgMb: number;
  durationsSource: string;
  pricesAsOf: string;
  lines: CostLine[];
  totalUsd: number;
  costPer1kImagesUsd: number;
  standardTransitionsPerBatch: number;
  standardTransitionsPerImage: number;
  expressChildrenPerBatch: number;
  /** The Standard states one batch enters. */
  standardPath: string[];
  /** Images per hour the stack sustains on AWS, one archive at a time (cost-throughput.ts). */
  sustainedImagesPerHour: number;
  /** The template setting that bounds it. */
  boundBy: string;
  throughput: Throughput;
}

type AslState = {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: Array<{ Next: string }>;
  ItemProcessor?: AslMachine;
  ItemBatcher?: { MaxItemsPerBatch?: number };
  ProcessorConfig?: unknown;
};
type AslMachine = { StartAt: string; States: Record<string, AslState>; ProcessorConfig?: { Mode?: string; ExecutionType?: string } };

/** The Standard states a batch with assets enters, in order: the shortest way to the Distributed Map, then on. */
export function happyPath(machine: AslMachine): { states: string[]; map: AslState } {
  const isDistributedMap = (state: AslState | undefined): boolean => state?.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
  const edges = (state: AslState): string[] => [
    ...(state.Choices ?? []).map((choice) => choice.Next),
    ...[state.Next, state.Default].filter((next): next is string => next !== undefined),
  ];
  // Breadth-first from StartAt: the first path that reaches the map is the one a batch with assets takes.
  const previous = new Map<string, string | undefined>([[machine.StartAt, undefined]]);
  const queue = [machine.StartAt];
  let mapName: string | undefined;
  while (queue.length > 0 && mapName === undefined) {
    const name = queue.shift()!;
    if (isDistributedMap(machine.States[name])) mapName = name;
    else {
      for (const next of edges(machine.States[name]!)) {
        if (previous.has(next)) continue;
        previous.set(next, name);
        queue.push(next);
      }
    }
  }
  if (mapName === undefined) throw new Error('the state machine has no Distributed Map: no per-image work to price');
  const states: string[] = [];
  for (let name: string | undefined = mapName; name !== undefined; name = previous.get(name)) states.unshift(name);
  // After the map: Next, or a Choice's Default (the batch went well), until a terminal state.
  for (let state = machine.States[mapName]!, guard = 0; guard < 100; guard += 1) {
    const next = state.Type === 'Choice' ? state.Default : state.Next;
    if (next === undefined || state.End === true) break;
    states.push(next);
    state = machine.States[next]!;
  }
  return { states, map: machine.States[mapName]! };
}

interface EndpointCostShape {
  task: string;
  memoryMb: number;
}

function serverlessEndpoints(template: CfnTemplate): EndpointCostShape[] {
  const resources = template.Resources;
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::SageMaker::EndpointConfig')
    .flatMap(
      (config) =>
        (config.Properties?.['ProductionVariants'] as Array<{ ModelName?: { 'Fn::GetAtt'?: string[] }; ServerlessConfig?: { MemorySizeInMB: number } }>) ?? [],
    )
    .map((variant) => {
      const model = resources[variant.ModelName?.['Fn::GetAtt']?.[0] ?? ''];
      const env = (model?.Properties?.['PrimaryContainer'] as { Environment?: Record<string, string> } | undefined)?.Environment ?? {};
      if (variant.ServerlessConfig === undefined) throw new Error('an endpoint variant is not serverless: instance endpoints are not priced yet');
      return { task: env['HF_TASK'] ?? 'unknown', memoryMb: variant.ServerlessConfig.MemorySizeInMB };
    });
}

function tableReplicas(template: CfnTemplate): number {
  const table = Object.values(template.Resources).find((resource) => resource.Type.startsWith('AWS::DynamoDB::'));
  const replicas = table?.Properties?.['Replicas'] as unknown[] | undefined;
  return Math.max(1, replicas?.length ?? 1);
}

function lambdaArchitectures(template: CfnTemplate): Map<string, string> {
  const byStage = new Map<string, string>();
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const stage = (resource.Properties?.['Environment'] as { Variables?: Record<string, string> } | undefined)?.Variables?.['STAGE_NAME'];
    if (stage !== undefined) byStage.set(stage, ((resource.Properties?.['Architectures'] as string[] | undefined) ?? ['x86_64'])[0]!);
  }
  return byStage;
}

export function estimateCost(template: CfnTemplate, input: CostInput): CostEstimate {
  const { images, batchSize, avgMb, durations, prices } = input;
  const stack = readLocalStack(template, (name) => name);
  const machine = stack.stateMachine.definition as unknown as AslMachine;
  const { states, map } = happyPath(machine);
  const child = map.ItemProcessor!;
  const childStages = new Set(
    Object.values(child.States)
      .map((state) => (state as { Resource?: string }).Resource)
      .filter((arn) => arn !== undefined),
  );
  const itemsPerChild = map.ItemBatcher?.MaxItemsPerBatch ?? 1;
  const batches = Math.ceil(images / batchSize);
  const childrenPerBatch = Math.ceil(batchSize / itemsPerChild);
  const children = Math.ceil(images / itemsPerChild);
  const lines: CostLine[] = [];
  const add = (service: string, item: string, quantity: number, unit: string, usd: number): void => void lines.push({ service, item, quantity, unit, usd });
  const architectures = lambdaArchitectures(template);

  let childMsPerImage = 0;
  // Per batch and per child only: the scheduled Nightly stage runs once a day, whatever the number of images.
  for (const fn of stack.functions.filter((candidate) => (PIPELINE_STAGE_NAMES as readonly string[]).includes(candidate.stageName))) {
    const perChild = childStages.has(fn.arn);
    const sizeFactor = fn.stageName === 'Preprocess' ? avgMb / durations.measuredAvgMb : 1;
    const msPerImage = (durations.stageMsPerImage[fn.stageName] ?? 0) * sizeFactor;
    if (perChild) childMsPerImage += msPerImage;
    const gbSeconds = (fn.memorySizeMb / 1024) * (msPerImage / 1000) * images;
    const gbSecondPrice = architectures.get(fn.stageName) === 'arm64' ? prices.lambdaGbSecondArm : prices.lambdaGbSecondX86;
    const invocations = perChild ? children : batches;
    add(
      'Lambda',
      `${fn.stageName} (${fn.memorySizeMb} MB, ${invocations} invocations)`,
      gbSeconds,
      'GB-s',
      gbSeconds * gbSecondPrice + (invocations / 1e6) * prices.lambdaPerMillionRequests,
    );
  }

  const transitionsPerBatch = states.length;
  add(
    'Step Functions',
    `Standard transitions (${states.length} states per batch)`,
    transitionsPerBatch * batches,
    'transitions',
    ((transitionsPerBatch * batches) / 1000) * prices.sfnStandardPerThousandTransitions,
  );
  // Express children: one request each; duration is the child's stages back to back, memory the 64 MB minimum step.
  const expressGbSeconds = (64 / 1024) * ((childMsPerImage * itemsPerChild) / 1000) * children;
  add(
    'Step Functions',
    `Express children (${itemsPerChild} items each)`,
    children,
    'requests',
    (children / 1e6) * prices.sfnExpressPerMillionRequests + expressGbSeconds * prices.sfnExpressGbSecond,
  );

  for (const endpoint of serverlessEndpoints(template)) {
    const seconds = ((durations.modelMsPerCall[endpoint.task] ?? 0) / 1000) * images;
    const processedGb = (REQUEST_PROFILE.modelIoMbPerCall * images) / 1024;
    add(
      'SageMaker Serverless',
      `${endpoint.task} (${endpoint.memoryMb} MB)`,
      seconds,
      'inference-s',
      seconds * (endpoint.memoryMb / 1024) * prices.sagemakerServerlessGbSecond + processedGb * prices.sagemakerServerlessPerGbProcessed,
    );
  }

  const puts = REQUEST_PROFILE.s3PutsPerImage * images + REQUEST_PROFILE.s3PutsPerBatch * batches;
  const gets = REQUEST_PROFILE.s3GetsPerImage * images + REQUEST_PROFILE.s3GetsPerBatch * batches;
  add('S3', 'PUT requests', puts, 'requests', (puts / 1000) * prices.s3PerThousandPuts);
  add('S3', 'GET requests', gets, 'requests', (gets / 1000) * prices.s3PerThousandGets);
  const storedGb = (images * avgMb * 2) / 1024;
  add('S3', 'storage, one month (archive + staged files)', storedGb, 'GB-month', storedGb * prices.s3GbMonth);

  // A global table writes every item in each replica (replicated write units cost as write units).
  const replicas = tableReplicas(template);
  const writes = (REQUEST_PROFILE.dynamoWritesPerImage * images + REQUEST_PROFILE.dynamoWritesPerBatch * batches) * replicas;
  const reads = REQUEST_PROFILE.dynamoReadsPerImage * images;
  add('DynamoDB', `on-demand writes (${replicas} replica${replicas === 1 ? '' : 's'})`, writes, 'WRU', (writes / 1e6) * prices.dynamoPerMillionWriteUnits);
  add('DynamoDB', 'on-demand reads', reads, 'RRU', (reads / 1e6) * prices.dynamoPerMillionReadUnits);

  const reviewQueue = stack.queues.find((queue) => queue.deadLetterTargetArn !== undefined && /review/i.test(queue.logicalId));
  const sends = REQUEST_PROFILE.reviewShare * images;
  const sqsPrice = reviewQueue?.fifoAttributes === undefined ? prices.sqsStandardPerMillionRequests : prices.sqsFifoPerMillionRequests;
  add('SQS', `review queue sends (${REQUEST_PROFILE.reviewShare * 100}% of images)`, sends, 'requests', (sends / 1e6) * sqsPrice);

  const totalUsd = lines.reduce((sum, line) => sum + line.usd, 0);
  const mapName = states.find((name) => machine.States[name] === map)!;
  const throughput = estimateThroughput(template, machine, mapName, stack.functions, durations, avgMb / durations.measuredAvgMb);
  return {
    images,
    batchSize,
    avgMb,
    durationsSource: durations.source,
    pricesAsOf: prices.asOf,
    lines,
    totalUsd,
    costPer1kImagesUsd: (totalUsd / images) * 1000,
    standardTransitionsPerBatch: transitionsPerBatch,
    standardTransitionsPerImage: (transitionsPerBatch * batches) / images,
    expressChildrenPerBatch: childrenPerBatch,
    standardPath: states,
    sustainedImagesPerHour: throughput.sustainedImagesPerHour,
    boundBy: throughput.boundBy,
    throughput,
  };
}
