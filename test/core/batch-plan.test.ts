import { createHash } from 'node:crypto';
import { mulberry32 } from '../support/random';
import { describe, expect, it } from 'vitest';
import type { ArchiveEntry, ArchiveEntryProblem } from '../../lambdas/core/archive';
import { deriveBatchId, fileAssetKey, planBatch, rowAssetKey, toWorkItem } from '../../lambdas/core/batch-plan';
import { ATTRIBUTE_LIMITS, jsonBytes, LISTING_FIELD_LIMITS } from '../../lambdas/core/listing-limits';
import type { BatchPlan } from '../../lambdas/core/batch-plan';
import type { ManifestRow } from '../../lambdas/core/manifest';
import type { ReasonCode } from '../../lambdas/core/outcomes';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';

const taxonomy = loadTaxonomy();
const MANIFEST = 'manifest.csv';

function file(path: string, rawPath = path): ArchiveEntry {
  const data = Buffer.from(`bytes of ${path}`);
  return { path, rawPath, size: data.length, data };
}

function bad(path: string, problem: ArchiveEntryProblem, rawPath = path, size = 10): ArchiveEntry {
  return { path, rawPath, size, problem, detail: `synthetic ${problem}` };
}

function row(fileName: string, fields: Record<string, string>, n: number): ManifestRow {
  return {
    rowNumber: n,
    fields: { asset_id: `A${n}`, file: fileName, merchant_id: 'm-1', declared_category: 'pets', title: `Item ${n}`, ...fields },
  };
}

function rows(...specs: Array<[string, Record<string, string>?]>): ManifestRow[] {
  return specs.map(([fileName, fields], index) => row(fileName, fields ?? {}, index + 1));
}

function plan(manifestRows: ManifestRow[], entries: ArchiveEntry[], ignored: string[] = []): BatchPlan {
  return planBatch('batch-1', MANIFEST, manifestRows, [file(MANIFEST), ...entries], ignored, taxonomy);
}

function rejection(result: BatchPlan, assetKey: string) {
  const found = result.rejections.find((r) => r.assetKey === assetKey);
  if (found === undefined) throw new Error(`no rejection ${assetKey} in ${JSON.stringify(result.rejections.map((r) => r.assetKey))}`);
  return found;
}

/**
 * The accounting invariant: each manifest row yields exactly one asset (item or rejection), each archive file other
 * than the manifest is covered by a row or by exactly one file-level rejection, and asset keys are unique.
 */
function expectAccountedFor(result: BatchPlan, manifestRows: ManifestRow[], entries: ArchiveEntry[]): void {
  const keys = [...result.items.map((i) => i.assetKey), ...result.rejections.map((r) => r.assetKey)];
  expect(new Set(keys).size, `duplicate asset keys in ${JSON.stringify(keys)}`).toBe(keys.length);

  const rowNumbers = [...result.items.map((i) => i.rowNumber), ...result.rejections.flatMap((r) => (r.rowNumber === undefined ? [] : [r.rowNumber]))];
  expect([...rowNumbers].sort((a, b) => a - b)).toEqual(manifestRows.map((r) => r.rowNumber).sort((a, b) => a - b));
  for (const item of result.items) expect(item.assetKey).toBe(rowAssetKey(item.rowNumber));

  const fileLevel = result.rejections.filter((r) => r.rowNumber === undefined);
  const rowLevel = result.rejections.filter((r) => r.rowNumber !== undefined);
  const namedByRow = new Set<string | undefined>([...result.items.map((i) => i.file), ...rowLevel.map((r) => r.file)]);
  const fileKeys = new Set(fileLevel.map((r) => r.assetKey));
  for (const entry of entries.filter((e) => e.path !== MANIFEST)) {
    // A file-level asset is keyed by the raw path, suffixed (#2, #3, …) when the archive repeats that raw path.
    const fileKey = fileAssetKey(entry.rawPath);
    const hasFileAsset = [...fileKeys].some((key) => key === fileKey || key.startsWith(`${fileKey}#`));
    const accounted =
      entry.problem === 'DUPLICATE_ENTRY'
        ? (entry.rawPath !== entry.path && namedByRow.has(entry.rawPath)) || hasFileAsset
        : namedByRow.has(entry.path) || namedByRow.has(entry.rawPath) || hasFileAsset;
    expect(accounted, `${entry.rawPath} is not accounted for`).toBe(true);
  }
  const entryPaths = new Set(entries.map((e) => e.path));
  for (const r of fileLevel) {
    expect(r.reasons).toContain('ORPHAN_FILE');
    expect(entryPaths.has(r.file ?? ''), `${r.assetKey} names no archive entry`).toBe(true);
  }
  expect(keys.length).toBe(manifestRows.length + fileLevel.length);
  for (const r of result.rejections) expect(r.reasons.length).toBeGreaterThan(0);
}

