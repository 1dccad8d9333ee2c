import { describe, expect, it } from 'vitest';
import { describeDuplicates, findDuplicates, type HashedAsset } from '../../lambdas/core/duplicates';
import { hammingDistance, nearPairs } from '../../lambdas/core/perceptual-hash';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';

const taxonomy = loadTaxonomy();

function asset(assetKey: string, perceptualHash: string, merchantId: string, declaredCategoryId: string, batchId = 'b-now'): HashedAsset {
  return { batchId, assetKey, merchantId, declaredCategoryId, perceptualHash };
}

/** Flips `bits` distinct bits of a 64-bit hex hash. */
function flip(hash: string, bits: number[]): string {
  let value = BigInt(`0x${hash}`);
  for (const bit of bits) value ^= 1n << BigInt(bit);
  return value.toString(16).padStart(16, '0');
}

describe('nearPairs', () => {
  it('finds every pair within the distance and no other, as the all-pairs comparison does', () => {
    let seed = 7;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const base = Array.from({ length: 40 }, () => Array.from({ length: 16 }, () => Math.floor(random() * 16).toString(16)).join(''));
    const hashes = [...base, ...base.slice(0, 20).map((hash, i) => flip(hash, [i % 64, (i * 7 + 3) % 64, (i * 13 + 5) % 64].slice(0, 1 + (i % 3))))];
    const expected = new Set<string>();
    for (let i = 0; i < hashes.length; i += 1) {
      for (let j = i + 1; j < hashes.length; j += 1) if (hammingDistance(hashes[i]!, hashes[j]!) <= 4) expected.add(`${i}:${j}`);
    }
    const found = new Set(nearPairs(hashes, 4).map(([i, j]) => `${Math.min(i, j)}:${Math.max(i, j)}`));
    expect(found).toEqual(expected);
    expect(expected.size).toBeGreaterThanOrEqual(20);
  });
});

describe('findDuplicates', () => {
  const hash = '0f0f0f0f33cc33cc';

  it('flags the same image under another merchant and under an unrelated category, both ways within the batch', () => {
    const findings = findDuplicates(
      [asset('r1', hash, 'm1', 'vehicles.boats'), asset('r2', hash, 'm2', 'animals.pets'), asset('r3', flip(hash, [1, 9]), 'm1', 'vehicles')],
      [],
      taxonomy,
      4,
    );
    const byKey = Object.fromEntries(findings.map((f) => [f.assetKey, f.reasons]));
    expect(byKey).toEqual({
      r1: ['DUPLICATE_IMAGE_OTHER_MERCHANT', 'DUPLICATE_IMAGE_OTHER_CATEGORY'],
      r2: ['DUPLICATE_IMAGE_OTHER_MERCHANT', 'DUPLICATE_IMAGE_OTHER_CATEGORY'],
      r3: ['DUPLICATE_IMAGE_OTHER_MERCHANT', 'DUPLICATE_IMAGE_OTHER_CATEGORY'],
    });
    const r3 = findings.find((f) => f.assetKey === 'r3')!;
    expect(r3.matches.map((m) => m.distance)).toEqual([2]);
  });

  it('ignores a merchant re-listing its own image in a related category, and images farther apart than the limit', () => {
    expect(findDuplicates([asset('r1', hash, 'm1', 'vehicles.boats'), asset('r2', hash, 'm1', 'vehicles')], [], taxonomy, 4)).toEqual([]);
    expect(findDuplicates([asset('r1', hash, 'm1', 'vehicles'), asset('r2', flip(hash, [0, 1, 2, 3, 4]), 'm2', 'food')], [], taxonomy, 4)).toEqual([]);
  });

  it('matches earlier batches by exact hash and names them in the explanation', () => {
    const [finding] = findDuplicates([asset('r1', hash, 'm1', 'vehicles.boats')], [asset('row-9', hash, 'm7', 'vehicles.boats', 'b-old')], taxonomy, 4);
    expect(finding!.reasons).toEqual(['DUPLICATE_IMAGE_OTHER_MERCHANT']);
    expect(describeDuplicates(finding!)).toBe('The same image is listed by merchant m7 as vehicles.boats in batch b-old.');
  });
});
