/**
 * Review labels: what a reviewer says about an asset. `approve` (the listing stands), `reject` (remove it), or
 * `recategorize:<categoryId>` (the image is fine, the declared category is wrong). Labels compare as strings, so
 * agreement statistics treat each recategorization target as its own class.
 */
import type { Taxonomy } from '../taxonomy';

export type ReviewLabel = 'approve' | 'reject' | `recategorize:${string}`;

export class InvalidLabelError extends Error {
  override name = 'InvalidLabelError';
}

/** Parses a label as a reviewer types it; `recategorize:` must name a taxonomy category (id, name or synonym). */
export function parseLabel(raw: string, taxonomy: Taxonomy): ReviewLabel {
  const value = raw.trim();
  if (value === 'approve' || value === 'reject') return value;
  if (value.startsWith('recategorize:')) {
    const target = value.slice('recategorize:'.length);
    const category = taxonomy.resolveDeclaredCategory(target);
    if (category === undefined) throw new InvalidLabelError(`recategorize: "${target}" is not a category of taxonomy ${taxonomy.version}`);
    return `recategorize:${category.id}`;
  }
  throw new InvalidLabelError(`label "${value}" is not approve, reject or recategorize:<category>`);
}
