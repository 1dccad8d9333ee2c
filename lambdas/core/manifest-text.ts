/**
 * The manifest's bytes as text. Spreadsheets export CSVs in more than one encoding, and a wrong guess is silent
 * damage (`Café` read as `CafÃ©`, `Crème` lost to U+FFFD), so the encoding is decided from the bytes and named on the
 * batch record:
 *
 * - a byte-order mark decides: UTF-8 (EF BB BF), UTF-16 LE (FF FE), UTF-16 BE (FE FF); a BOM-less UTF-16 file is
 *   recognised by its first character (an ASCII header name) having a NUL byte beside it;
 * - otherwise the bytes must be valid UTF-8 (checked strictly, never replaced);
 * - bytes that are not UTF-8 and hold **no** valid multi-byte UTF-8 sequence at all are a single-byte legacy
 *   export (Excel's "CSV" on Windows): decoded as Windows-1252, with a note saying so, because refusing the most
 *   common spreadsheet export would only make the merchant re-save it. Windows-1252 is a superset of the printable
 *   Latin-1 range, so ISO-8859-1 files read the same way;
 * - bytes that mix valid UTF-8 sequences with invalid ones (a file damaged, or concatenated from two encodings), or
 *   hit one of the five bytes Windows-1252 leaves undefined, are refused (`MANIFEST_UNREADABLE`) naming the line and
 *   byte: guessing there would corrupt text without anyone noticing.
 */

export type ManifestEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export type DecodedManifest = { ok: true; text: string; encoding: ManifestEncoding; bom: boolean; note?: string } | { ok: false; message: string };

/** Bytes Windows-1252 does not define: a file holding them is not Windows-1252 either. */
const UNDEFINED_IN_WINDOWS_1252 = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

export function decodeManifestText(bytes: Buffer): DecodedManifest {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return utf8(bytes.subarray(3), true);
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return utf16(bytes.subarray(2), 'utf-16le', true);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return utf16(bytes.subarray(2), 'utf-16be', true);
  // A header starts with a printable ASCII character, which UTF-16 pairs with a NUL byte.
  if (bytes.length >= 2 && bytes[0] !== 0 && bytes[1] === 0) return utf16(bytes, 'utf-16le', false);
  if (bytes.length >= 2 && bytes[0] === 0 && bytes[1] !== 0) return utf16(bytes, 'utf-16be', false);
  return utf8(bytes, false);
}

function utf8(bytes: Buffer, bom: boolean): DecodedManifest {
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), encoding: 'utf-8', bom };
  } catch {
    return legacy(bytes);
  }
}

function utf16(bytes: Buffer, encoding: 'utf-16le' | 'utf-16be', bom: boolean): DecodedManifest {
  if (bytes.length % 2 !== 0) return { ok: false, message: `is ${encoding.toUpperCase()} with an odd number of bytes (truncated)` };
  try {
    const text = new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes);
    return { ok: true, text, encoding, bom, note: `decoded as ${encoding.toUpperCase()}${bom ? ' (byte-order mark)' : ' (no byte-order mark)'}` };
  } catch {
    return { ok: false, message: `is not valid ${encoding.toUpperCase()} (an unpaired surrogate)` };
  }
}

/** Not UTF-8: Windows-1252 when nothing in it looks like UTF-8, else refused where it first goes wrong. */
function legacy(bytes: Buffer): DecodedManifest {
  const scan = scanUtf8(bytes);
  if (scan.validMultiByte > 0) {
    return { ok: false, message: `is not valid UTF-8: ${where(bytes, scan.firstInvalid)} mixes with valid UTF-8 text; save it as UTF-8` };
  }
  const undefinedAt = bytes.findIndex((byte) => UNDEFINED_IN_WINDOWS_1252.has(byte));
  if (undefinedAt >= 0) {
    return { ok: false, message: `is neither UTF-8 nor Windows-1252: ${where(bytes, undefinedAt)}; save it as UTF-8` };
  }
  const text = decodeWindows1252(bytes);
  return {
    ok: true,
    text,
    encoding: 'windows-1252',
    bom: false,
    note: `not UTF-8 (${where(bytes, scan.firstInvalid)}); decoded as Windows-1252 — save it as UTF-8 to be sure of accented text`,
  };
}

/**
 * 0x80–0x9F are where Windows-1252 differs from ISO-8859-1 (curly quotes, €, dashes). Decoded by hand: Node 20's
 * `TextDecoder('windows-1252')` reads these bytes as Latin-1 C1 controls (nodejs/node#56542), which would put
 * invisible control characters where the merchant typed “quotes” and €.
 */
const WINDOWS_1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d, 0x017d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c,
  0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d, 0x017e, 0x0178,
];

function decodeWindows1252(bytes: Buffer): string {
  let text = '';
  for (let start = 0; start < bytes.length; start += 8192) {
    const codes = Array.from(bytes.subarray(start, start + 8192), (byte) => (byte >= 0x80 && byte <= 0x9f ? WINDOWS_1252_HIGH[byte - 0x80]! : byte));
    text += String.fromCharCode(...codes);
  }
  return text;
}

function where(bytes: Buffer, at: number): string {
  let line = 1;
  for (let i = 0; i < at; i += 1) if (bytes[i] === 0x0a) line += 1;
  return `byte 0x${(bytes[at] ?? 0).toString(16).padStart(2, '0')} on line ${line}`;
}

/** Counts well-formed multi-byte UTF-8 sequences and finds the first byte that is not part of one. */
function scanUtf8(bytes: Buffer): { validMultiByte: number; firstInvalid: number } {
  let validMultiByte = 0;
  let firstInvalid = -1;
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    let ok = length > 0 && i + length <= bytes.length;
    for (let k = 1; ok && k < length; k += 1) ok = (bytes[i + k]! & 0xc0) === 0x80;
    if (ok) {
      validMultiByte += 1;
      i += length;
    } else {
      if (firstInvalid < 0) firstInvalid = i;
      i += 1;
    }
  }
  return { validMultiByte, firstInvalid };
}
