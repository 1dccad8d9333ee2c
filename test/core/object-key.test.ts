import { describe, expect, it } from 'vitest';
import { formDecode, objectKeyCandidates } from '../../lambdas/core/object-key';

describe('objectKeyCandidates', () => {
  it('tries an S3-notification-encoded key as given, then decoded', () => {
    expect(objectKeyCandidates('incoming/red+flower.zip')).toEqual(['incoming/red+flower.zip', 'incoming/red flower.zip']);
    expect(objectKeyCandidates('incoming/Spring+sale%2Bcaf%C3%A9.zip')).toEqual(['incoming/Spring+sale%2Bcaf%C3%A9.zip', 'incoming/Spring sale+café.zip']);
  });

  it('keeps a raw key first, so a real "+" or "%" in a name is found as it is', () => {
    expect(objectKeyCandidates('incoming/a+b.zip')[0]).toBe('incoming/a+b.zip');
    expect(objectKeyCandidates('incoming/100%25 cotton.zip')[0]).toBe('incoming/100%25 cotton.zip');
  });

  it('offers one candidate when decoding changes nothing or the escape is malformed', () => {
    expect(objectKeyCandidates('incoming/Spring sale café.zip')).toEqual(['incoming/Spring sale café.zip']);
    expect(objectKeyCandidates('incoming/50%off.zip')).toEqual(['incoming/50%off.zip']);
    expect(formDecode('50%off')).toBeUndefined();
  });
});