describe('planBatch: accounting invariant', () => {
  it('accounts for every row and every file exactly once in a batch with every kind of problem', () => {
    const entries = [
      file('img/ok1.jpg'),
      file('img/ok2.jpg'),
      file('img/shared.jpg'),
      file('img/orphan.jpg'),
      bad('img/empty.jpg', 'EMPTY_FILE', 'img/empty.jpg', 0),
      bad('img/huge.jpg', 'FILE_TOO_LARGE', 'img/huge.jpg', 99_000_000),
      bad('img/bomb.jpg', 'SUSPICIOUS_COMPRESSION'),
      bad('img/corrupt.jpg', 'CORRUPT_ENTRY'),
      bad('../evil.jpg', 'UNSAFE_PATH'),
      bad('img/ok1.jpg', 'DUPLICATE_ENTRY', './img/ok1.jpg'),
      bad('img/orphan-empty.jpg', 'EMPTY_FILE', 'img/orphan-empty.jpg', 0),
      bad('/etc/passwd', 'UNSAFE_PATH'),
      file('img/for-invalid-row.jpg'),
    ];
    const manifestRows = rows(
      ['img/ok1.jpg'],
      ['img/ok2.jpg', { asset_id: 'A1' }], // duplicate asset id
      ['img/shared.jpg'],
      ['img/shared.jpg'],
      ['img/missing.jpg'],
      ['img/empty.jpg'],
      ['img/huge.jpg'],
      ['img/bomb.jpg'],
      ['img/corrupt.jpg'],
      ['../evil.jpg'],
      ['img/for-invalid-row.jpg', { price: 'abc' }],
      ['img/ok2.jpg', { declared_category: 'spaceships' }],
      ['', { title: '' }],
    );
    const result = plan(manifestRows, entries);
    expectAccountedFor(result, manifestRows, [file(MANIFEST), ...entries]);

    expect(result.items.map((i) => i.rowNumber)).toEqual([1, 3, 4]);
    const reasonsByKey = Object.fromEntries(result.rejections.map((r) => [r.assetKey, r.reasons]));
    expect(reasonsByKey).toEqual({
      'row-000002': ['DUPLICATE_ASSET_ID'],
      'row-000005': ['MISSING_FILE'],
      'row-000006': ['EMPTY_FILE'],
      'row-000007': ['FILE_TOO_LARGE'],
      'row-000008': ['SUSPICIOUS_COMPRESSION'],
      'row-000009': ['CORRUPT_IMAGE'],
      'row-000010': ['UNSAFE_PATH'],
      'row-000011': ['INVALID_MANIFEST_ROW'],
      'row-000012': ['UNKNOWN_CATEGORY'],
      'row-000013': ['INVALID_MANIFEST_ROW'],
      'file:img/orphan.jpg': ['ORPHAN_FILE'],
      'file:./img/ok1.jpg': ['DUPLICATE_ARCHIVE_ENTRY', 'ORPHAN_FILE'],
      'file:img/orphan-empty.jpg': ['EMPTY_FILE', 'ORPHAN_FILE'],
      'file:/etc/passwd': ['UNSAFE_PATH', 'ORPHAN_FILE'],
    });
    expect(result.filesToStage).toEqual(['img/ok1.jpg', 'img/shared.jpg']);
  });

  it('holds over many random batches (seeded)', () => {
    const random = mulberry32(0x5eed);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const problems: Array<ArchiveEntryProblem | undefined> = [
      undefined,
      undefined,
      undefined,
      'EMPTY_FILE',
      'FILE_TOO_LARGE',
      'CORRUPT_ENTRY',
      'SUSPICIOUS_COMPRESSION',
      'UNSAFE_PATH',
    ];
    for (let run = 0; run < 200; run += 1) {
      const fileCount = Math.floor(random() * 8);
      const entries: ArchiveEntry[] = [];
      for (let i = 0; i < fileCount; i += 1) {
        const problem = pick(problems);
        const path = problem === 'UNSAFE_PATH' ? `../f${i}.jpg` : `img/f${i}.jpg`;
        entries.push(problem === undefined ? file(path) : bad(path, problem));
        // at most one duplicate copy per path (see report: several copies collide on one asset key)
        if (problem === undefined && random() < 0.2) entries.push(bad(path, 'DUPLICATE_ENTRY', `./${path}`));
      }
      const rowCount = Math.floor(random() * 8);
      const manifestRows: ManifestRow[] = [];
      for (let n = 1; n <= rowCount; n += 1) {
        const target = entries.length > 0 && random() < 0.8 ? pick(entries).path : `img/missing${n}.jpg`;
        const fields: Record<string, string> = { asset_id: `A${Math.floor(random() * 5)}` };
        const roll = random();
        if (roll < 0.1) fields['declared_category'] = 'nope';
        else if (roll < 0.2) fields['price'] = '-3';
        manifestRows.push(row(target, fields, n));
      }
      const result = plan(manifestRows, entries);
      expectAccountedFor(result, manifestRows, entries);
      expect(new Set(result.filesToStage).size).toBe(result.filesToStage.length);
      for (const item of result.items) expect(result.filesToStage).toContain(item.file);
    }
  });
});

