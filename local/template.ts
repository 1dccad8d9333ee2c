/**
 * Reads the synthesized CloudFormation template for the local mode: resolves the intrinsic functions the stack uses
 * to local physical names, and extracts what the local runner needs (buckets, table, queues, functions with their
 * environment, the state machine definition, the EventBridge rule, the SageMaker endpoints). Nothing about the flow
 * is redefined here: it all comes from the template.
 */
import { DEFAULT_FUNCTION_MEMORY_MB, DEFAULT_FUNCTION_TIMEOUT_SECONDS } from './aws-limits';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './local-identity';

export type CfnTemplate = { Resources: Record<string, CfnResource> };
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface LocalTable {
  logicalId: string;
  name: string;
  keySchema: Array<{ AttributeName: string; KeyType: string }>;
  attributeDefinitions: Array<{ AttributeName: string; AttributeType: string }>;
  globalSecondaryIndexes: Array<{ IndexName: string; KeySchema: Array<{ AttributeName: string; KeyType: string }>; Projection: unknown }>;
}

export interface LocalQueue {
  logicalId: string;
  name: string;
  url: string;
  arn: string;
  deadLetterTargetArn?: string;
  maxReceiveCount?: number;
  visibilityTimeout?: number;
  /** FIFO queue attributes as SQS names them (FifoQueue, ContentBasedDeduplication, DeduplicationScope, …). */
  fifoAttributes?: Record<string, string>;
}

export interface LocalFunction {
  logicalId: string;
  /** Physical name (what AWS_LAMBDA_FUNCTION_NAME says). */
  name: string;
  arn: string;
  stageName: string;
  environment: Record<string, string>;
  /** The function's `Timeout` (Lambda's default, 3 s, when the template gives none). */
  timeoutSeconds: number;
  /** The function's `MemorySize` (Lambda's default, 128 MB, when the template gives none). */
  memorySizeMb: number;
}

export interface LocalEndpoint {
  logicalId: string;
  name: string;
  task: 'zero-shot-image-classification' | 'image-classification';
}

export interface LocalRule {
  logicalId: string;
  eventPattern: Record<string, unknown>;
  targetArn: string;
  inputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
}

export interface LocalStack {
  buckets: Array<{ logicalId: string; name: string }>;
  tables: LocalTable[];
  queues: LocalQueue[];
  functions: LocalFunction[];
  endpoints: LocalEndpoint[];
  rules: LocalRule[];
  /** `type` is the StateMachineType (STANDARD unless the template says EXPRESS). */
  stateMachine: { logicalId: string; arn: string; type: 'STANDARD' | 'EXPRESS'; definition: Record<string, unknown> };
}

/** Local physical names: deterministic from the logical id, valid for each service. */
function physicalName(type: string, logicalId: string): string {
  switch (type) {
    case 'AWS::S3::Bucket':
      return `local-${logicalId.toLowerCase()}`.slice(0, 63);
    default:
      return logicalId;
  }
}

function fifoAttributes(properties: Record<string, unknown>): Record<string, string> {
  const attributes: Record<string, string> = { FifoQueue: 'true' };
  for (const name of ['ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit']) {
    if (properties[name] !== undefined) attributes[name] = String(properties[name]);
  }
  return attributes;
}

export class TemplateResolver {
  constructor(
    private readonly template: CfnTemplate,
    private readonly queueUrl: (name: string) => string,
  ) {}

