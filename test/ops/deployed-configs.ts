/**
 * What CloudFormation would create from a synthesized template's SageMaker resources, as seeds for the control-plane
 * stand-in: each endpoint config's physical name (the template's `Fn::Join` over `AWS::StackId` evaluated for a given
 * stack id) and tags, and the endpoints' tags. So the rollback tests run against the names and tags the construct
 * really emits, not against names restated in the test.
 */
import { VERSION_TAG_KEYS } from '../../lib/constructs/hugging-face-endpoint';
import type { SeedEndpointConfig } from '../../local/sagemaker/control-plane-standin';

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** A stack id as CloudFormation forms it: `arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`. */
export function stackIdOf(stackName: string, uuid: string): string {
  return `arn:aws:cloudformation:us-east-1:000000000000:stack/${stackName}/${uuid}`;
}

/** Evaluates the intrinsics the construct uses in names and tags (Ref AWS::StackId, Fn::Join/Split/Select). */
function evaluate(value: unknown, stackId: string): unknown {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((v) => evaluate(v, stackId));
  const object = (value ?? {}) as Record<string, unknown>;
  if (object['Ref'] === 'AWS::StackId') return stackId;
  if (Array.isArray(object['Fn::Join'])) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => evaluate(part, stackId)).join(separator);
  }
  if (Array.isArray(object['Fn::Split'])) {
    const [separator, source] = object['Fn::Split'] as [string, unknown];
    return String(evaluate(source, stackId)).split(separator);
  }
  if (Array.isArray(object['Fn::Select'])) {
    const [index, list] = object['Fn::Select'] as [number, unknown];
    return (evaluate(list, stackId) as unknown[])[index];
  }
  throw new Error(`cannot evaluate ${JSON.stringify(value)} locally`);
}

function tagsOf(resource: CfnResource, stackId: string): Record<string, string> {
  const tags = (resource.Properties?.['Tags'] ?? []) as { Key: string; Value: unknown }[];
  return Object.fromEntries(tags.map((tag) => [tag.Key, String(evaluate(tag.Value, stackId))]));
}

export interface DeployedSageMaker {
  /** Endpoint configs, as seeds; `ageMs` makes all of them `ageMs` old. */
  readonly configs: SeedEndpointConfig[];
  /** Physical config name per construct id and version label, e.g. `byVersion.CategoryModel.v1`. */
  readonly byVersion: Record<string, Record<string, string>>;
  /** Tags of each endpoint, by the endpoint's construct id tag. */
  readonly endpointTags: Record<string, Record<string, string>>;
}

/** The endpoint configs and endpoint tags a create of `template` as stack `stackId` would make. */
export function deployedSageMaker(template: CfnTemplate, stackId: string, ageMs = 0): DeployedSageMaker {
  const configs: SeedEndpointConfig[] = [];
  const byVersion: Record<string, Record<string, string>> = {};
  const endpointTags: Record<string, Record<string, string>> = {};
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type === 'AWS::SageMaker::EndpointConfig') {
      const name = String(evaluate(resource.Properties?.['EndpointConfigName'], stackId));
      const tags = tagsOf(resource, stackId);
      const variants = (resource.Properties?.['ProductionVariants'] ?? []) as { VariantName: string; InstanceType?: string }[];
      configs.push({
        name,
        tags,
        ageMs,
        variants: variants.map((v) =>
          v.InstanceType !== undefined
            ? { variantName: v.VariantName, instanceType: v.InstanceType }
            : { variantName: v.VariantName, serverless: { memorySizeInMb: 6144, maxConcurrency: 5 } },
        ),
      });
      const construct = tags[VERSION_TAG_KEYS.construct] ?? '';
      byVersion[construct] = { ...byVersion[construct], [tags[VERSION_TAG_KEYS.version] ?? '']: name };
    } else if (resource.Type === 'AWS::SageMaker::Endpoint') {
      const tags = tagsOf(resource, stackId);
      endpointTags[tags[VERSION_TAG_KEYS.construct] ?? ''] = tags;
    }
  }
  return { configs, byVersion, endpointTags };
}
