/**
 * DynamoDB TTL for items that may expire (lib/constructs/retention.ts enables it on the table). Only review claims
 * carry the attribute: a claim is worthless once it lapsed, and an abandoned reviewer's claims would otherwise stay
 * forever. Records, decisions, the audit log and identities never get it.
 */

/** The table's TTL attribute: epoch seconds after which DynamoDB deletes the item (within about two days). */
export const TTL_ATTRIBUTE = 'expiresAtEpoch';

/** Grace after a claim lapsed before TTL may delete it, so `review decide` can still say CLAIM_EXPIRED. */
export const CLAIM_TTL_GRACE_SECONDS = 24 * 60 * 60;

/** The TTL value of a claim that lapses at `expiresAt` (ISO 8601). */
export function claimTtlEpoch(expiresAt: string): number {
  return Math.floor(Date.parse(expiresAt) / 1000) + CLAIM_TTL_GRACE_SECONDS;
}
