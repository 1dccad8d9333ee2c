import { describe, expect, it } from 'vitest';
import { ATTRIBUTE_LIMITS, LISTING_FIELD_LIMITS } from '../../lambdas/core/listing-limits';
import { normalizeManifestPath, normalizeRow, parseManifest, REQUIRED_COLUMNS } from '../../lambdas/core/manifest';
import type { ManifestParseResult, ManifestRow, NormalizedListing, RowVerdict } from '../../lambdas/core/manifest';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';

const taxonomy = loadTaxonomy();

function archive(files: Record<string, string>): Map<string, Buffer> {
  return new Map(Object.entries(files).map(([name, text]) => [name, Buffer.from(text, 'utf8')]));
}

function rowsOf(result: ManifestParseResult): ManifestRow[] {
  if (!result.ok) throw new Error(`expected ok, got ${result.code}: ${result.message}`);
  return result.rows;
}

function failureOf(result: ManifestParseResult): { code: string; message: string } {
  if (result.ok) throw new Error('expected the manifest to be refused');
  return { code: result.code, message: result.message };
}

function listingOf(verdict: RowVerdict): NormalizedListing {
  if (!verdict.ok) throw new Error(`expected ok, got ${verdict.reason}: ${verdict.detail}`);
  return verdict.listing;
}

function rejectionOf(verdict: RowVerdict): Extract<RowVerdict, { ok: false }> {
  if (verdict.ok) throw new Error(`expected a rejection, got ${JSON.stringify(verdict.listing)}`);
  return verdict;
}

const HEADER = 'asset_id,file,merchant_id,declared_category,title';

function row(fields: Record<string, string>, rowNumber = 1): ManifestRow {
  return {
    rowNumber,
    fields: { asset_id: 'A1', file: 'img/a.jpg', merchant_id: 'm-1', declared_category: 'pets', title: 'Cat tree', ...fields },
  };
}

describe('parseManifest: CSV', () => {
  it('parses a CSV with a BOM, CRLF line ends, quoted commas and messy header names', () => {
    const text =
      '\uFEFFAsset ID, File ,MERCHANT_ID,Declared  Category,Title,Price\r\nA1,img/a.jpg,m-1,Pets,"Cat tree, large",12.50\r\nA2,img/b.jpg,m-1,boats,"He said ""hi""",\r\n';
    const result = parseManifest(archive({ 'manifest.csv': text }));
    expect(result.ok && result.fileName).toBe('manifest.csv');
    const rows = rowsOf(result);
    expect(rows).toEqual([
      {
        rowNumber: 1,
        fields: { asset_id: 'A1', file: 'img/a.jpg', merchant_id: 'm-1', declared_category: 'Pets', title: 'Cat tree, large', price: '12.50' },
      },
      {
        rowNumber: 2,
        fields: { asset_id: 'A2', file: 'img/b.jpg', merchant_id: 'm-1', declared_category: 'boats', title: 'He said "hi"', price: '' },
      },
    ]);
  });

  it('keeps newlines inside quoted fields and skips empty lines', () => {
    const text = `${HEADER},description\n\nA1,a.jpg,m,pets,T,"line one\nline two"\n\n`;
    const rows = rowsOf(parseManifest(archive({ 'manifest.csv': text })));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.fields['description']).toBe('line one\nline two');
    expect(rows[0]!.unreadable).toBeUndefined();
  });

  it('numbers data rows from 1, excluding the header', () => {
    const rows = rowsOf(parseManifest(archive({ 'manifest.csv': `${HEADER}\nA1,a,m,pets,t\nA2,b,m,pets,t\nA3,c,m,pets,t\n` })));
    expect(rows.map((r) => r.rowNumber)).toEqual([1, 2, 3]);
  });

  it('refuses a header-only manifest: there is nothing to triage, and its images would all be orphans', () => {
    expect(failureOf(parseManifest(archive({ 'manifest.csv': `${HEADER}\n`, 'a.jpg': 'x' })))).toEqual({
      code: 'MANIFEST_EMPTY',
      message: 'manifest.csv has a header but no rows: there is nothing to triage',
    });
  });

  it('marks a row with the wrong column count unreadable instead of refusing the batch', () => {
    const rows = rowsOf(parseManifest(archive({ 'manifest.csv': `${HEADER}\nA1,a.jpg,m,pets,ok\nA2,b.jpg,m,pets,too,many\nA3,c.jpg,m\n` })));
    expect(rows[0]!.unreadable).toBeUndefined();
    expect(rows[1]!.unreadable).toBe('has 6 fields where the header has 5');
    expect(rows[2]!.unreadable).toBe('has 3 fields where the header has 5');
    // the fields that were there are still kept by position, missing ones as ''
    expect(rows[2]!.fields).toEqual({ asset_id: 'A3', file: 'c.jpg', merchant_id: 'm', declared_category: '', title: '' });

    const verdict = rejectionOf(normalizeRow(rows[1]!, taxonomy));
    expect(verdict.reason).toBe('INVALID_MANIFEST_ROW');
    expect(verdict.detail).toBe('manifest row 2 has 6 fields where the header has 5');
  });

  it('refuses a manifest missing required columns, naming every missing column', () => {
    const several = failureOf(parseManifest(archive({ 'manifest.csv': 'asset_id,file,declared_category\nA1,a,pets\n' })));
    expect(several).toEqual({
      code: 'MANIFEST_MISSING_COLUMN',
      message: 'manifest.csv lacks required columns: merchant_id, title (its header has: asset_id, file, declared_category)',
    });

    const one = failureOf(parseManifest(archive({ 'manifest.csv': 'asset_id,file,merchant_id,declared_category\nA1,a,m,pets\n' })));
    expect(one).toMatchObject({ code: 'MANIFEST_MISSING_COLUMN', message: expect.stringMatching(/^manifest\.csv lacks required column: title \(/) });
  });

  it('refuses an empty (or BOM-only) file as unreadable', () => {
    for (const text of ['', '\uFEFF', '\n\n']) {
      const failure = failureOf(parseManifest(archive({ 'manifest.csv': text })));
      expect(failure.code, JSON.stringify(text)).toBe('MANIFEST_UNREADABLE');
      expect(failure.message).toBe('manifest.csv: empty file');
    }
  });
});

