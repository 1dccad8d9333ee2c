/**
 * Duplicate images across listings: the same perceptual hash (exact) in earlier batches, and near-identical images
 * (small Hamming distance) within the batch. A duplicate only matters when it crosses merchants or categories — a
 * merchant re-listing its own photo under the same category is ordinary.
 */
import type { ReasonCode } from './outcomes';
import { nearPairs } from './perceptual-hash';
import type { Taxonomy } from './taxonomy';

export interface HashedAsset {
  batchId: string;
  assetKey: string;
  merchantId?: string;
  declaredCategoryId?: string;
  perceptualHash: string;
}

export interface DuplicateMatch {
  batchId: string;
  assetKey: string;
  merchantId?: string;
  declaredCategoryId?: string;
  /** Bits that differ (0: the same hash). */
  distance: number;
}

export interface DuplicateFinding {
  assetKey: string;
  reasons: ReasonCode[];
  /** The matches behind the reasons, closest first (at most 5). */
  matches: DuplicateMatch[];
}

/**
 * @param batch the batch's assets that have an image
 * @param history assets of earlier batches with the same hash as some batch asset (exact matches from the index)
 */
export function findDuplicates(batch: HashedAsset[], history: HashedAsset[], taxonomy: Taxonomy, nearDistance: number): DuplicateFinding[] {
  const candidates = new Map<string, DuplicateMatch[]>();
  const add = (asset: HashedAsset, other: HashedAsset, distance: number): void => {
    const list = candidates.get(asset.assetKey) ?? [];
    list.push({ batchId: other.batchId, assetKey: other.assetKey, merchantId: other.merchantId, declaredCategoryId: other.declaredCategoryId, distance });
    candidates.set(asset.assetKey, list);
  };

  const historyByHash = new Map<string, HashedAsset[]>();
  for (const earlier of history) historyByHash.set(earlier.perceptualHash, [...(historyByHash.get(earlier.perceptualHash) ?? []), earlier]);
  for (const asset of batch) for (const earlier of historyByHash.get(asset.perceptualHash) ?? []) add(asset, earlier, 0);

  // Within the batch: group identical hashes, then pair groups whose hashes are near.
  const groups = new Map<string, HashedAsset[]>();
  for (const asset of batch) groups.set(asset.perceptualHash, [...(groups.get(asset.perceptualHash) ?? []), asset]);
  const hashes = [...groups.keys()];
  const linkGroups = (a: HashedAsset[], b: HashedAsset[], distance: number): void => {
    for (const x of a) for (const y of b) if (x !== y) add(x, y, distance);
  };
  for (const group of groups.values()) linkGroups(group, group, 0);
  for (const [i, j, distance] of nearPairs(hashes, nearDistance)) {
    linkGroups(groups.get(hashes[i]!)!, groups.get(hashes[j]!)!, distance);
    linkGroups(groups.get(hashes[j]!)!, groups.get(hashes[i]!)!, distance);
  }

  const findings: DuplicateFinding[] = [];
  for (const asset of batch) {
    const matches = candidates.get(asset.assetKey) ?? [];
    const otherMerchant = matches.filter((m) => m.merchantId !== undefined && asset.merchantId !== undefined && m.merchantId !== asset.merchantId);
    const otherCategory = matches.filter(
      (m) =>
        m.declaredCategoryId !== undefined && asset.declaredCategoryId !== undefined && !taxonomy.areRelated(m.declaredCategoryId, asset.declaredCategoryId),
    );
    const reasons: ReasonCode[] = [];
    if (otherMerchant.length > 0) reasons.push('DUPLICATE_IMAGE_OTHER_MERCHANT');
    if (otherCategory.length > 0) reasons.push('DUPLICATE_IMAGE_OTHER_CATEGORY');
    if (reasons.length === 0) continue;
    const relevant = [...new Set([...otherMerchant, ...otherCategory])].sort((a, b) => a.distance - b.distance || a.assetKey.localeCompare(b.assetKey));
    findings.push({ assetKey: asset.assetKey, reasons, matches: relevant.slice(0, 5) });
  }
  return findings;
}

/** One sentence for the record's explanation. */
export function describeDuplicates(finding: DuplicateFinding): string {
  const closest = finding.matches[0];
  if (closest === undefined) return '';
  const where = closest.batchId === '' ? '' : ` in batch ${closest.batchId}`;
  const who = closest.merchantId === undefined ? '' : ` by merchant ${closest.merchantId}`;
  const what = closest.declaredCategoryId === undefined ? '' : ` as ${closest.declaredCategoryId}`;
  const how = closest.distance === 0 ? 'The same image' : `A near-identical image (${closest.distance} bits apart)`;
  const more = finding.matches.length > 1 ? ` (+${finding.matches.length - 1} more)` : '';
  return `${how} is listed${who}${what}${where}${more}.`;
}