describe('planBatch: rows', () => {
  it('turns a valid row naming a good file into an item with its normalized listing', () => {
    const result = plan(rows(['img/a.jpg', { declared_category: 'Boats', price: '9.99', currency: 'eur' }]), [file('img/a.jpg')]);
    expect(result.rejections).toEqual([]);
    expect(result.items).toEqual([
      {
        batchId: 'batch-1',
        assetKey: 'row-000001',
        rowNumber: 1,
        file: 'img/a.jpg',
        listing: expect.objectContaining({ assetId: 'A1', declaredCategoryId: 'vehicles.boats', price: 9.99, currency: 'EUR' }),
      },
    ]);
    expect(result.filesToStage).toEqual(['img/a.jpg']);
  });

  it('keeps the first row of a duplicate asset_id and rejects the later ones, naming the first row', () => {
    const result = plan(rows(['a.jpg', { asset_id: 'X' }], ['b.jpg', { asset_id: 'X' }], ['c.jpg', { asset_id: 'X' }]), [
      file('a.jpg'),
      file('b.jpg'),
      file('c.jpg'),
    ]);
    expect(result.items.map((i) => i.assetKey)).toEqual(['row-000001']);
    expect(result.rejections.map((r) => [r.assetKey, r.reasons, r.detail])).toEqual([
      ['row-000002', ['DUPLICATE_ASSET_ID'], 'asset_id "X" was already used by manifest row 1'],
      ['row-000003', ['DUPLICATE_ASSET_ID'], 'asset_id "X" was already used by manifest row 1'],
    ]);
    // the files named by the rejected rows are covered by those rows, not reported again as orphans
    expect(result.rejections.some((r) => r.reasons.includes('ORPHAN_FILE'))).toBe(false);
  });

  it('compares asset ids after trimming', () => {
    const result = plan(rows(['a.jpg', { asset_id: 'X' }], ['b.jpg', { asset_id: '  X ' }]), [file('a.jpg'), file('b.jpg')]);
    expect(rejection(result, 'row-000002').reasons).toEqual(['DUPLICATE_ASSET_ID']);
  });

  it('rejects a row whose file is not in the archive with MISSING_FILE', () => {
    const result = plan(rows(['img/nope.jpg']), []);
    expect(result.items).toEqual([]);
    expect(result.rejections).toEqual([
      {
        assetKey: 'row-000001',
        rowNumber: 1,
        file: 'img/nope.jpg',
        listing: expect.objectContaining({ assetId: 'A1' }),
        reasons: ['MISSING_FILE'],
        detail: 'file "img/nope.jpg" is not in the archive',
      },
    ]);
  });

  it('matches manifest paths written with backslashes, "./" or in NFD to the archive path', () => {
    const result = plan(rows(['.\\img\\a.jpg'], ['./img/b.jpg'], ['img/cafe\u0301.jpg']), [file('img/a.jpg'), file('img/b.jpg'), file('img/caf\u00e9.jpg')]);
    expect(result.rejections).toEqual([]);
    expect(result.items.map((i) => i.file)).toEqual(['img/a.jpg', 'img/b.jpg', 'img/caf\u00e9.jpg']);
  });

  it('matches a row naming an entry by its raw (un-normalized) name', () => {
    const result = plan(rows(['img/x/../a.jpg']), [file('img/a.jpg', 'img/x/../a.jpg')]);
    expect(result.rejections).toEqual([]);
    expect(result.items[0]!.file).toBe('img/a.jpg');
  });

  it('stages a file shared by two rows once, and both rows become items', () => {
    const result = plan(rows(['img/a.jpg'], ['img/a.jpg'], ['img/b.jpg']), [file('img/a.jpg'), file('img/b.jpg')]);
    expect(result.items.map((i) => [i.assetKey, i.file])).toEqual([
      ['row-000001', 'img/a.jpg'],
      ['row-000002', 'img/a.jpg'],
      ['row-000003', 'img/b.jpg'],
    ]);
    expect(result.filesToStage).toEqual(['img/a.jpg', 'img/b.jpg']);
    expect(result.rejections).toEqual([]);
  });

  it('does not report a file as orphan when the only row naming it was rejected', () => {
    const result = plan(rows(['img/a.jpg', { declared_category: 'spaceships' }]), [file('img/a.jpg')]);
    expect(result.rejections.map((r) => [r.assetKey, r.reasons])).toEqual([['row-000001', ['UNKNOWN_CATEGORY']]]);
    expect(result.filesToStage).toEqual([]);
  });

  it('reports row-level problems before file problems', () => {
    const result = plan(rows(['img/empty.jpg', { price: 'abc' }]), [bad('img/empty.jpg', 'EMPTY_FILE', 'img/empty.jpg', 0)]);
    expect(result.rejections.map((r) => [r.assetKey, r.reasons])).toEqual([['row-000001', ['INVALID_MANIFEST_ROW']]]);
  });

  it('does not count an empty asset_id as a duplicate', () => {
    const result = plan(rows(['a.jpg', { asset_id: '' }], ['b.jpg', { asset_id: '' }]), [file('a.jpg'), file('b.jpg')]);
    expect(result.rejections.map((r) => r.reasons)).toEqual([['INVALID_MANIFEST_ROW'], ['INVALID_MANIFEST_ROW']]);
  });
});