describe('parseManifest: JSONL', () => {
  it('parses JSON lines with a BOM, CRLF, blank lines, normalized keys, non-string values and nulls', () => {
    const lines = [
      '\uFEFF{"Asset ID":"A1","file":"a.jpg","merchant_id":"m","declared_category":"pets","title":"T","price":12.5,"in_stock":true,"sku":null}',
      '',
      '   ',
      '{"asset_id":"A2","file":"b.jpg","merchant_id":"m","declared_category":"boats","title":"Boat","tags":["x","y"]}',
    ];
    const result = parseManifest(archive({ 'manifest.jsonl': lines.join('\r\n') }));
    expect(result.ok && result.fileName).toBe('manifest.jsonl');
    expect(rowsOf(result)).toEqual([
      { rowNumber: 1, fields: { asset_id: 'A1', file: 'a.jpg', merchant_id: 'm', declared_category: 'pets', title: 'T', price: '12.5', in_stock: 'true' } },
      { rowNumber: 2, fields: { asset_id: 'A2', file: 'b.jpg', merchant_id: 'm', declared_category: 'boats', title: 'Boat', tags: '["x","y"]' } },
    ]);
  });

  it('marks a malformed line or a non-object line unreadable, keeping its row number', () => {
    const good = '{"asset_id":"A1","file":"a.jpg","merchant_id":"m","declared_category":"pets","title":"T"}';
    const rows = rowsOf(parseManifest(archive({ 'manifest.jsonl': [good, '{"asset_id": "A2",', '[1,2]', 'null', good].join('\n') })));
    expect(rows.map((r) => [r.rowNumber, r.unreadable])).toEqual([
      [1, undefined],
      [2, 'is not valid JSON'],
      [3, 'is not a JSON object'],
      [4, 'is not a JSON object'],
      [5, undefined],
    ]);
    const verdict = rejectionOf(normalizeRow(rows[1]!, taxonomy));
    expect(verdict).toMatchObject({ reason: 'INVALID_MANIFEST_ROW', detail: 'manifest row 2 is not valid JSON' });
  });

  it('refuses a JSONL manifest whose lines never mention a required column', () => {
    const failure = failureOf(parseManifest(archive({ 'manifest.jsonl': '{"asset_id":"A1","file":"a.jpg","merchant_id":"m","title":"T"}\n' })));
    expect(failure).toMatchObject({
      code: 'MANIFEST_MISSING_COLUMN',
      message: expect.stringMatching(/^manifest\.jsonl lacks required column: declared_category \(/),
    });
  });

  it('refuses an empty JSONL file as unreadable', () => {
    expect(failureOf(parseManifest(archive({ 'manifest.jsonl': '\n  \r\n' })))).toEqual({
      code: 'MANIFEST_UNREADABLE',
      message: 'manifest.jsonl: empty file',
    });
  });
});

describe('parseManifest: which manifest', () => {
  it('refuses an archive with no manifest at its root', () => {
    expect(failureOf(parseManifest(archive({ 'a.jpg': 'x', 'sub/manifest.csv': HEADER })))).toMatchObject({ code: 'MANIFEST_MISSING' });
    expect(failureOf(parseManifest(new Map())).code).toBe('MANIFEST_MISSING');
  });

  it('refuses an archive with both manifest.csv and manifest.jsonl', () => {
    const failure = failureOf(parseManifest(archive({ 'manifest.csv': `${HEADER}\n`, 'manifest.jsonl': '{}' })));
    expect(failure.code).toBe('MANIFEST_AMBIGUOUS');
    expect(failure.message).toContain('manifest.csv');
    expect(failure.message).toContain('manifest.jsonl');
  });

  it('takes a differently cased name as the manifest, but two of them are ambiguous', () => {
    const result = parseManifest(archive({ 'Manifest.CSV': `${HEADER}\nA1,a.jpg,m,pets,T\n` }));
    expect(result.ok && result.fileName).toBe('Manifest.CSV');
    expect(failureOf(parseManifest(archive({ 'Manifest.CSV': HEADER, 'manifest.csv': HEADER }))).code).toBe('MANIFEST_AMBIGUOUS');
  });

  it('names what it found when there is no root manifest', () => {
    expect(failureOf(parseManifest(archive({ 'a.jpg': 'x', 'export/2026/manifest.csv': HEADER }))).message).toBe(
      'the archive has no manifest.csv or manifest.jsonl at its root; found "export/2026/manifest.csv", not at the root: move it to the root of the archive (file paths in it are then relative to the root)',
    );
    expect(failureOf(parseManifest(archive({ 'a.jpg': 'x', 'listings.CSV': HEADER }))).message).toMatch(
      /found "listings\.CSV": a manifest must be named manifest\.csv or manifest\.jsonl$/,
    );
    expect(failureOf(parseManifest(archive({ 'a.jpg': 'x' }))).message).toMatch(/no CSV or JSONL file was found$/);
  });
});

describe('normalizeRow', () => {
  it('normalizes a valid row: trimmed values, resolved category, normalized file path', () => {
    const listing = listingOf(
      normalizeRow(
        row({
          asset_id: '  A1 ',
          file: '.\\img\\a.jpg',
          declared_category: '  Pet   Supplies ',
          title: ' Cat   tree\n large ',
          description: ' soft ',
          sku: 'SKU-1',
        }),
        taxonomy,
      ),
    );
    expect(listing).toEqual({
      assetId: 'A1',
      file: 'img/a.jpg',
      merchantId: 'm-1',
      declaredCategory: 'Pet Supplies',
      declaredCategoryId: 'animals.pets',
      title: 'Cat tree large',
      description: 'soft',
      sku: 'SKU-1',
      price: undefined,
      currency: undefined,
      attributes: {},
    });
  });

  it('leaves empty optional fields undefined', () => {
    const listing = listingOf(normalizeRow(row({ description: '   ', sku: '', price: ' ', currency: '' }), taxonomy));
    expect(listing.description).toBeUndefined();
    expect(listing.sku).toBeUndefined();
    expect(listing.price).toBeUndefined();
    expect(listing.currency).toBeUndefined();
  });

  it('rejects an empty required field, naming every empty one, and keeps what it could read', () => {
    const verdict = rejectionOf(normalizeRow(row({ title: '   ', merchant_id: '' }), taxonomy));
    expect(verdict.reason).toBe('INVALID_MANIFEST_ROW');
    expect(verdict.detail).toBe('empty required field: merchant_id, title');
    expect(verdict.partial).toMatchObject({ assetId: 'A1', file: 'img/a.jpg', declaredCategory: 'pets' });
    expect(verdict.partial.title).toBeUndefined();
  });

  it('treats a required field absent from the row like an empty one', () => {
    const verdict = rejectionOf(normalizeRow({ rowNumber: 1, fields: {} }, taxonomy));
    expect(verdict.detail).toBe(`empty required field: ${REQUIRED_COLUMNS.join(', ')}`);
  });

  it.each([
    ['12.50', 12.5],
    ['0', 0],
    [' 7 ', 7],
    ['1999.9999', 1999.9999],
  ])('accepts the price %j as %d', (raw, expected) => {
    expect(listingOf(normalizeRow(row({ price: raw }), taxonomy)).price).toBe(expected);
  });

  it.each(['-1', 'abc', '1e3', '12.', '.5', '0x10', 'Infinity'])('rejects the price %j', (raw) => {
    const verdict = rejectionOf(normalizeRow(row({ price: raw }), taxonomy));
    expect(verdict.reason).toBe('INVALID_MANIFEST_ROW');
    expect(verdict.detail).toBe(`price "${raw}" is not a non-negative decimal number`);
  });

  it.each([
    ['1,000', /is ambiguous: "," followed by three digits may separate thousands or decimals; write 1000 or 1.000/],
    ['0,500', /is ambiguous/],
    ['12.12345', /do not group three digits/],
    ['1,2,3', /not a number/],
    ['1.299.00', /mixes separators/],
    ['$5', /several currencies; give the currency column/],
  ])('rejects the price %j, saying why', (raw, why) => {
    const verdict = rejectionOf(normalizeRow(row({ price: raw }), taxonomy));
    expect(verdict.reason).toBe('INVALID_MANIFEST_ROW');
    expect(verdict.detail).toMatch(why);
  });

  it.each([
    ['1,299.00', undefined, 1299, undefined],
    ['1.299,00', 'EUR', 1299, 'EUR'],
    ['12,50', undefined, 12.5, undefined],
    ['1 000', undefined, 1000, undefined],
    ['1\u00a0299,95', 'EUR', 1299.95, 'EUR'],
    ["1'299.50", 'CHF', 1299.5, 'CHF'],
    ['1.299.000', undefined, 1299000, undefined],
    // A dot before three digits is the contract's decimal point, as it always was (only a comma is ambiguous).
    ['1.299', undefined, 1.299, undefined],
    ['€12', undefined, 12, 'EUR'],
    ['12 €', 'eur', 12, 'EUR'],
    ['£7.50', undefined, 7.5, 'GBP'],
    ['$12', 'CAD', 12, 'CAD'],
    ['¥1200', 'JPY', 1200, 'JPY'],
  ])('reads the price %j (currency %j) as %d %s', (raw, currency, value, code) => {
    const listing = listingOf(normalizeRow(row(currency === undefined ? { price: raw } : { price: raw, currency }), taxonomy));
    expect(listing.price).toBe(value);
    expect(listing.currency).toBe(code);
  });

  it('refuses a currency sign the currency column contradicts', () => {
    expect(rejectionOf(normalizeRow(row({ price: '€12', currency: 'USD' }), taxonomy)).detail).toBe('price "€12" is in EUR but the currency column says USD');
    expect(rejectionOf(normalizeRow(row({ price: '$12', currency: 'EUR' }), taxonomy)).detail).toMatch(/not a sign of EUR/);
  });

  it('upper-cases a valid currency', () => {
    expect(listingOf(normalizeRow(row({ currency: 'usd' }), taxonomy)).currency).toBe('USD');
    expect(listingOf(normalizeRow(row({ currency: ' Eur ' }), taxonomy)).currency).toBe('EUR');
  });

  it.each(['US', 'USDX', 'us1', '€', 'U S'])('rejects the currency %j', (raw) => {
    const verdict = rejectionOf(normalizeRow(row({ currency: raw }), taxonomy));
    expect(verdict.reason).toBe('INVALID_MANIFEST_ROW');
    expect(verdict.detail).toMatch(/^currency ".*" is not a three-letter ISO 4217 code$/);
  });

  it('rejects an unknown category with UNKNOWN_CATEGORY, naming it and the taxonomy version', () => {
    const verdict = rejectionOf(normalizeRow(row({ declared_category: 'Spaceships' }), taxonomy));
    expect(verdict.reason).toBe('UNKNOWN_CATEGORY');
    expect(verdict.detail).toBe(`declared category "Spaceships" is not in taxonomy ${taxonomy.version}`);
    expect(verdict.partial.declaredCategory).toBe('Spaceships');
  });

  it('judges problems in order: unreadable, empty field, price, currency, category', () => {
    const everything = { price: 'abc', currency: 'x', declared_category: 'nope' };
    expect(rejectionOf(normalizeRow({ ...row(everything), unreadable: 'is broken' }, taxonomy)).detail).toBe('manifest row 1 is broken');
    expect(rejectionOf(normalizeRow(row({ ...everything, title: '' }), taxonomy)).detail).toBe('empty required field: title');
    expect(rejectionOf(normalizeRow(row(everything), taxonomy)).detail).toMatch(/^price/);
    expect(rejectionOf(normalizeRow(row({ currency: 'x', declared_category: 'nope' }), taxonomy)).detail).toMatch(/^currency/);
  });

  it('keeps unknown columns as attributes (trimmed), and never known columns', () => {
    const listing = listingOf(normalizeRow(row({ colour: '  deep   red ', size_cm: '40', sku: 'S1', price: '3' }), taxonomy));
    expect(listing.attributes).toEqual({ colour: 'deep red', size_cm: '40' });
  });

  it('keeps attributes on a rejected row too', () => {
    const verdict = rejectionOf(normalizeRow(row({ declared_category: 'nope', colour: 'red' }), taxonomy));
    expect(verdict.partial.attributes).toEqual({ colour: 'red' });
  });

  it('end to end: a CSV manifest with an "Asset ID" header yields assetId', () => {
    const rows = rowsOf(parseManifest(archive({ 'manifest.csv': 'Asset ID,File,Merchant ID,Declared Category,Title,Colour\nA9,x.jpg,m,Boats,Dinghy,blue\n' })));
    const listing = listingOf(normalizeRow(rows[0]!, taxonomy));
    expect(listing).toMatchObject({ assetId: 'A9', file: 'x.jpg', declaredCategoryId: 'vehicles.boats', attributes: { colour: 'blue' } });
  });
});

describe('normalizeManifestPath', () => {
  it('turns backslashes into forward slashes', () => {
    expect(normalizeManifestPath('img\\sub\\a.jpg')).toBe('img/sub/a.jpg');
  });

  it('drops every leading "./" but nothing else', () => {
    expect(normalizeManifestPath('./a.jpg')).toBe('a.jpg');
    expect(normalizeManifestPath('././a.jpg')).toBe('a.jpg');
    expect(normalizeManifestPath('.\\img\\a.jpg')).toBe('img/a.jpg');
    expect(normalizeManifestPath('img/./a.jpg')).toBe('img/./a.jpg');
    expect(normalizeManifestPath('../a.jpg')).toBe('../a.jpg');
    expect(normalizeManifestPath('.hidden.jpg')).toBe('.hidden.jpg');
  });

  it('composes to NFC', () => {
    const nfd = 'caf\u0065\u0301/cre\u0300me.jpg';
    expect(normalizeManifestPath(nfd)).toBe('caf\u00e9/cr\u00e8me.jpg');
  });

  it('is idempotent', () => {
    for (const path of ['./a\\b.jpg', '.\\.\\x.png', 'a/b/c.jpg']) {
      expect(normalizeManifestPath(normalizeManifestPath(path))).toBe(normalizeManifestPath(path));
    }
  });
});

describe('normalizeRow: field size limits', () => {
  it('truncates a 40 KB description to its limit and records the original size', () => {
    const listing = listingOf(normalizeRow(row({ description: 'a'.repeat(40_960) }), taxonomy));
    expect(listing.description).toBe('a'.repeat(LISTING_FIELD_LIMITS.description.maxBytes));
    expect(listing.truncated).toEqual({ description: 40_960 });
  });

  it('cuts on a grapheme boundary: never inside a UTF-8 sequence, a surrogate pair or an emoji sequence', () => {
    const family = '👨‍👩‍👧'; // 18 bytes: three surrogate pairs joined by two zero-width joiners
    const title = listingOf(normalizeRow(row({ title: `x${family.repeat(100)}` }), taxonomy)).title;
    expect(Buffer.byteLength(title)).toBeLessThanOrEqual(LISTING_FIELD_LIMITS.title.maxBytes);
    expect(title.slice(1)).toBe(family.repeat((title.length - 1) / family.length));
    expect(Buffer.byteLength(title)).toBeGreaterThan(LISTING_FIELD_LIMITS.title.maxBytes - 18);
  });

  it('counts sizes as JSON text: a quote counts two bytes', () => {
    const listing = listingOf(normalizeRow(row({ title: '"'.repeat(300) }), taxonomy));
    expect(listing.title).toBe('"'.repeat(256));
    expect(listing.truncated).toEqual({ title: 600 });
  });

  it('rejects a row whose identity field is too long, naming field and limit, and keeps a cut copy on the record', () => {
    const verdict = rejectionOf(normalizeRow(row({ asset_id: 'A'.repeat(129), merchant_id: 'é'.repeat(70) }), taxonomy));
    expect(verdict.reason).toBe('INVALID_MANIFEST_ROW');
    expect(verdict.detail).toBe('asset_id is 129 bytes, above the 128-byte limit; merchant_id is 140 bytes, above the 128-byte limit');
    expect(verdict.partial.assetId).toBe('A'.repeat(128));
    expect(verdict.partial.merchantId).toBe('é'.repeat(64));
    expect(verdict.partial.truncated).toEqual({ asset_id: 129, merchant_id: 140 });
  });

  it.each(['file', 'sku', 'declared_category'] as const)('rejects a %s above its limit rather than cutting it', (field) => {
    const verdict = rejectionOf(normalizeRow(row({ [field]: 'x'.repeat(LISTING_FIELD_LIMITS[field].maxBytes + 1) }), taxonomy));
    expect(verdict.reason).toBe('INVALID_MANIFEST_ROW');
    expect(verdict.detail).toMatch(new RegExp(`^${field} is \\d+ bytes, above the \\d+-byte limit$`));
  });

  it('bounds attributes: a too-long name is dropped, a long value cut, and the ones past the total dropped, all recorded', () => {
    const longName = 'n'.repeat(ATTRIBUTE_LIMITS.maxNameBytes + 1);
    const fields: Record<string, string> = { colour: 'red', [longName]: 'dropped', notes: 'v'.repeat(2000) };
    for (let i = 0; i < 10; i += 1) fields[`extra_${i}`] = 'w'.repeat(400);
    const listing = listingOf(normalizeRow(row(fields), taxonomy));
    expect(listing.attributes['colour']).toBe('red');
    expect(listing.attributes[longName]).toBeUndefined();
    expect(listing.attributes['notes']).toBe('v'.repeat(ATTRIBUTE_LIMITS.maxValueBytes));
    expect(Buffer.byteLength(JSON.stringify(listing.attributes))).toBeLessThanOrEqual(ATTRIBUTE_LIMITS.maxTotalBytes);
    const kept = Object.keys(listing.attributes);
    expect(kept.slice(0, 2)).toEqual(['colour', 'notes']);
    expect(kept.length).toBeLessThan(12);
    const original = Object.fromEntries(Object.entries(fields));
    expect(listing.truncated).toEqual({ 'attributes.notes': 2000, attributes: Buffer.byteLength(JSON.stringify(original)) });
  });

  it('records nothing when nothing was cut', () => {
    expect(listingOf(normalizeRow(row({ description: 'short', colour: 'red' }), taxonomy))).not.toHaveProperty('truncated');
  });
});
