import { describe, expect, it } from 'vitest';
import { neutralizeCell, neutralizeRow } from '../../lambdas/core/csv-safety';

describe('CSV injection guard', () => {
  it.each(['=1+1', '=HYPERLINK("http://x","click")', '+SUM(A1)', '-2+3', '@SUM(1+1)', '\t=1', '\r=1', '-', '+'])('neutralizes %j', (value) => {
    expect(neutralizeCell(value)).toBe(`'${value}`);
  });

  it.each(['12', '-12.5', '+3', '1e5', '-.5', 'plain text', 'a=b', ''])('leaves %j as it is', (value) => {
    expect(neutralizeCell(value)).toBe(value);
  });

  it('leaves numbers and non-strings untouched and keeps row keys', () => {
    expect(neutralizeCell(-3)).toBe(-3);
    expect(neutralizeRow({ a: '=x', b: 4, c: 'ok' })).toEqual({ a: "'=x", b: 4, c: 'ok' });
  });
});