describe('planBatch: archive entry problems', () => {
  const cases: Array<[ArchiveEntryProblem, ReasonCode, RegExp]> = [
    ['UNSAFE_PATH', 'UNSAFE_PATH', /unsafe path/],
    ['EMPTY_FILE', 'EMPTY_FILE', /zero bytes/],
    ['FILE_TOO_LARGE', 'FILE_TOO_LARGE', /exceeds the per-file limit/],
    ['CORRUPT_ENTRY', 'CORRUPT_IMAGE', /cannot be inflated/],
    ['SUSPICIOUS_COMPRESSION', 'SUSPICIOUS_COMPRESSION', /zip-bomb/],
  ];

  it.each(cases)('%s named by a row rejects that row with %s', (problem, reason, detail) => {
    const path = problem === 'UNSAFE_PATH' ? '../x.jpg' : 'img/x.jpg';
    const result = plan(rows([path]), [bad(path, problem)]);
    expect(result.items).toEqual([]);
    expect(result.filesToStage).toEqual([]);
    expect(result.rejections).toHaveLength(1);
    const only = result.rejections[0]!;
    expect(only).toMatchObject({ assetKey: 'row-000001', rowNumber: 1, file: path, reasons: [reason] });
    expect(only.detail).toMatch(detail);
    expect(only.detail).toContain(path);
  });

  it.each(cases)('%s named by no row becomes an orphan with %s first', (problem, reason, detail) => {
    const path = problem === 'UNSAFE_PATH' ? '../x.jpg' : 'img/x.jpg';
    const result = plan([], [bad(path, problem)]);
    expect(result.rejections).toHaveLength(1);
    const only = result.rejections[0]!;
    expect(only).toMatchObject({ assetKey: `file:${path}`, file: path, listing: {}, reasons: [reason, 'ORPHAN_FILE'] });
    expect(only.rowNumber).toBeUndefined();
    expect(only.detail).toMatch(detail);
    expect(only.detail).toMatch(/; no manifest row names it$/);
  });

  it('an unsafe Windows-style raw path is matched through the normalized manifest path and shown by its raw name', () => {
    const result = plan(rows(['..\\evil.jpg']), [bad('../evil.jpg', 'UNSAFE_PATH', '..\\evil.jpg')]);
    expect(result.rejections).toHaveLength(1);
    expect(result.rejections[0]!.reasons).toEqual(['UNSAFE_PATH']);
    expect(result.rejections[0]!.detail).toContain('"..\\evil.jpg"');
  });

  it('a duplicate entry: the row gets the first copy, the later copy is an orphan keyed by its raw path', () => {
    const result = plan(rows(['img/a.jpg']), [file('img/a.jpg'), bad('img/a.jpg', 'DUPLICATE_ENTRY', './img/a.jpg')]);
    expect(result.items.map((i) => i.file)).toEqual(['img/a.jpg']);
    expect(result.rejections).toEqual([
      {
        assetKey: 'file:./img/a.jpg',
        file: 'img/a.jpg',
        listing: {},
        reasons: ['DUPLICATE_ARCHIVE_ENTRY', 'ORPHAN_FILE'],
        detail: 'archive entry "img/a.jpg" appears more than once in the archive; only the first is used: synthetic DUPLICATE_ENTRY; no manifest row names it',
      },
    ]);
  });

  it('a duplicate entry with no row: each copy is an orphan keyed by its raw path', () => {
    const result = plan([], [file('img/a.jpg'), bad('img/a.jpg', 'DUPLICATE_ENTRY', 'img\\a.jpg')]);
    expect(result.rejections.map((r) => [r.assetKey, r.reasons])).toEqual([
      ['file:img/a.jpg', ['ORPHAN_FILE']],
      ['file:img\\a.jpg', ['DUPLICATE_ARCHIVE_ENTRY', 'ORPHAN_FILE']],
    ]);
  });

  it('keeps asset keys unique when the archive repeats a raw path (three copies, two unsafe twins)', () => {
    const result = plan(rows(['a.jpg']), [
      file('a.jpg'),
      bad('a.jpg', 'DUPLICATE_ENTRY', 'a.jpg'),
      bad('a.jpg', 'DUPLICATE_ENTRY', 'a.jpg'),
      bad('../evil.jpg', 'UNSAFE_PATH', '../evil.jpg'),
      bad('../evil.jpg', 'UNSAFE_PATH', '../evil.jpg'),
    ]);
    expect(result.rejections.map((r) => r.assetKey)).toEqual(['file:a.jpg', 'file:a.jpg#2', 'file:../evil.jpg', 'file:../evil.jpg#2']);
  });

  it('does not call a file orphan when the row naming it (in another spelling) was rejected', () => {
    const [row] = rows(['./a.jpg']);
    row!.fields['declared_category'] = 'nope';
    const result = plan([row!], [file('a.jpg')]);
    expect(result.rejections.map((r) => [r.assetKey, r.reasons])).toEqual([['row-000001', ['UNKNOWN_CATEGORY']]]);
  });

  it('a row naming the duplicate copy by its raw name is rejected with DUPLICATE_ARCHIVE_ENTRY', () => {
    const result = plan(rows(['img/x/../a.jpg']), [file('img/a.jpg'), bad('img/a.jpg', 'DUPLICATE_ENTRY', 'img/x/../a.jpg')]);
    expect(rejection(result, 'row-000001').reasons).toEqual(['DUPLICATE_ARCHIVE_ENTRY']);
    // the first copy is named by nobody
    expect(rejection(result, 'file:img/a.jpg').reasons).toEqual(['ORPHAN_FILE']);
  });
});

