/** Text normalization shared by manifest parsing, category resolution and keyword matching. */

/** Unicode NFC, case-folded, punctuation turned into spaces, whitespace collapsed and trimmed. */
export function normalizeText(value: string): string {
  return value
    .normalize('NFC')
    .toLocaleLowerCase('en-US')
    .replace(/[^\p{L}\p{M}\p{N}.]+/gu, ' ')
    .replace(/(?<!\p{N})\.|\.(?!\p{N})/gu, (match, offset: number, whole: string) =>
      // keep dots inside dotted ids such as "animals.pets"; drop sentence punctuation
      /\p{L}/u.test(whole[offset - 1] ?? '') && /\p{L}/u.test(whole[offset + 1] ?? '') ? match : ' ',
    )
    .replace(/\s+/g, ' ')
    .trim();
}

/** Trim + NFC for free text that is stored as the merchant wrote it. */
export function cleanText(value: string): string {
  return value.normalize('NFC').replace(/\s+/g, ' ').trim();
}

/** Whole-word (or whole-phrase) match of `phrase` inside already-normalized `normalizedText`. */
export function containsPhrase(normalizedText: string, phrase: string): boolean {
  const needle = normalizeText(phrase);
  if (needle === '') return false;
  return ` ${normalizedText} `.includes(` ${needle} `);
}
