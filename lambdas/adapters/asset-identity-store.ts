/**
 * Asset identity across batches (core/asset-identity.ts) in the records table: one identity item per merchant +
 * asset_id, written only with conditional puts on its `version` (dynalite has no transactions, and none are needed):
 * of two batches racing for one asset, one write wins and the other re-reads and judges again.
 *
 * Order of writes, so a crash anywhere leaves something the next attempt finishes:
 *   1. the identity names the new owner (and `previousOwner` on a content change);
 *   2. Persist stores the record (it carries `supersedes`);
 *   3. the previous owner gets `supersededBy` (conditional: once), an audit entry says so, `previousOwner` is cleared.
 * A rerun after 1 sees the identity naming itself (`own`) and redoes 2–3 from `previousOwner`; a rerun after 2 finds its
 * record standing and redoes 3 from the record's `supersedes`.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { carryOver, judgeIdentity, recordIdentity, type AssetIdentityItem, type RecordKey } from '../core/asset-identity';
import { assetSk, batchPk, type AssetRecord } from '../core/records';
import { documentClient } from './aws-clients';
import { getAssetRecord } from './record-store';
import { setting } from './settings';

const table = (): string => setting('tableName');

/** Attempts at settling an identity before giving up (each lost race costs one). */
const MAX_IDENTITY_ATTEMPTS = 5;

function isConditionFailure(error: unknown): boolean {
  return (error as Error).name === 'ConditionalCheckFailedException';
}

async function conditional(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export async function getIdentity(key: RecordKey): Promise<AssetIdentityItem | undefined> {
  const response = await documentClient().send(new GetCommand({ TableName: table(), Key: key, ConsistentRead: true }));
  return response.Item as AssetIdentityItem | undefined;
}

/** Writes the identity if it is still at `expectedVersion` (undefined: if it does not exist yet). */
function putIdentity(item: AssetIdentityItem, expectedVersion: number | undefined): Promise<boolean> {
  return conditional(() =>
    documentClient().send(
      new PutCommand({
        TableName: table(),
        Item: item,
        ...(expectedVersion === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#version = :version',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':version': expectedVersion },
            }),
      }),
    ),
  );
}

/** Checks that nobody moved the identity since it was read (a carry-over must copy the current owner). */
function confirmIdentity(key: RecordKey, version: number, at: string): Promise<boolean> {
  return conditional(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: key,
        UpdateExpression: 'SET lastSeenAt = :at',
        ConditionExpression: '#version = :version',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':version': version, ':at': at },
      }),
    ),
  );
}

const ownerOf = (record: AssetRecord): AssetIdentityItem['owner'] => ({ pk: record.pk, sk: record.sk, batchId: record.batchId, assetKey: record.assetKey });

/**
 * The record Persist should store for a freshly triaged asset: as is (a new identity, or a rerun of its owner), carrying
 * the owner's decision (unchanged content), or marked as superseding the former owner (changed content, after this
 * asset became the owner). Records without an identity (no merchant or asset id, no image) are returned as they are.
 */
export async function settleIdentity(fresh: AssetRecord, now: string): Promise<AssetRecord> {
  const identity = recordIdentity(fresh);
  if (identity === undefined) return fresh;
  for (let attempt = 0; attempt < MAX_IDENTITY_ATTEMPTS; attempt += 1) {
    const current = await getIdentity(identity.key);
    const base = {
      ...identity.key,
      sk: 'IDENTITY' as const,
      recordType: 'ASSET_IDENTITY' as const,
      identityMerchantId: identity.merchantId,
      identityAssetId: identity.assetId,
    };
    const verdict = judgeIdentity(current, fresh, identity.digest);
    if (verdict.kind === 'new') {
      if (await putIdentity({ ...base, contentDigest: identity.digest, owner: ownerOf(fresh), version: 1, updatedAt: now }, undefined)) return fresh;
      continue;
    }
    if (verdict.kind === 'own') {
      const previous = current!.previousOwner;
      return previous === undefined ? fresh : { ...fresh, supersedes: { batchId: previous.batchId, assetKey: previous.assetKey, at: current!.updatedAt } };
    }
    const owner = verdict.kind === 'unchanged' ? verdict.owner : verdict.previous;
    const earlier = await getAssetRecord(owner.pk, owner.sk);
    // An owner that is gone (erased) or never got a standing decision cannot be carried: this asset takes over.
    const carriable = earlier !== undefined && earlier.outcome !== 'FAILED';
    if (verdict.kind === 'unchanged' && carriable) {
      if (await confirmIdentity(identity.key, current!.version, now)) return carryOver(fresh, earlier, now);
      continue;
    }
    const item: AssetIdentityItem = {
      ...base,
      contentDigest: identity.digest,
      owner: ownerOf(fresh),
      previousOwner: earlier === undefined ? undefined : owner,
      version: current!.version + 1,
      updatedAt: now,
    };
    if (await putIdentity(item, current!.version)) {
      return earlier === undefined ? fresh : { ...fresh, supersedes: { batchId: owner.batchId, assetKey: owner.assetKey, at: now } };
    }
  }
  throw new Error(`asset identity of ${fresh.batchId}/${fresh.assetKey} kept changing under concurrent writers (${MAX_IDENTITY_ATTEMPTS} attempts)`);
}

/**
 * Closes the superseded record's review (marks `supersededBy`, once), audits it and clears the identity's
 * `previousOwner`. Idempotent: reruns and retries find the mark in place and write nothing more. Returns whether
 * this call wrote the mark.
 */
export async function finishSupersede(stored: AssetRecord, now: string): Promise<boolean> {
  if (stored.supersedes === undefined) return false;
  const previousKey = { pk: batchPk(stored.supersedes.batchId), sk: assetSk(stored.supersedes.assetKey) };
  const link = { batchId: stored.batchId, assetKey: stored.assetKey, at: stored.supersedes.at };
  const marked = await conditional(() =>
    documentClient().send(
      new UpdateCommand({
        TableName: table(),
        Key: previousKey,
        UpdateExpression: 'SET supersededBy = :link',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(supersededBy)',
        ExpressionAttributeValues: { ':link': link },
      }),
    ),
  );
  if (marked) {
    await documentClient().send(
      new PutCommand({
        TableName: table(),
        Item: {
          pk: `AUDIT#${now.slice(0, 7)}`,
          sk: `${now}#${randomUUID()}`,
          recordType: 'REVIEW_AUDIT',
          at: now,
          actor: 'Persist',
          action: 'SUPERSEDED',
          batchId: stored.supersedes.batchId,
          assetKey: stored.supersedes.assetKey,
          details: { supersededBy: link, why: 'the asset (merchant + asset_id) came again with a changed image or listing' },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }
  const identity = recordIdentity(stored);
  if (identity !== undefined) {
    await conditional(() =>
      documentClient().send(
        new UpdateCommand({
          TableName: table(),
          Key: identity.key,
          UpdateExpression: 'REMOVE previousOwner',
          // OWNER is a DynamoDB reserved word.
          ConditionExpression: '#owner.pk = :pk AND #owner.sk = :sk',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':pk': stored.pk, ':sk': stored.sk },
        }),
      ),
    );
  }
  return marked;
}
