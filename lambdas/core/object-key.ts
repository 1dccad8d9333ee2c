/**
 * Object keys as events carry them. S3 event notifications URL-encode keys form-style (`red+flower.zip` for
 * "red flower.zip", `caf%C3%A9.zip` for "café.zip"); EventBridge's "Object Created" events are documented with raw
 * keys, but which form a given integration hands over is not something to bet a batch on. So both are tried.
 */

/**
 * The keys to try for an event's key, in order: the key as given, then its form-decoded reading when that differs
 * and is well-formed. As given comes first because a raw key may itself contain `+` or `%` (`a+b.zip` read as
 * encoded would be "a b.zip"); an encoded key is rarely also the name of another object in the same bucket. When both
 * exist, the key as given wins.
 */
export function objectKeyCandidates(key: string): string[] {
  const decoded = formDecode(key);
  return decoded === undefined || decoded === key ? [key] : [key, decoded];
}

/** `application/x-www-form-urlencoded` decoding (`+` is a space); undefined for a malformed `%` escape. */
export function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
