import { describe, expect, it } from 'vitest';
import taxonomyFile from '../../config/taxonomy.json';
import { loadTaxonomy, parseTaxonomy, taxonomySchema } from '../../lambdas/core/taxonomy';
import type { TaxonomyDocument } from '../../lambdas/core/taxonomy';

type CategoryDoc = TaxonomyDocument['categories'][number];

function category(id: string, extra: Partial<CategoryDoc> = {}): CategoryDoc {
  return { id, name: id.toUpperCase(), synonyms: [], keywords: [], clipPrompts: [`a photo of ${id}`], detectorLabels: [], ...extra };
}

function documentWith(categories: CategoryDoc[]): TaxonomyDocument {
  return {
    version: 'test-1',
    categories,
    policyClasses: [{ id: 'explicit', name: 'Explicit', modelLabels: ['nsfw'], reviewThreshold: 0.5, borderlineThreshold: 0.3 }],
  };
}

function parseError(document: unknown, source?: string): string {
  try {
    parseTaxonomy(document, source);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected parseTaxonomy to throw');
}

describe('bundled taxonomy (config/taxonomy.json)', () => {
  it('validates against the schema', () => {
    const result = taxonomySchema.safeParse(taxonomyFile);
    expect(result.success, result.success ? '' : JSON.stringify(result.error.issues)).toBe(true);
  });

  it('loads once per process with the file version', () => {
    const taxonomy = loadTaxonomy();
    expect(taxonomy.version).toBe(taxonomyFile.version);
    expect(taxonomy.categories).toHaveLength(taxonomyFile.categories.length);
    expect(loadTaxonomy()).toBe(taxonomy);
  });

  it('has unique ids and every parent is a known category', () => {
    const taxonomy = loadTaxonomy();
    const ids = taxonomy.categories.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of taxonomy.categories) {
      if (c.parent !== undefined) expect(ids, c.id).toContain(c.parent);
    }
  });

  it('never lets one declared name (id, name or synonym) resolve to two categories', () => {
    const taxonomy = loadTaxonomy();
    for (const c of taxonomy.categories) {
      for (const name of [c.id, c.name, ...c.synonyms]) {
        expect(taxonomy.resolveDeclaredCategory(name)?.id, `${c.id}: "${name}"`).toBe(c.id);
      }
    }
  });
});

describe('parseTaxonomy', () => {
  it('accepts a minimal valid document', () => {
    const taxonomy = parseTaxonomy(documentWith([category('a'), category('a.b', { parent: 'a' })]));
    expect(taxonomy.version).toBe('test-1');
    expect(taxonomy.lineage('a.b')).toEqual(['a.b', 'a']);
  });

  it('rejects a duplicate category id, naming it', () => {
    const message = parseError(documentWith([category('a'), category('a', { clipPrompts: ['other prompt'] })]));
    expect(message).toMatch(/^invalid taxonomy: /);
    expect(message).toContain('duplicate category id "a"');
  });

  it('rejects an unknown parent, naming the category and the parent', () => {
    const message = parseError(documentWith([category('a'), category('b', { parent: 'ghost' })]));
    expect(message).toContain('category "b" has unknown parent "ghost"');
  });

  it('rejects a clip prompt used by two categories, naming the prompt and both owners', () => {
    const message = parseError(documentWith([category('a', { clipPrompts: ['shared'] }), category('b', { clipPrompts: ['shared'] })]));
    expect(message).toContain('prompt "shared" is used by both "a" and "b"');
  });

  it.each(['Animals', 'a-b', '1abc', 'a..b', 'a.', '.a', 'a b', ''])('rejects the bad id %j with the id rule and its path', (id) => {
    const message = parseError(documentWith([category('ok'), category(id, { clipPrompts: ['x'] })]));
    expect(message).toContain('categories.1.id');
    if (id !== '') expect(message).toContain('ids are dotted lower-case words');
  });

  it('reports every cross-reference problem at once, prefixed with the source', () => {
    const message = parseError(
      documentWith([category('a', { clipPrompts: ['p'] }), category('a', { clipPrompts: ['q'] }), category('c', { parent: 'zzz', clipPrompts: ['p'] })]),
      'my-taxonomy.json',
    );
    expect(message).toMatch(/^invalid my-taxonomy\.json: /);
    expect(message).toContain('duplicate category id "a"');
    expect(message).toContain('unknown parent "zzz"');
    expect(message).toContain('prompt "p" is used by both "a" and "c"');
  });

  it('rejects structural problems (no categories, threshold out of range, not an object)', () => {
    expect(parseError({ ...documentWith([category('a')]), categories: [] })).toContain('categories');
    const badThreshold = documentWith([category('a')]);
    badThreshold.policyClasses[0]!.reviewThreshold = 0;
    expect(parseError(badThreshold)).toContain('policyClasses.0.reviewThreshold');
    expect(parseError(null)).toMatch(/^invalid taxonomy: \(root\)/);
  });
});

