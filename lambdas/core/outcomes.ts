/**
 * The closed lists of outcomes and reason codes. Every asset of a batch ends in exactly one outcome with zero or more
 * reason codes; the README's contract table is generated from the descriptions here.
 */

export const OUTCOMES = ['AUTO_PASS', 'FLAGGED', 'NEEDS_REVIEW', 'REJECTED_INPUT', 'FAILED'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const OUTCOME_DESCRIPTIONS: Record<Outcome, string> = {
  AUTO_PASS: 'The image supports the declared category and nothing risky was found.',
  FLAGGED: 'Likely misrepresentation: the image contradicts the declared category. Goes to human review.',
  NEEDS_REVIEW: 'Uncertain or policy-sensitive. Goes to human review.',
  REJECTED_INPUT: 'The asset itself is unusable (bad row, missing/corrupt/unsafe file). Not reviewed; fix and resubmit.',
  FAILED: 'A processing error after retries. Listed in reports, not reviewed; a rerun of the batch retries it.',
};

/** Outcomes whose assets are sent to the human review queue. */
export const REVIEWABLE_OUTCOMES: ReadonlySet<Outcome> = new Set<Outcome>(['FLAGGED', 'NEEDS_REVIEW']);

export const REASON_CODES = {
  // triage
  LOW_CONFIDENCE: 'The category model is not confident about any category.',
  CATEGORY_MISMATCH: 'The image is confidently predicted as a category unrelated to the declared one.',
  TEXT_CATEGORY_CONFLICT: 'Title/description mention other categories and not the declared one.',
  TEXT_IMAGE_CONFLICT: 'The listing text names a category the image confidently contradicts.',
  POLICY_SENSITIVE: 'A policy class scored at or above its review threshold.',
  POLICY_BORDERLINE: 'A policy class scored in its borderline band (below the review threshold): a person decides.',
  MERCHANT_PROFILE_ANOMALY: 'The declared category is rare in this merchant’s earlier batches.',
  DUPLICATE_IMAGE_OTHER_MERCHANT: 'The same (or a near-identical) image is listed by another merchant.',
  DUPLICATE_IMAGE_OTHER_CATEGORY: 'The same (or a near-identical) image is listed under another category.',
  // input: manifest rows
  INVALID_MANIFEST_ROW: 'A required field is empty or a value is malformed (e.g. a non-numeric price).',
  DUPLICATE_ASSET_ID: 'A later manifest row repeats an asset_id already used in the batch.',
  UNKNOWN_CATEGORY: 'The declared category is not in the taxonomy (by id, name or synonym).',
  MISSING_FILE: 'The manifest row names a file that is not in the archive.',
  ORPHAN_FILE: 'An archive file that no manifest row names.',
  // input: files
  UNSAFE_PATH: 'The archive entry path is absolute, escapes the archive (../) or is a symlink.',
  DUPLICATE_ARCHIVE_ENTRY: 'The archive holds the same path twice; only the first copy is used.',
  EMPTY_FILE: 'The file is zero bytes.',
  FILE_TOO_LARGE: 'The file exceeds the per-file size limit.',
  SUSPICIOUS_COMPRESSION: 'The archive entry compresses implausibly well (zip-bomb guard); it was not inflated.',
  UNSUPPORTED_FORMAT: 'The file is not a supported image format (JPEG, PNG, WebP, AVIF, GIF, BMP).',
  UNSUPPORTED_FORMAT_HEIC: 'The file is HEIC/HEIF (iPhone photos), which is not decoded: export it as JPEG and resubmit.',
  CORRUPT_IMAGE: 'The file claims a supported format but cannot be decoded.',
  IMAGE_TOO_LARGE: 'The image dimensions exceed the pixel limit (checked from the header, before decoding).',
  // processing
  MODEL_ERROR: 'The model endpoint answered with an error after retries.',
  PAYLOAD_TOO_LARGE: 'The image could not be downscaled to fit the endpoint’s payload limit.',
  PROCESSING_ERROR: 'An unexpected error while processing this asset.',
  NOT_PROCESSED: 'The asset was expected but no stage recorded an outcome (e.g. its map batch failed).',
} as const;

export type ReasonCode = keyof typeof REASON_CODES;
export const REASON_CODE_LIST = Object.keys(REASON_CODES) as ReasonCode[];

/** Severity order used when combining signals into one outcome: the most severe wins. */
const SEVERITY: Record<Outcome, number> = { AUTO_PASS: 0, NEEDS_REVIEW: 1, FLAGGED: 2, FAILED: 3, REJECTED_INPUT: 4 };

export function mostSevere(a: Outcome, b: Outcome): Outcome {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

export function emptyOutcomeCounts(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((outcome) => [outcome, 0])) as Record<Outcome, number>;
}