describe('planBatch: the manifest and ignored entries', () => {
  it('never reports the manifest itself as an orphan (CSV or JSONL)', () => {
    expect(planBatch('b', 'manifest.csv', [], [file('manifest.csv')], [], taxonomy).rejections).toEqual([]);
    const jsonl = planBatch('b', 'manifest.jsonl', [], [file('manifest.jsonl'), file('manifest.csv')], [], taxonomy);
    expect(jsonl.rejections.map((r) => r.assetKey)).toEqual(['file:manifest.csv']);
  });

  it('passes ignored OS junk through untouched and does not turn it into assets', () => {
    const ignored = ['__MACOSX/._a.jpg', '.DS_Store'];
    const result = plan(rows(['a.jpg']), [file('a.jpg')], ignored);
    expect(result.ignoredEntries).toEqual(ignored);
    expect(result.rejections).toEqual([]);
  });

  it('an empty batch plans nothing', () => {
    expect(plan([], [])).toEqual({ items: [], rejections: [], filesToStage: [], ignoredEntries: [] });
  });
});

describe('asset keys', () => {
  it('rowAssetKey zero-pads to six digits so keys sort like row numbers', () => {
    expect(rowAssetKey(1)).toBe('row-000001');
    expect(rowAssetKey(123456)).toBe('row-123456');
    expect(rowAssetKey(1234567)).toBe('row-1234567');
    const keys = [2, 10, 1, 999, 100000].map(rowAssetKey);
    expect([...keys].sort()).toEqual([1, 2, 10, 999, 100000].map(rowAssetKey));
  });

  it('fileAssetKey prefixes the path', () => {
    expect(fileAssetKey('img/a.jpg')).toBe('file:img/a.jpg');
  });
});

