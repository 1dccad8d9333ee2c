/** The ItemBatcher's grouping: item count and byte caps, the batch counted as a whole. */
import { describe, expect, it } from 'vitest';
import { batchItems } from '../../local/item-batcher';

const item = (id: number, text = 'x'.repeat(100)) => ({ id, text });
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('batchItems', () => {
  it('keeps each batch JSON, BatchInput included, within MaxInputBytesPerBatch and the items in order', () => {
    const items = Array.from({ length: 25 }, (_, i) => item(i, 'é'.repeat(i * 7)));
    const batchInput = { batchId: 'b-1' };
    for (const cap of [400, 1_000, 2_500]) {
      const batches = batchItems(items, { maxBytes: cap, batchInput });
      expect(batches.flatMap((batch) => batch.Items)).toEqual(items);
      for (const batch of batches) {
        expect(batch.BatchInput).toEqual(batchInput);
        if (batch.Items.length > 1) expect(bytes(batch)).toBeLessThanOrEqual(cap);
      }
      // Greedy: the next item would not have fitted into the batch before it.
      for (let i = 0; i + 1 < batches.length; i += 1) {
        const grown = { ...batches[i]!, Items: [...batches[i]!.Items, batches[i + 1]!.Items[0]] };
        expect(bytes(grown)).toBeGreaterThan(cap);
      }
    }
  });

  it('respects MaxItemsPerBatch together with the byte cap, and gives an item too large for the cap a batch of its own', () => {
    const items = [item(1), item(2), item(3, 'y'.repeat(5_000)), item(4), item(5), item(6)];
    const batches = batchItems(items, { maxItems: 2, maxBytes: 1_000 });
    expect(batches.map((batch) => batch.Items.map((i) => (i as { id: number }).id))).toEqual([[1, 2], [3], [4, 5], [6]]);
    expect(batches.every((batch) => batch.BatchInput === undefined)).toBe(true);
    expect(batchItems([], { maxItems: 10 })).toEqual([]);
  });
});
