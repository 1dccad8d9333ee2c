/**
 * Prices as merchants write them. Spreadsheets format prices by locale (`1,299.00`, `1.299,00`, `12,50`, `1 299,00`)
 * and often keep the currency sign (`€12`, `12 €`). The rule: the **last** `.` or `,` is the decimal separator when
 * one to four digits follow it; every other `.`, `,`, space, NBSP, thin space or `'` is a thousands separator and
 * must group three digits. A plain `12.5` / `1.299` keeps the contract's meaning (a dot is the decimal point, up to
 * four decimals). A single comma followed by exactly three digits (`1,299`) could be either and is refused as
 * ambiguous rather than guessed (a thousandfold error in a price is worse than a rejected row).
 * A currency sign is accepted when it names one currency (`€` EUR, `£` GBP, `₹` INR, `₩` KRW, `₺` TRY, `₽` RUB,
 * `₪` ILS, `₫` VND, `₱` PHP, `₴` UAH) or agrees with the currency column (`$` with USD, CAD, AUD, …; `¥` with JPY
 * or CNY); a sign the currency column contradicts, or `$`/`¥` with no currency column, is refused.
 */

export type ParsedPrice = { ok: true; value: number; currency?: string } | { ok: false; reason: string };

const SINGLE_CURRENCY_SIGNS: Readonly<Record<string, string>> = {
  '€': 'EUR',
  '£': 'GBP',
  '₹': 'INR',
  '₩': 'KRW',
  '₺': 'TRY',
  '₽': 'RUB',
  '₪': 'ILS',
  '₫': 'VND',
  '₱': 'PHP',
  '₴': 'UAH',
};
const SHARED_CURRENCY_SIGNS: Readonly<Record<string, readonly string[]>> = {
  $: ['USD', 'CAD', 'AUD', 'NZD', 'SGD', 'HKD', 'MXN', 'TWD', 'ARS', 'CLP', 'COP'],
  '¥': ['JPY', 'CNY'],
};
const SIGN = /^([€£₹₩₺₽₪₫₱₴$¥])\s*|\s*([€£₹₩₺₽₪₫₱₴$¥])$/u;
const GROUPING = /[\s\u00a0\u202f']/gu;

/** `raw` is trimmed and not empty; `currencyColumn` is the row's currency (upper-cased) when it has one. */
export function parsePrice(raw: string, currencyColumn: string | undefined): ParsedPrice {
  let text = raw;
  let currency: string | undefined;
  const sign = SIGN.exec(text);
  if (sign !== null) {
    const symbol = (sign[1] ?? sign[2])!;
    text = text.replace(SIGN, '');
    const single = SINGLE_CURRENCY_SIGNS[symbol];
    if (single !== undefined) {
      if (currencyColumn !== undefined && currencyColumn !== single) {
        return { ok: false, reason: `price "${raw}" is in ${single} but the currency column says ${currencyColumn}` };
      }
      currency = single;
    } else {
      const candidates = SHARED_CURRENCY_SIGNS[symbol] ?? [];
      if (currencyColumn === undefined) {
        return { ok: false, reason: `price "${raw}": "${symbol}" is used by several currencies; give the currency column (e.g. ${candidates[0]})` };
      }
      if (!candidates.includes(currencyColumn)) {
        return { ok: false, reason: `price "${raw}" uses "${symbol}", which is not a sign of ${currencyColumn}` };
      }
    }
  }
  const value = parseAmount(text.trim());
  if (typeof value === 'string') return { ok: false, reason: `price "${raw}" ${value}` };
  return currency === undefined ? { ok: true, value } : { ok: true, value, currency };
}

/** A non-negative number, or why not. */
function parseAmount(text: string): number | string {
  if (/^\d+(\.\d{1,4})?$/.test(text)) return Number(text);
  if (!/^\d[\d.,\s\u00a0\u202f']*$/u.test(text) || /\D$/.test(text)) return 'is not a non-negative decimal number';
  const lastSeparator = Math.max(text.lastIndexOf('.'), text.lastIndexOf(','));
  const digitsAfter = lastSeparator < 0 ? 0 : text.length - lastSeparator - 1;
  const separators = (text.match(/[.,]/g) ?? []).length;
  const decimalChar = lastSeparator < 0 ? undefined : text[lastSeparator];
  // The last separator is decimal unless it is followed by exactly three digits (then it groups thousands).
  const lastIsDecimal = lastSeparator >= 0 && digitsAfter >= 1 && digitsAfter <= 4 && !(digitsAfter === 3 && otherSeparatorsAllEqual(text, lastSeparator));
  if (decimalChar === ',' && digitsAfter === 3 && separators === 1 && !/[\s\u00a0\u202f']/u.test(text)) {
    return `is ambiguous: "${decimalChar}" followed by three digits may separate thousands or decimals; write ${text.replace(/[.,]/, '')} or ${text.replace(',', '.')}`;
  }
  const integerPart = lastIsDecimal ? text.slice(0, lastSeparator) : text;
  const fraction = lastIsDecimal ? text.slice(lastSeparator + 1) : '';
  const groupChars = new Set((integerPart.match(/[.,\s\u00a0\u202f']/gu) ?? []).map((c) => (/[\s\u00a0\u202f']/u.test(c) ? ' ' : c)));
  if (groupChars.size > 1 || (decimalChar !== undefined && lastIsDecimal && groupChars.has(decimalChar))) {
    return 'mixes separators in a way that is not a number';
  }
  const groups = integerPart.replace(GROUPING, ' ').split(/[., ]/);
  if (groups.length > 1 && (groups[0]!.length < 1 || groups[0]!.length > 3 || groups.slice(1).some((group) => group.length !== 3))) {
    return 'has thousands separators that do not group three digits';
  }
  const value = Number(`${groups.join('')}${fraction === '' ? '' : `.${fraction}`}`);
  return Number.isFinite(value) ? value : 'is not a non-negative decimal number';
}

/** `1.299.000` (all separators equal, each before three digits) is grouping only. */
function otherSeparatorsAllEqual(text: string, lastSeparator: number): boolean {
  const separators = text.match(/[.,]/g) ?? [];
  return separators.length > 1 && separators.every((c) => c === text[lastSeparator]);
}