  private resource(logicalId: string): CfnResource {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) throw new Error(`template has no resource ${logicalId}`);
    return resource;
  }

  private name(logicalId: string): string {
    const resource = this.resource(logicalId);
    const explicit = resource.Properties?.['EndpointName'] ?? resource.Properties?.['TableName'] ?? resource.Properties?.['QueueName'];
    if (typeof explicit === 'string') return explicit;
    // CloudFormation's generated name of a FIFO queue ends in .fifo, as SQS requires.
    const fifo = resource.Type === 'AWS::SQS::Queue' && resource.Properties?.['FifoQueue'] === true;
    return `${physicalName(resource.Type, logicalId)}${fifo ? '.fifo' : ''}`;
  }

  arn(logicalId: string): string {
    const resource = this.resource(logicalId);
    const name = this.name(logicalId);
    switch (resource.Type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${name}`;
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable':
        return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${name}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;
      case 'AWS::SageMaker::Endpoint':
        return `arn:aws:sagemaker:${LOCAL_REGION}:${LOCAL_ACCOUNT}:endpoint/${name.toLowerCase()}`;
      default:
        return `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}`;
    }
  }

  /** CloudFormation `Ref` semantics for the resource types the stack uses. */
  ref(logicalId: string): string {
    switch (logicalId) {
      case 'AWS::Region':
        return LOCAL_REGION;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return 'MediaTriageLocal';
    }
    const resource = this.resource(logicalId);
    switch (resource.Type) {
      case 'AWS::SQS::Queue':
        return this.queueUrl(this.name(logicalId));
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::SageMaker::Endpoint':
        return this.arn(logicalId);
      default:
        return this.name(logicalId);
    }
  }

  getAtt(logicalId: string, attribute: string): string {
    switch (attribute) {
      case 'Arn':
      case 'EndpointArn':
        return this.arn(logicalId);
      case 'EndpointName':
      case 'QueueName':
      case 'Name':
        return this.name(logicalId);
      case 'QueueUrl':
        return this.queueUrl(this.name(logicalId));
      default:
        throw new Error(`local mode cannot resolve Fn::GetAtt ${logicalId}.${attribute}`);
    }
  }

  /** Resolves intrinsic functions recursively; throws on one it does not know, naming it. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0]!;
      switch (key) {
        case 'Ref':
          return this.ref(arg as string);
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? (arg as string[]) : (arg as string).split('.');
          return this.getAtt(id!, attribute!);
        }
        case 'Fn::Join': {
          const [separator, parts] = arg as [string, unknown[]];
          return (this.resolve(parts) as unknown[]).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number, unknown];
          return (this.resolve(list) as unknown[])[Number(index)];
        }
        case 'Fn::Split': {
          const [separator, source] = arg as [string, unknown];
          return String(this.resolve(source)).split(separator);
        }
        case 'Fn::Sub': {
          const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
          return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (name in vars) return String(this.resolve(vars[name]));
            const [id, attribute] = name.split('.');
            return attribute === undefined ? this.ref(id!) : this.getAtt(id!, attribute);
          });
        }
      }
      if (key.startsWith('Fn::')) throw new Error(`local mode cannot resolve ${key}`);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }
}

function ofType(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** Everything the local runner needs, read from the synthesized template. */
export function readLocalStack(template: CfnTemplate, queueUrl: (name: string) => string): LocalStack {
  const resolver = new TemplateResolver(template, queueUrl);
  const props = (resource: CfnResource): Record<string, unknown> => resolver.resolve(resource.Properties ?? {}) as Record<string, unknown>;

  const buckets = ofType(template, 'AWS::S3::Bucket').map(([logicalId]) => ({ logicalId, name: resolver.ref(logicalId) }));
  const tables = [...ofType(template, 'AWS::DynamoDB::GlobalTable'), ...ofType(template, 'AWS::DynamoDB::Table')].map(([logicalId, resource]) => {
    const p = props(resource);
    return {
      logicalId,
      name: resolver.ref(logicalId),
      keySchema: p['KeySchema'] as LocalTable['keySchema'],
      attributeDefinitions: p['AttributeDefinitions'] as LocalTable['attributeDefinitions'],
      globalSecondaryIndexes: ((p['GlobalSecondaryIndexes'] as LocalTable['globalSecondaryIndexes'] | undefined) ?? []).map((index) => ({
        IndexName: index.IndexName,
        KeySchema: index.KeySchema,
        Projection: index.Projection ?? { ProjectionType: 'ALL' },
      })),
    };
  });
  const queues = ofType(template, 'AWS::SQS::Queue').map(([logicalId, resource]) => {
    const p = props(resource);
    const redrive = p['RedrivePolicy'] as { deadLetterTargetArn?: string; maxReceiveCount?: number } | undefined;
    const name = resolver.getAtt(logicalId, 'QueueName');
    return {
      logicalId,
      name,
      url: queueUrl(name),
      arn: resolver.arn(logicalId),
      deadLetterTargetArn: redrive?.deadLetterTargetArn,
      maxReceiveCount: redrive?.maxReceiveCount,
      visibilityTimeout: p['VisibilityTimeout'] as number | undefined,
      fifoAttributes: p['FifoQueue'] === true ? fifoAttributes(p) : undefined,
    };
  });
  const functions = ofType(template, 'AWS::Lambda::Function')
    .map(([logicalId, resource]) => {
      const p = props(resource);
      const environment = ((p['Environment'] as { Variables?: Record<string, string> } | undefined)?.Variables ?? {}) as Record<string, string>;
      return {
        logicalId,
        name: resolver.ref(logicalId),
        arn: resolver.arn(logicalId),
        stageName: environment['STAGE_NAME'] ?? '',
        environment,
        timeoutSeconds: Number(p['Timeout'] ?? DEFAULT_FUNCTION_TIMEOUT_SECONDS),
        memorySizeMb: Number(p['MemorySize'] ?? DEFAULT_FUNCTION_MEMORY_MB),
      };
    })
    .filter((fn) => fn.stageName !== '');
  const endpoints = ofType(template, 'AWS::SageMaker::Endpoint').map(([logicalId, resource]) => {
    const configId = (resource.Properties?.['EndpointConfigName'] as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt']?.[0] ?? '';
    const config = template.Resources[configId];
    const variant = (config?.Properties?.['ProductionVariants'] as Array<{ ModelName?: { 'Fn::GetAtt'?: string[] } }> | undefined)?.[0];
    const modelId = variant?.ModelName?.['Fn::GetAtt']?.[0] ?? '';
    const model = template.Resources[modelId];
    const environment = (model?.Properties?.['PrimaryContainer'] as { Environment?: Record<string, string> } | undefined)?.Environment ?? {};
    const task = environment['HF_TASK'];
    if (task !== 'zero-shot-image-classification' && task !== 'image-classification') {
      throw new Error(`endpoint ${logicalId}: the local SageMaker stand-in does not serve HF_TASK "${String(task)}"`);
    }
    return { logicalId, name: resolver.getAtt(logicalId, 'EndpointName'), task } as LocalEndpoint;
  });
  const rules = ofType(template, 'AWS::Events::Rule').map(([logicalId, resource]) => {
    const p = props(resource);
    const target = (p['Targets'] as Array<{ Arn: string; InputTransformer?: LocalRule['inputTransformer'] }>)[0]!;
    return { logicalId, eventPattern: p['EventPattern'] as Record<string, unknown>, targetArn: target.Arn, inputTransformer: target.InputTransformer };
  });
  const machines = ofType(template, 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine in the template, found ${machines.length}`);
  const [smId, sm] = machines[0]!;
  const definitionString = resolver.resolve(sm.Properties?.['DefinitionString']);
  if (typeof definitionString !== 'string') throw new Error('state machine has no DefinitionString');
  return {
    buckets,
    tables,
    queues,
    functions,
    endpoints,
    rules,
    stateMachine: {
      logicalId: smId,
      arn: resolver.arn(smId),
      type: sm.Properties?.['StateMachineType'] === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
      definition: JSON.parse(definitionString) as Record<string, unknown>,
    },
  };
}
