/**
 * SQS accepts only #x9, #xA, #xD, #x20–#xD7FF, #xE000–#xFFFD and #x10000–#x10FFFF in a message body: U+FFFE and
 * U+FFFF in listing text are refused outright (`InvalidMessageContents`, the send fails and the stage with it), and
 * fauxqs, the local stand-in, also refuses every character above U+FFFF (it tests UTF-16 code units), i.e. every
 * emoji. A JSON body written with those characters as `\uXXXX` escapes is plain ASCII where it matters and parses to
 * the very same value, so merchant text (emoji, RTL, stray non-characters) can never make a review message unsendable.
 */
export function sqsSafeJson(value: unknown): string {
  // JSON.stringify already escapes control characters and lone surrogates; what is left to escape is surrogate pairs
  // (characters above U+FFFF) and the two non-characters.
  return JSON.stringify(value).replace(/[\uD800-\uDFFF\uFFFE\uFFFF]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