describe('Taxonomy.resolveDeclaredCategory', () => {
  const taxonomy = loadTaxonomy();
  const resolve = (declared: string): string | undefined => taxonomy.resolveDeclaredCategory(declared)?.id;

  it('matches by id, name and synonym', () => {
    expect(resolve('animals.pets')).toBe('animals.pets');
    expect(resolve('Pets')).toBe('animals.pets');
    expect(resolve('pet supplies')).toBe('animals.pets');
    expect(resolve('Garden and plants')).toBe('home.garden');
    expect(resolve('watercraft')).toBe('vehicles.boats');
    expect(resolve('Vehicles')).toBe('vehicles');
  });

  it('ignores case, extra spaces and punctuation between words', () => {
    expect(resolve('  PET    Supplies ')).toBe('animals.pets');
    expect(resolve('ANIMALS.PETS')).toBe('animals.pets');
    expect(resolve('garden-and-plants')).toBe('home.garden');
    expect(resolve('Consumer\tElectronics')).toBe('electronics');
  });

  it('ignores the Unicode normalization form (NFD vs NFC) in both directions', () => {
    const nfc = 'Caf\u00e9 d\u00e9cor';
    const nfd = 'Cafe\u0301 de\u0301cor';
    const fromNfc = parseTaxonomy(documentWith([category('cafe', { name: nfc })]));
    const fromNfd = parseTaxonomy(documentWith([category('cafe', { name: nfd })]));
    expect(fromNfc.resolveDeclaredCategory(nfd)?.id).toBe('cafe');
    expect(fromNfc.resolveDeclaredCategory(nfc.toUpperCase())?.id).toBe('cafe');
    expect(fromNfd.resolveDeclaredCategory(nfc)?.id).toBe('cafe');
  });

  it('returns undefined for unknown, empty or partial names', () => {
    expect(resolve('spaceships')).toBeUndefined();
    expect(resolve('')).toBeUndefined();
    expect(resolve('   ')).toBeUndefined();
    expect(resolve('pet supply')).toBeUndefined();
    expect(resolve('animals pets')).toBeUndefined();
  });
});

describe('Taxonomy relations', () => {
  const taxonomy = loadTaxonomy();

  it('lineage lists the category then its ancestors, nearest first', () => {
    expect(taxonomy.lineage('vehicles.boats')).toEqual(['vehicles.boats', 'vehicles']);
    expect(taxonomy.lineage('vehicles')).toEqual(['vehicles']);
    expect(taxonomy.lineage('nope')).toEqual([]);
    const deep = parseTaxonomy(documentWith([category('a'), category('a.b', { parent: 'a' }), category('a.b.c', { parent: 'a.b' })]));
    expect(deep.lineage('a.b.c')).toEqual(['a.b.c', 'a.b', 'a']);
  });

  it('refuses parent cycles and names or synonyms shared by two categories', () => {
    expect(() => parseTaxonomy(documentWith([category('x', { parent: 'y' }), category('y', { parent: 'x' })]))).toThrow(/parent cycle/);
    expect(() => parseTaxonomy(documentWith([category('s', { parent: 's' })]))).toThrow(/parent cycle/);
    expect(() => parseTaxonomy(documentWith([category('a', { synonyms: ['Shared'] }), category('b', { synonyms: ['shared'] })]))).toThrow(
      /"shared" is used by both "a" and "b"/,
    );
  });

  it('isSameOrDescendant is true for the category itself and its descendants only', () => {
    expect(taxonomy.isSameOrDescendant('vehicles', 'vehicles')).toBe(true);
    expect(taxonomy.isSameOrDescendant('vehicles.boats', 'vehicles')).toBe(true);
    expect(taxonomy.isSameOrDescendant('vehicles', 'vehicles.boats')).toBe(false);
    expect(taxonomy.isSameOrDescendant('vehicles.aircraft', 'vehicles.boats')).toBe(false);
    expect(taxonomy.isSameOrDescendant('food', 'animals')).toBe(false);
    expect(taxonomy.isSameOrDescendant('unknown', 'unknown')).toBe(false);
  });

  it('areRelated is symmetric and excludes siblings and unrelated categories', () => {
    const pairs: Array<[string, string, boolean]> = [
      ['vehicles.boats', 'vehicles', true],
      ['animals.pets', 'animals.pets', true],
      ['animals.pets', 'animals.farm', false],
      ['home.kitchen', 'food', false],
      ['fashion.watches', 'electronics', false],
    ];
    for (const [a, b, related] of pairs) {
      expect(taxonomy.areRelated(a, b), `${a} ~ ${b}`).toBe(related);
      expect(taxonomy.areRelated(b, a), `${b} ~ ${a}`).toBe(related);
    }
  });
});

