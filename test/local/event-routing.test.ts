import { describe, expect, it } from 'vitest';
import { matchesPattern, objectCreatedEvent, transformInput } from '../../local/event-routing';
import type { LocalRule } from '../../local/template';

/** The pattern the stack's BatchUploaded rule synthesizes to (Match.wildcard on the key). */
const STACK_PATTERN = {
  source: ['aws.s3'],
  'detail-type': ['Object Created'],
  detail: {
    bucket: { name: ['local-data-bucket'] },
    object: { key: [{ wildcard: 'incoming/*.zip' }] },
  },
};

/** RuleTargetInput.fromObject({ bucket: $.detail.bucket.name, key: $.detail.object.key, receivedAt: EventField.time }) */
const STACK_TRANSFORMER = {
  InputPathsMap: { 'detail-bucket-name': '$.detail.bucket.name', 'detail-object-key': '$.detail.object.key', time: '$.time' },
  InputTemplate: '{"bucket":<detail-bucket-name>,"key":<detail-object-key>,"receivedAt":<time>}',
};

function rule(inputTransformer?: LocalRule['inputTransformer']): LocalRule {
  return { logicalId: 'BatchUploaded', eventPattern: STACK_PATTERN, targetArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:sm', inputTransformer };
}

const WHEN = new Date('2026-11-20T10:11:12.345Z');

describe('objectCreatedEvent', () => {
  it('builds an S3 Object Created event with a second-precision time', () => {
    const event = objectCreatedEvent('local-data-bucket', 'incoming/a.zip', 42, WHEN);
    expect(event).toMatchObject({
      'detail-type': 'Object Created',
      source: 'aws.s3',
      time: '2026-11-20T10:11:12Z',
      resources: ['arn:aws:s3:::local-data-bucket'],
      detail: { bucket: { name: 'local-data-bucket' }, object: { key: 'incoming/a.zip', size: 42 } },
    });
  });
});

describe('matchesPattern', () => {
  const event = (key: string, bucket = 'local-data-bucket') => objectCreatedEvent(bucket, key, 1, WHEN);

  it('matches the stack pattern for archives under incoming/, at any depth', () => {
    expect(matchesPattern(STACK_PATTERN, event('incoming/a.zip'))).toBe(true);
    expect(matchesPattern(STACK_PATTERN, event('incoming/x/y.zip'))).toBe(true);
    expect(matchesPattern(STACK_PATTERN, event('incoming/.zip'))).toBe(true);
  });

  it('does not match other prefixes, other suffixes or other buckets', () => {
    expect(matchesPattern(STACK_PATTERN, event('other/a.zip'))).toBe(false);
    expect(matchesPattern(STACK_PATTERN, event('incoming/a.zip.txt'))).toBe(false);
    expect(matchesPattern(STACK_PATTERN, event('incoming/a.ZIP'))).toBe(false);
    expect(matchesPattern(STACK_PATTERN, event('xincoming/a.zip'))).toBe(false);
    expect(matchesPattern(STACK_PATTERN, event('incoming/a.zip', 'another-bucket'))).toBe(false);
  });

  it('treats regex characters in a wildcard literally', () => {
    const pattern = { key: [{ wildcard: 'in.coming/(a)+*.zip' }] };
    expect(matchesPattern(pattern, { key: 'in.coming/(a)+b.zip' })).toBe(true);
    expect(matchesPattern(pattern, { key: 'inXcoming/(a)+b.zip' })).toBe(false);
    expect(matchesPattern(pattern, { key: 'in.coming/aa.zip' })).toBe(false);
  });

  it('a wildcard matches across newlines and needs the whole value', () => {
    expect(matchesPattern({ key: [{ wildcard: 'a*b' }] }, { key: 'a\nb' })).toBe(true);
    expect(matchesPattern({ key: [{ wildcard: 'a*b' }] }, { key: 'xa-b' })).toBe(false);
  });

  it('matches exact values listed in an array (any of them)', () => {
    expect(matchesPattern({ source: ['aws.s3', 'custom'] }, { source: 'custom' })).toBe(true);
    expect(matchesPattern({ source: ['aws.s3'] }, { source: 'aws.s3x' })).toBe(false);
    expect(matchesPattern({ source: ['aws.s3'] }, {})).toBe(false);
    expect(matchesPattern({ size: [5] }, { size: 5 })).toBe(true);
    expect(matchesPattern({ size: [5] }, { size: '5' })).toBe(false);
  });

  it('matches prefix and suffix rules on strings only', () => {
    expect(matchesPattern({ key: [{ prefix: 'incoming/' }] }, { key: 'incoming/a.zip' })).toBe(true);
    expect(matchesPattern({ key: [{ prefix: 'incoming/' }] }, { key: 'incomin/a.zip' })).toBe(false);
    expect(matchesPattern({ key: [{ suffix: '.zip' }] }, { key: 'a.zip' })).toBe(true);
    expect(matchesPattern({ key: [{ suffix: '.zip' }] }, { key: 'a.zip.bak' })).toBe(false);
    expect(matchesPattern({ key: [{ prefix: '1' }] }, { key: 12 })).toBe(false);
    expect(matchesPattern({ key: [{ prefix: 'incoming/' }, 'exact'] }, { key: 'exact' })).toBe(true);
  });

  it('walks nested detail fields and fails when a level is missing or not an object', () => {
    const pattern = { detail: { object: { key: ['k'] } } };
    expect(matchesPattern(pattern, { detail: { object: { key: 'k', size: 1 } } })).toBe(true);
    expect(matchesPattern(pattern, { detail: { object: { key: 'j' } } })).toBe(false);
    expect(matchesPattern(pattern, { detail: {} })).toBe(false);
    expect(matchesPattern(pattern, { detail: 'k' })).toBe(false);
    expect(matchesPattern(pattern, { detail: null })).toBe(false);
    expect(matchesPattern(pattern, {})).toBe(false);
  });

  it('requires every field of the pattern; ignores extra event fields; an empty pattern matches all', () => {
    expect(matchesPattern({ a: ['1'], b: ['2'] }, { a: '1', b: '2', c: '3' })).toBe(true);
    expect(matchesPattern({ a: ['1'], b: ['2'] }, { a: '1' })).toBe(false);
    expect(matchesPattern({}, { anything: true })).toBe(true);
  });

  it('refuses pattern operators it does not implement (when the event value is a string) rather than guessing', () => {
    expect(() => matchesPattern({ key: [{ 'anything-but': 'x' }] }, { key: 'y' })).toThrow(/does not support the pattern/);
    expect(() => matchesPattern({ key: [{ 'equals-ignore-case': 'X' }] }, { key: 'x' })).toThrow(/does not support the pattern/);
  });
});

describe('transformInput', () => {
  const event = objectCreatedEvent('local-data-bucket', 'incoming/spring sale "v2".zip', 7, WHEN);

  it('passes the event through when the rule has no InputTransformer', () => {
    expect(transformInput(rule(), event)).toBe(event);
  });

  it('renders the CDK-style template with JSON values for unquoted placeholders', () => {
    expect(transformInput(rule(STACK_TRANSFORMER), event)).toEqual({
      bucket: 'local-data-bucket',
      key: 'incoming/spring sale "v2".zip',
      receivedAt: '2026-11-20T10:11:12Z',
    });
  });

  it('inserts numbers and objects as JSON when unquoted', () => {
    const result = transformInput(
      rule({ InputPathsMap: { size: '$.detail.object.size', object: '$.detail.object' }, InputTemplate: '{"size":<size>,"object":<object>}' }),
      event,
    );
    expect(result).toEqual({ size: 7, object: { key: 'incoming/spring sale "v2".zip', size: 7 } });
  });

  it('inserts a quoted placeholder as a string, escaped, and stringifies non-strings', () => {
    const result = transformInput(
      rule({ InputPathsMap: { key: '$.detail.object.key', size: '$.detail.object.size' }, InputTemplate: '{"key":"<key>","size":"<size>"}' }),
      event,
    );
    expect(result).toEqual({ key: 'incoming/spring sale "v2".zip', size: '7' });
  });

  it('selects array elements by index', () => {
    const result = transformInput(rule({ InputPathsMap: { arn: '$.resources[0]' }, InputTemplate: '{"arn":<arn>}' }), event);
    expect(result).toEqual({ arn: 'arn:aws:s3:::local-data-bucket' });
  });

  it('renders a bare template that is a single placeholder', () => {
    expect(transformInput(rule({ InputPathsMap: { key: '$.detail.object.key' }, InputTemplate: '<key>' }), event)).toBe('incoming/spring sale "v2".zip');
  });

  it('works without an InputPathsMap for a constant template', () => {
    expect(transformInput(rule({ InputTemplate: '{"constant":true}' }), event)).toEqual({ constant: true });
  });

  it('leaves a placeholder not in InputPathsMap untouched (so a non-JSON template fails loudly)', () => {
    expect(() => transformInput(rule({ InputPathsMap: {}, InputTemplate: '{"x":<unknown>}' }), event)).toThrow(SyntaxError);
    expect(transformInput(rule({ InputPathsMap: {}, InputTemplate: '{"x":"<unknown>"}' }), event)).toEqual({ x: '<unknown>' });
  });
});

describe('event routing: EventBridge details the stack does not use yet', () => {
  it('renders a placeholder inside a longer string as text, and a missing path as empty text or null', () => {
    const event = { detail: { object: { key: 'incoming/a "b".zip' } } } as Record<string, unknown>;
    const transformer = {
      InputPathsMap: { key: '$.detail.object.key', missing: '$.detail.nope' },
      InputTemplate: '{"label":"batch <key> received","gone":"x<missing>y","raw":<missing>}',
    };
    expect(transformInput(rule(transformer), event)).toEqual({ label: 'batch incoming/a "b".zip received', gone: 'xy', raw: null });
  });

  it('matches an array field when any element matches, and refuses operators it does not implement', () => {
    const event = { resources: ['arn:aws:s3:::one', 'arn:aws:s3:::two'], size: 5 } as Record<string, unknown>;
    expect(matchesPattern({ resources: ['arn:aws:s3:::two'] }, event)).toBe(true);
    expect(matchesPattern({ resources: [{ prefix: 'arn:aws:s3:::t' }] }, event)).toBe(true);
    expect(matchesPattern({ resources: ['arn:aws:s3:::three'] }, event)).toBe(false);
    expect(() => matchesPattern({ size: [{ numeric: ['>', 0] }] }, event)).toThrow(/does not support/);
  });
});