describe('deriveBatchId', () => {
  const bytes = Buffer.from('zip bytes');

  it('is deterministic: same name and bytes give the same id', () => {
    expect(deriveBatchId('incoming/spring.zip', bytes)).toBe(deriveBatchId('incoming/spring.zip', Buffer.from('zip bytes')));
  });

  it('changes with the bytes, not with the folder', () => {
    expect(deriveBatchId('incoming/spring.zip', bytes)).not.toBe(deriveBatchId('incoming/spring.zip', Buffer.from('zip bytes!')));
    expect(deriveBatchId('incoming/spring.zip', bytes)).toBe(deriveBatchId('other/place/spring.zip', bytes));
  });

  it('is "<slug>-<12 hex of sha256>"', () => {
    const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
    expect(deriveBatchId('incoming/Spring Sale.zip', bytes)).toBe(`spring-sale-${digest}`);
    expect(deriveBatchId('incoming/x.zip', bytes)).toMatch(/^x-[0-9a-f]{12}$/);
  });

  it('slugs weird names: case, spaces, punctuation, .ZIP, accents', () => {
    const id = (name: string): string => deriveBatchId(`incoming/${name}`, bytes).replace(/-[0-9a-f]{12}$/, '');
    expect(id('My Batch (2024) #3.ZIP')).toBe('my-batch-2024-3');
    expect(id('__weird__name__.zip')).toBe('weird-name');
    expect(id('archive.tar.zip')).toBe('archive-tar');
    expect(id('no-extension')).toBe('no-extension');
    expect(id('ＦＵＬＬＷＩＤＴＨ.zip')).toBe('fullwidth');
  });

  it('falls back to "batch" when nothing usable is left of the name', () => {
    expect(deriveBatchId('incoming/日本語.zip', bytes)).toMatch(/^batch-[0-9a-f]{12}$/);
    expect(deriveBatchId('incoming/.zip', bytes)).toMatch(/^batch-[0-9a-f]{12}$/);
    expect(deriveBatchId('incoming/!!!.zip', bytes)).toMatch(/^batch-[0-9a-f]{12}$/);
  });

  it('caps the slug at 40 characters, so ids are at most 53 characters and always end in 12 hex digits', () => {
    const long = deriveBatchId(`incoming/${'abcdefghij'.repeat(10)}.zip`, bytes);
    expect(long).toMatch(/^abcdefghij(abcdefghij){3}-[0-9a-f]{12}$/);
    expect(long).toHaveLength(53);
    for (const name of ['a.zip', 'x'.repeat(200), 'Ünïcödé name.zip', '  .zip']) {
      const batchId = deriveBatchId(name, bytes);
      expect(batchId.length).toBeLessThanOrEqual(53);
      expect(batchId).toMatch(/^[a-z0-9-]+-[0-9a-f]{12}$/);
    }
  });
});