describe('Taxonomy.categoriesMentionedIn', () => {
  const taxonomy = loadTaxonomy();

  it('matches whole words only: "catalog" does not mention "cat"', () => {
    expect(taxonomy.categoriesMentionedIn('Spring catalog, page 3')).toEqual([]);
    expect(taxonomy.categoriesMentionedIn('Categorical scattering')).toEqual([]);
  });

  it('finds "watch" in "Swiss watch, leather"', () => {
    expect(taxonomy.categoriesMentionedIn('Swiss watch, leather')).toEqual([{ categoryId: 'fashion.watches', matched: ['watch'] }]);
  });

  it('lists every mentioned category in taxonomy order with its de-duplicated matches (keywords, then synonyms)', () => {
    expect(taxonomy.categoriesMentionedIn('Vintage CATS & dogs poster')).toEqual([
      { categoryId: 'animals.pets', matched: ['cats', 'dogs'] },
      { categoryId: 'art', matched: ['poster'] },
    ]);
  });

  it('matches multi-word keywords', () => {
    expect(taxonomy.categoriesMentionedIn('Old fishing boat')).toEqual([{ categoryId: 'vehicles.boats', matched: ['boat', 'fishing boat'] }]);
    expect(taxonomy.categoriesMentionedIn('Notebook-computer sleeve')).toEqual([{ categoryId: 'electronics', matched: ['notebook computer'] }]);
  });

  it('returns [] for empty or punctuation-only text', () => {
    expect(taxonomy.categoriesMentionedIn('')).toEqual([]);
    expect(taxonomy.categoriesMentionedIn(' ... !!! ')).toEqual([]);
  });
});

describe('Taxonomy.policyScores', () => {
  const taxonomy = loadTaxonomy();
  const scoreOf = (result: ReturnType<typeof taxonomy.policyScores>, id: string): number | undefined =>
    result.find((entry) => entry.policyClass.id === id)?.score;

  it('returns one entry per policy class in taxonomy order, 0 when no label matches', () => {
    const result = taxonomy.policyScores([{ label: 'neutral', score: 0.99 }]);
    expect(result.map((entry) => entry.policyClass.id)).toEqual(['sexual_explicit', 'suggestive']);
    expect(result.map((entry) => entry.score)).toEqual([0, 0]);
  });

  it('sums the labels of a class, comparing labels case-insensitively', () => {
    const result = taxonomy.policyScores([
      { label: 'Porn', score: 0.3 },
      { label: 'NSFW', score: 0.25 },
      { label: 'hentai', score: 0.05 },
      { label: 'SEXY', score: 0.2 },
      { label: 'drawings', score: 0.2 },
    ]);
    expect(scoreOf(result, 'sexual_explicit')).toBeCloseTo(0.6, 10);
    expect(scoreOf(result, 'suggestive')).toBeCloseTo(0.2, 10);
  });

  it('caps a summed score at 1', () => {
    const result = taxonomy.policyScores([
      { label: 'porn', score: 0.7 },
      { label: 'hentai', score: 0.6 },
    ]);
    expect(scoreOf(result, 'sexual_explicit')).toBe(1);
  });

  it('returns zeros for no labels', () => {
    expect(taxonomy.policyScores([]).map((entry) => entry.score)).toEqual([0, 0]);
  });
});

describe('Taxonomy.candidateLabels and lookups', () => {
  const taxonomy = loadTaxonomy();

  it('covers every clipPrompt exactly once, in taxonomy order', () => {
    const labels = taxonomy.candidateLabels();
    const prompts = taxonomyFile.categories.flatMap((c) => c.clipPrompts);
    expect(labels).toEqual(prompts);
    expect(new Set(labels).size).toBe(labels.length);
  });

  it('maps every candidate label back to the category that owns it; parents without prompts get none', () => {
    for (const c of taxonomy.categories) {
      for (const prompt of c.clipPrompts) expect(taxonomy.categoryForPrompt(prompt)?.id).toBe(c.id);
    }
    const owners = new Set(taxonomy.candidateLabels().map((label) => taxonomy.categoryForPrompt(label)?.id));
    expect(owners.has('animals')).toBe(false);
    expect(owners.has('home')).toBe(false);
    expect(owners.has('fashion')).toBe(false);
    expect(taxonomy.categoryForPrompt('A photo of a boat')).toBeUndefined();
  });

  it('finds categories by detector label case-insensitively', () => {
    expect(taxonomy.categoriesForDetectorLabel('Cup').map((c) => c.id)).toEqual(['home.kitchen']);
    expect(taxonomy.categoriesForDetectorLabel('bird').map((c) => c.id)).toEqual(['animals.pets']);
    expect(taxonomy.categoriesForDetectorLabel('giraffe')).toEqual([]);
  });

  it('category() looks up by exact id only', () => {
    expect(taxonomy.category('vehicles.boats')?.name).toBe('Boats');
    expect(taxonomy.category('Boats')).toBeUndefined();
  });
});
