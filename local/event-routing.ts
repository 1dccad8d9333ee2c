/**
 * The slice of EventBridge the local mode needs to start executions the way the deployed rule does: the S3
 * "Object Created" event, event-pattern matching (exact values, prefix, wildcard, nested fields) and the target's
 * InputTransformer — all read from the synthesized rule.
 */
import { selectPath } from './json-path';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './local-identity';
import type { LocalRule } from './template';

export function objectCreatedEvent(bucket: string, key: string, size: number, time = new Date()): Record<string, unknown> {
  return {
    version: '0',
    id: `local-${time.getTime()}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: LOCAL_ACCOUNT,
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [`arn:aws:s3:::${bucket}`],
    detail: { version: '0', bucket: { name: bucket }, object: { key, size }, reason: 'PutObject' },
  };
}

const SUPPORTED_OPERATORS = new Set(['prefix', 'suffix', 'wildcard']);

function matchesValue(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(value)) return value.some((element) => matchesValue(pattern, element));
  if (pattern !== null && typeof pattern === 'object') {
    const rule = pattern as Record<string, unknown>;
    const unsupported = Object.keys(rule).filter((operator) => !SUPPORTED_OPERATORS.has(operator));
    if (unsupported.length > 0) throw new Error(`local event routing does not support the pattern ${JSON.stringify(pattern)}`);
    if (typeof value !== 'string') return false;
    if ('prefix' in rule) return value.startsWith(String(rule['prefix']));
    if ('suffix' in rule) return value.endsWith(String(rule['suffix']));
    const regex = new RegExp(`^${String(rule['wildcard']).split('*').map(escapeRegex).join('.*')}$`, 's');
    return regex.test(value);
  }
  return pattern === value;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function matchesPattern(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    const actual = event[field];
    if (Array.isArray(expected)) return expected.some((candidate) => matchesValue(candidate, actual));
    if (expected !== null && typeof expected === 'object') {
      return actual !== null && typeof actual === 'object' && matchesPattern(expected as Record<string, unknown>, actual as Record<string, unknown>);
    }
    return expected === actual;
  });
}

/**
 * Applies a rule target's InputTransformer (or passes the event through when there is none). As in EventBridge, a
 * placeholder inside a JSON string is replaced by the value's text (escaped); elsewhere by the value as JSON. A path
 * the event does not have gives null (outside strings) or an empty string (inside).
 */
export function transformInput(rule: LocalRule, event: Record<string, unknown>): unknown {
  const transformer = rule.inputTransformer;
  if (transformer === undefined) return event;
  const values = new Map(Object.entries(transformer.InputPathsMap ?? {}).map(([name, jsonPath]) => [name, selectPath(event, jsonPath)] as const));
  const template = transformer.InputTemplate;
  let rendered = '';
  let inString = false;
  for (let i = 0; i < template.length; i += 1) {
    const char = template[i]!;
    if (char === '\\' && inString) {
      rendered += template.slice(i, i + 2);
      i += 1;
      continue;
    }
    if (char === '"') inString = !inString;
    const placeholder = char === '<' ? /^<([A-Za-z0-9_.-]+)>/.exec(template.slice(i)) : null;
    if (placeholder === null || !values.has(placeholder[1]!)) {
      rendered += char;
      continue;
    }
    const value = values.get(placeholder[1]!);
    if (inString) {
      const text = value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
      rendered += JSON.stringify(text).slice(1, -1);
    } else {
      rendered += JSON.stringify(value ?? null);
    }
    i += placeholder[0].length - 1;
  }
  return JSON.parse(rendered) as unknown;
}
