/**
 * Size limits on manifest fields. A listing travels in its work item through every state of a map child (Step
 * Functions: 256 KiB per state, `States.DataLimitExceeded` is not catchable) and is stored on the asset record, so it
 * must be bounded whatever the manifest holds. With these limits one work item, as serialized into items.jsonl, is
 * at most ~14 KiB (test/core/batch-plan.test.ts builds the worst case), which the ItemBatcher's
 * `MaxInputBytesPerBatch` relies on.
 *
 * Sizes are counted in UTF-8 bytes of the value as JSON text — what the state payload counts: the same as its UTF-8
 * length for ordinary text, but a `"` or `\` counts two and a control character six.
 *
 * Identity fields cannot be cut without changing what they name, so a longer value rejects the row
 * (INVALID_MANIFEST_ROW); free text is cut on a character boundary and the cut is recorded on the listing
 * (`truncated: { description: 40960 }`, the original size in the same measure).
 */

export type OverLimit = 'reject' | 'truncate';

export const LISTING_FIELD_LIMITS = {
  asset_id: { maxBytes: 128, over: 'reject' },
  file: { maxBytes: 256, over: 'reject' },
  merchant_id: { maxBytes: 128, over: 'reject' },
  declared_category: { maxBytes: 128, over: 'reject' },
  sku: { maxBytes: 128, over: 'reject' },
  price: { maxBytes: 32, over: 'reject' },
  // Validated as a three-letter code afterwards; the limit only keeps a rejected row's record small.
  currency: { maxBytes: 16, over: 'reject' },
  title: { maxBytes: 512, over: 'truncate' },
  description: { maxBytes: 8192, over: 'truncate' },
} as const satisfies Record<string, { maxBytes: number; over: OverLimit }>;

export type LimitedField = keyof typeof LISTING_FIELD_LIMITS;

/** Extra (unknown) columns, kept as `attributes`. */
export const ATTRIBUTE_LIMITS = {
  /** A longer column name cannot be cut safely (two could collide): the attribute is dropped. */
  maxNameBytes: 64,
  /** A longer value is truncated (recorded as `attributes.<name>`). */
  maxValueBytes: 512,
  /** The attributes as one JSON object; attributes past it, in column order, are dropped (recorded as `attributes`). */
  maxTotalBytes: 2048,
} as const;

/** Size of a string as UTF-8 JSON text, without the quotes. */
export function jsonBytes(value: string): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8') - 2;
}

const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });

/**
 * Cuts `value` to at most `maxBytes` (as JSON text) at a grapheme boundary, so neither a UTF-8 sequence, a surrogate
 * pair nor a combined character (é as e + ◌́, emoji sequences) is split. Only as much of the text as is kept is
 * segmented, so a huge value costs little.
 */
export function truncateToBytes(value: string, maxBytes: number): string {
  if (jsonBytes(value) <= maxBytes) return value;
  let kept = 0;
  let end = 0;
  for (const { segment, index } of graphemes.segment(value)) {
    const size = jsonBytes(segment);
    if (kept + size > maxBytes) break;
    kept += size;
    end = index + segment.length;
  }
  return value.slice(0, end).trimEnd();
}
