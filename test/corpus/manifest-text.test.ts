import { describe, expect, it } from 'vitest';
import { decodeManifestText } from '../../lambdas/core/manifest-text';
import { sqsSafeJson } from '../../lambdas/core/sqs-body';

const text = 'asset_id,title\nA1,Crème brûlée\n';

describe('decodeManifestText', () => {
  it('reads UTF-8 with and without a BOM, and says nothing about it', () => {
    expect(decodeManifestText(Buffer.from(text))).toEqual({ ok: true, text, encoding: 'utf-8', bom: false });
    expect(decodeManifestText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]))).toEqual({ ok: true, text, encoding: 'utf-8', bom: true });
  });

  it('reads UTF-16 LE and BE, with a BOM or recognised by the NUL beside the first letter', () => {
    const le = Buffer.from(text, 'utf16le');
    const be = Buffer.from(le);
    for (let i = 0; i < be.length; i += 2) [be[i], be[i + 1]] = [be[i + 1]!, be[i]!];
    expect(decodeManifestText(Buffer.concat([Buffer.from([0xff, 0xfe]), le]))).toMatchObject({ ok: true, text, encoding: 'utf-16le', bom: true });
    expect(decodeManifestText(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).toMatchObject({ ok: true, text, encoding: 'utf-16be', bom: true });
    expect(decodeManifestText(le)).toMatchObject({ ok: true, text, encoding: 'utf-16le', bom: false, note: expect.stringContaining('no byte-order mark') });
    expect(decodeManifestText(be)).toMatchObject({ ok: true, text, encoding: 'utf-16be', bom: false });
  });

  it('decodes a legacy single-byte export as Windows-1252, with a note naming the first non-UTF-8 byte', () => {
    const decoded = decodeManifestText(Buffer.from([...Buffer.from('a,b\n1,'), 0x93, 0x80, 0x20, 0x35, 0x94]));
    expect(decoded).toMatchObject({ ok: true, text: 'a,b\n1,“€ 5”', encoding: 'windows-1252' });
    expect(decoded.ok && decoded.note).toBe('not UTF-8 (byte 0x93 on line 2); decoded as Windows-1252 — save it as UTF-8 to be sure of accented text');
  });

  it('refuses bytes that mix valid UTF-8 with invalid sequences, undefined Windows-1252 bytes and broken UTF-16', () => {
    expect(decodeManifestText(Buffer.from([...Buffer.from('é\n'), 0xe9, 0x0a]))).toEqual({
      ok: false,
      message: 'is not valid UTF-8: byte 0xe9 on line 2 mixes with valid UTF-8 text; save it as UTF-8',
    });
    expect(decodeManifestText(Buffer.from([0x61, 0x81, 0x62]))).toMatchObject({
      ok: false,
      message: expect.stringContaining('neither UTF-8 nor Windows-1252: byte 0x81'),
    });
    expect(decodeManifestText(Buffer.from([0xff, 0xfe, 0x61, 0x00, 0x62]))).toMatchObject({
      ok: false,
      message: expect.stringContaining('odd number of bytes'),
    });
    expect(decodeManifestText(Buffer.from([0xff, 0xfe, 0x61, 0x00, 0x00, 0xd8]))).toMatchObject({
      ok: false,
      message: expect.stringContaining('unpaired surrogate'),
    });
  });
});

describe('sqsSafeJson', () => {
  it('writes characters SQS or its stand-in refuse as escapes, and parses back to the same value', () => {
    const value = { title: 'Boot ⛵🚤 👨‍👩‍👧 \uFFFF\uFFFE قارب', lone: '\uD800' };
    const body = sqsSafeJson(value);
    expect(/[\uD800-\uDFFF\uFFFE\uFFFF]/.test(body)).toBe(false);
    expect(body).toContain('\\ud83d\\udea4');
    expect(JSON.parse(body)).toEqual(value);
  });
});
