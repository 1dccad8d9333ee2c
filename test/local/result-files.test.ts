/**
 * The local ResultWriter splits a large Map Run's results over several files (as the service does), so no single
 * PutObject exceeds what the local S3 stand-in takes in one request: every entry kept once, in order, each file
 * within the cap unless one entry alone is larger.
 */
import { describe, expect, it } from 'vitest';
import { resultFileBodies } from '../../local/state-machine-runner';

describe('resultFileBodies', () => {
  it('splits entries into JSON arrays within the cap, keeping every entry once and in order', () => {
    const entries = Array.from({ length: 500 }, (_, index) => ({ Name: `run-${index}`, Input: 'x'.repeat(index % 97) }));
    const bodies = resultFileBodies(entries, 2_000);
    expect(bodies.length).toBeGreaterThan(1);
    for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(2_000);
    expect(bodies.flatMap((body) => JSON.parse(body) as unknown[])).toEqual(entries);
  });

  it('gives an entry larger than the cap a file of its own, and no entries no file', () => {
    const big = { Input: 'y'.repeat(5_000) };
    const bodies = resultFileBodies([{ a: 1 }, big, { b: 2 }], 1_000);
    expect(bodies.map((body) => JSON.parse(body) as unknown[])).toEqual([[{ a: 1 }], [big], [{ b: 2 }]]);
    expect(resultFileBodies([])).toEqual([]);
  });
});
