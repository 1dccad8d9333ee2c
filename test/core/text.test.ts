import { describe, expect, it } from 'vitest';
import { cleanText, containsPhrase, normalizeText } from '../../lambdas/core/text';

describe('normalizeText', () => {
  it('case-folds, turns punctuation into single spaces and trims', () => {
    expect(normalizeText('  Vintage   CAT-toy!!  (new)  ')).toBe('vintage cat toy new');
    expect(normalizeText("rock'n'roll_mug")).toBe('rock n roll mug');
    expect(normalizeText('tabs\tand\nnewlines\r\nhere')).toBe('tabs and newlines here');
  });

  it('composes to NFC, so NFD and NFC spellings normalize identically', () => {
    const nfd = 'Cafe\u0301 Cre\u0300me';
    const nfc = 'Caf\u00e9 Cr\u00e8me';
    expect(nfd).not.toBe(nfc);
    expect(normalizeText(nfd)).toBe('caf\u00e9 cr\u00e8me');
    expect(normalizeText(nfd)).toBe(normalizeText(nfc));
    expect(normalizeText('\u00c9COLE')).toBe('\u00e9cole');
  });

  it('keeps the dot inside dotted ids such as "animals.pets"', () => {
    expect(normalizeText('Animals.Pets')).toBe('animals.pets');
    expect(normalizeText('vehicles.boats.sail')).toBe('vehicles.boats.sail');
  });

  it('drops sentence dots and dots not between two letters', () => {
    expect(normalizeText('Pets.')).toBe('pets');
    expect(normalizeText('Great boat. Cheap.')).toBe('great boat cheap');
    expect(normalizeText('...hello...')).toBe('hello');
    expect(normalizeText('a . b')).toBe('a b');
    expect(normalizeText('size a.1')).toBe('size a 1');
  });

  it('keeps decimal points between digits', () => {
    expect(normalizeText('3.5 kg')).toBe('3.5 kg');
    expect(normalizeText('Firmware v1.2')).toBe('firmware v1.2');
  });

  it('keeps letters and digits of other scripts', () => {
    expect(normalizeText('Größe ٣ 東京')).toBe('größe ٣ 東京');
  });

  it('returns "" for empty, whitespace-only and punctuation-only input', () => {
    expect(normalizeText('')).toBe('');
    expect(normalizeText('   \t\n ')).toBe('');
    expect(normalizeText('!?-,;.')).toBe('');
  });

  it('is idempotent', () => {
    const samples = ['Animals.Pets', 'Great boat. Cheap.', 'e.g. a.1 b', '3.5 kg', 'Cafe\u0301!', ' x  y ', 'v1.2.', '.a.b.'];
    for (const sample of samples) {
      const once = normalizeText(sample);
      expect(normalizeText(once), sample).toBe(once);
    }
  });
});

describe('cleanText', () => {
  it('trims and collapses whitespace but keeps case and punctuation', () => {
    expect(cleanText('  Hello,\n\t  World!  ')).toBe('Hello, World!');
    expect(cleanText('A.B-C')).toBe('A.B-C');
  });

  it('composes to NFC', () => {
    expect(cleanText('Cafe\u0301')).toBe('Caf\u00e9');
  });

  it('returns "" for whitespace only', () => {
    expect(cleanText(' \r\n\t ')).toBe('');
  });
});

describe('containsPhrase', () => {
  it('matches whole words only', () => {
    expect(containsPhrase(normalizeText('Swiss watch, leather'), 'watch')).toBe(true);
    expect(containsPhrase(normalizeText('Product catalog 2024'), 'cat')).toBe(false);
    expect(containsPhrase(normalizeText('Two watches'), 'watch')).toBe(false);
    expect(containsPhrase(normalizeText('smartwatch'), 'watch')).toBe(false);
  });

  it('matches at the start, in the middle and at the end', () => {
    const text = normalizeText('cat toy for a cat and a cat');
    expect(containsPhrase(text, 'cat')).toBe(true);
    expect(containsPhrase('cat', 'cat')).toBe(true);
    expect(containsPhrase('toy cat', 'cat')).toBe(true);
  });

  it('matches multi-word phrases, normalizing the phrase first', () => {
    const text = normalizeText('Old FISHING-boat, needs paint');
    expect(containsPhrase(text, 'Fishing   Boat')).toBe(true);
    expect(containsPhrase(text, 'fishing boats')).toBe(false);
    expect(containsPhrase(text, 'boat needs')).toBe(true);
  });

  it('never matches an empty or punctuation-only phrase', () => {
    expect(containsPhrase('anything at all', '')).toBe(false);
    expect(containsPhrase('anything at all', ' -- ')).toBe(false);
    expect(containsPhrase('', '')).toBe(false);
  });
});

describe('normalizeText keeps words whole in scripts with combining marks', () => {
  it('does not split Devanagari or a dotted capital I', () => {
    expect(normalizeText('हिन्दी')).toBe('हिन्दी'.normalize('NFC'));
    expect(normalizeText('İstanbul').split(' ')).toHaveLength(1);
  });
});
