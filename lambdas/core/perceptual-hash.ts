/** Perceptual hashes (64-bit dHash as 16 hex chars): distance and a block index for near-duplicate search. */

/** Number of differing bits between two hex hashes of equal length. */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length || !/^[0-9a-f]*$/i.test(a) || !/^[0-9a-f]*$/i.test(b)) {
    throw new Error(`hammingDistance needs two hex strings of equal length, got "${a}" and "${b}"`);
  }
  let distance = 0;
  for (let i = 0; i < a.length; i++) {
    let diff = parseInt(a.charAt(i), 16) ^ parseInt(b.charAt(i), 16);
    while (diff !== 0) {
      distance += diff & 1;
      diff >>= 1;
    }
  }
  return distance;
}

/**
 * Pairs of hashes within `maxDistance` bits, without comparing every pair: split each hash into maxDistance + 1
 * blocks; two hashes that differ in at most maxDistance bits agree exactly on at least one block (pigeonhole), so
 * only hashes sharing a block value are compared.
 */
export function nearPairs(hashes: readonly string[], maxDistance: number): Array<[number, number, number]> {
  const blocks = maxDistance + 1;
  const pairs = new Map<string, [number, number, number]>();
  const buckets = new Map<string, number[]>();
  hashes.forEach((hash, index) => {
    const bits = hexToBits(hash);
    const size = Math.ceil(bits.length / blocks);
    for (let block = 0; block < blocks; block += 1) {
      const key = `${block}:${bits.slice(block * size, (block + 1) * size)}`;
      const bucket = buckets.get(key) ?? [];
      for (const other of bucket) {
        const id = `${other}:${index}`;
        if (pairs.has(id)) continue;
        const distance = hammingDistance(hashes[other]!, hash);
        if (distance <= maxDistance) pairs.set(id, [other, index, distance]);
      }
      bucket.push(index);
      buckets.set(key, bucket);
    }
  });
  return [...pairs.values()];
}

function hexToBits(hex: string): string {
  return [...hex].map((digit) => parseInt(digit, 16).toString(2).padStart(4, '0')).join('');
}
