/**
 * What a Distributed Map's ItemBatcher does with the items it reads: groups them into child inputs
 * `{Items, BatchInput}` of at most MaxItemsPerBatch items and at most MaxInputBytesPerBatch bytes.
 *
 * The byte cap counts the child input as a whole (the `Items` array, the `BatchInput` and the JSON around them), as
 * AWS does. An item that does not fit even alone goes into a batch of its own: the batch cannot be split further,
 * and the child execution then meets the 256 KiB state limit if it is over that.
 */
import { payloadBytes } from './aws-limits';

export interface BatcherSettings {
  maxItems?: number;
  maxBytes?: number;
  batchInput?: Record<string, unknown>;
}

export interface ItemBatchInput {
  Items: unknown[];
  BatchInput?: Record<string, unknown>;
}

export function batchItems(items: unknown[], settings: BatcherSettings): ItemBatchInput[] {
  const maxItems = settings.maxItems ?? Number.POSITIVE_INFINITY;
  const maxBytes = settings.maxBytes ?? Number.POSITIVE_INFINITY;
  const emptyBatch = (): ItemBatchInput => ({ Items: [], ...(settings.batchInput === undefined ? {} : { BatchInput: settings.batchInput }) });
  // `{"Items":[],…}`: the JSON every batch carries whatever its items; each item adds its own bytes and a comma.
  const overheadBytes = payloadBytes(emptyBatch());
  const batches: ItemBatchInput[] = [];
  let current = emptyBatch();
  let currentBytes = overheadBytes;
  for (const item of items) {
    const itemBytes = payloadBytes(item);
    const full = current.Items.length >= maxItems || currentBytes + 1 + itemBytes > maxBytes;
    if (current.Items.length > 0 && full) {
      batches.push(current);
      current = emptyBatch();
      currentBytes = overheadBytes;
    }
    currentBytes += itemBytes + (current.Items.length === 0 ? 0 : 1);
    current.Items.push(item);
  }
  if (current.Items.length > 0) batches.push(current);
  return batches;
}
