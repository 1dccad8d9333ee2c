/**
 * The slice of EventBridge the local mode needs to start executions the way the deployed rule does: the S3
 * "Object Created" event, event-pattern matching (exact values, prefix, wildcard, nested fields) and the target's
 * InputTransformer — all read from the synthesized rule.
 */
import { selectPath } from './state-machine-runner';
import type { LocalRule } from './template';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './stand-ins';

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

function matchesValue(pattern: unknown, value: unknown): boolean {
  if (pattern !== null && typeof pattern === 'object') {
    const rule = pattern as Record<string, unknown>;
    if (typeof value !== 'string') return false;
    if ('prefix' in rule) return value.startsWith(String(rule['prefix']));
    if ('suffix' in rule) return value.endsWith(String(rule['suffix']));
    if ('wildcard' in rule) {
      const regex = new RegExp(`^${String(rule['wildcard']).split('*').map(escapeRegex).join('.*')}$`, 's');
      return regex.test(value);
    }
    throw new Error(`local event routing does not support the pattern ${JSON.stringify(pattern)}`);
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

/** Applies a rule target's InputTransformer (or passes the event through when there is none). */
export function transformInput(rule: LocalRule, event: Record<string, unknown>): unknown {
  const transformer = rule.inputTransformer;
  if (transformer === undefined) return event;
  const values = Object.fromEntries(
    Object.entries(transformer.InputPathsMap ?? {}).map(([name, jsonPath]) => [name, selectPath(event, jsonPath)]),
  );
  const rendered = transformer.InputTemplate.replace(/("?)<([A-Za-z0-9_.-]+)>("?)/g, (match, open: string, name: string, close: string) => {
    if (!(name in values)) return match;
    const value = values[name];
    // Inside quotes a string is inserted raw (escaped); elsewhere the JSON value is inserted.
    if (open === '"' && close === '"') return JSON.stringify(typeof value === 'string' ? value : JSON.stringify(value));
    return `${open}${JSON.stringify(value)}${close}`;
  });
  return JSON.parse(rendered) as unknown;
}