describe('deriveBatchId slugs', () => {
  it('drops accents instead of turning them into hyphens, and never ends the slug with a hyphen', () => {
    const bytes = Buffer.from('x');
    expect(deriveBatchId('Café Déjà-Vu!!.zip', bytes)).toMatch(/^cafe-deja-vu-[0-9a-f]{12}$/);
    expect(deriveBatchId(`${'a'.repeat(39)} b.zip`, bytes)).toMatch(/^a{39}-[0-9a-f]{12}$/);
  });
});

describe('work item size: the listing limits bound one item whatever the manifest holds', () => {
  const ITEM_BUDGET = 16 * 1024;
  const emoji = '😀'; // 4 bytes in UTF-8, 2 UTF-16 units, not escaped in JSON

  /** Every field at (or far past) its limit, written with `unit` (a 4-byte character, or a character JSON escapes). */
  function worstRow(unit: string, unitBytes: number): { row: ManifestRow; path: string } {
    const fill = (bytes: number): string => unit.repeat(Math.floor(bytes / unitBytes));
    const path = `${fill(LISTING_FIELD_LIMITS.file.maxBytes - 4)}.jpg`;
    const fields: Record<string, string> = {
      asset_id: fill(LISTING_FIELD_LIMITS.asset_id.maxBytes),
      file: path,
      merchant_id: fill(LISTING_FIELD_LIMITS.merchant_id.maxBytes),
      // Symbols and quotes are punctuation to category matching, so this still resolves to "pets".
      declared_category: `pets${fill(LISTING_FIELD_LIMITS.declared_category.maxBytes - 4)}`,
      title: fill(40_000),
      description: fill(400_000),
      sku: fill(LISTING_FIELD_LIMITS.sku.maxBytes),
      price: `${'9'.repeat(LISTING_FIELD_LIMITS.price.maxBytes - 5)}.9999`,
      currency: 'EUR',
    };
    for (let i = 0; i < 40; i += 1) {
      const suffix = String(i).padStart(4, '0');
      fields[`${fill(ATTRIBUTE_LIMITS.maxNameBytes - 4)}${suffix}`] = fill(4_000);
    }
    return { row: { rowNumber: 1_000_000, fields }, path };
  }

  const worstProfile = { assets: 9_999_999_999, categories: Object.fromEntries(taxonomy.categories.map((c) => [c.id, 9_999_999_999])) };

  it.each([
    ['4-byte characters', emoji, 4],
    ['quotes (two bytes each as JSON)', '"', 2],
    ['control characters (six bytes each as JSON)', '\u0001', 6],
  ])('with every field at its maximum in %s, the serialized work item is at most 16 KiB', (_name, unit, unitBytes) => {
    const { row: worst, path } = worstRow(unit, unitBytes);
    const result = planBatch(`${'x'.repeat(40)}-0123456789ab`, MANIFEST, [worst], [file(MANIFEST), file(path)], [], taxonomy);
    expect(result.rejections).toEqual([]);
    const [item] = result.items;
    const line = JSON.stringify(toWorkItem(item!, new Date(8.64e15).toISOString(), worstProfile));
    expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(ITEM_BUDGET);
    // The limits were reached (this is the worst case, not a small row), and every cut is recorded.
    expect(jsonBytes(item!.listing.description!)).toBeGreaterThan(LISTING_FIELD_LIMITS.description.maxBytes - 8);
    expect(item!.listing.truncated).toMatchObject({ title: 40_000 - (40_000 % unitBytes), description: 400_000 - (400_000 % unitBytes) });
    expect(item!.listing.truncated!['attributes']).toBeGreaterThan(ATTRIBUTE_LIMITS.maxTotalBytes);
    expect(Buffer.byteLength(JSON.stringify(item!.listing.attributes))).toBeLessThanOrEqual(ATTRIBUTE_LIMITS.maxTotalBytes);
  });
});
