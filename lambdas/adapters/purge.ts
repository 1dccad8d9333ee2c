/**
 * Erasure of one merchant (`media-triage purge --merchant <id>`): everything the pipeline and the review loop stored
 * that names the merchant or one of its assets, on the local stand-ins or a deployed stack (the caller resolves the
 * names). Erasure wins over append-only: the decisions and audit entries about the merchant's assets carry its
 * listings and the reviewers' notes, so they go too; one new audit entry `PURGED` says what was removed, when and by
 * whom, with counts only (and the merchant id's sha256, never the id).
 *
 * Every step first finds what it would remove; only with `apply` does it remove it, so a dry run counts exactly what a
 * real run removes, and a second real run finds nothing. What it cannot reach: uploaded archives (`incoming/`, one
 * archive may hold several merchants: they expire by the retention rule), noncurrent object versions (expire by
 * `retention.noncurrentVersionDays`), and review messages in flight (a reviewer holds them: their claim is deleted,
 * and when the message comes back the review tools drop it, because its record is gone).
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { identityKey } from '../core/asset-identity';
import { currentReviewRevision, sentReviewRevision, type AssetRecord } from '../core/records';
import { isCurrentTask, reviewTaskId } from '../core/review-task';
import { documentClient, s3Client, sqsClient } from './aws-clients';
import { getObjectBytes, putObject } from './object-store';
import { listAssetRecords } from './record-store';
import { goldTaskId } from './review-work';

/** Index of asset records by merchant (lib/constructs/records-table.ts). */
const MERCHANT_INDEX = 'byMerchant';

export interface PurgeStores {
  tableName: string;
  dataBucket: string;
  reportsBucket: string;
  reviewQueueUrl: string;
}

export const PURGE_KINDS = [
  'records',
  'identities',
  'merchantProfiles',
  'stagedObjects',
  'modelInputs',
  'reviewMessages',
  'claims',
  'decisions',
  'auditEntries',
  'goldItems',
  'reportRows',
  'datasetLines',
  /** Other merchants' records, report rows and review messages that named the merchant (a duplicate match): scrubbed. */
  'references',
] as const;
export type PurgeKind = (typeof PURGE_KINDS)[number];
export type PurgeCounts = Record<PurgeKind, number>;

export interface PurgeResult {
  merchantId: string;
  dryRun: boolean;
  removed: PurgeCounts;
  /** Key of the `PURGED` audit entry (absent on a dry run). */
  auditEntry?: { pk: string; sk: string };
}

export interface PurgeOptions {
  /** Remove what was found; without it only count (a dry run). */
  apply: boolean;
  /** Who runs it: the AWS principal, or the local user. Goes on the audit entry. */
  actor: string;
  now?: Date;
  /** Called as each kind is settled (progress for people). */
  onStep?: (kind: PurgeKind, count: number) => void;
}

interface Key {
  pk: string;
  sk: string;
}

/** The merchant's assets, by `<batchId>/<assetKey>`. */
type AssetSet = Set<string>;
const assetRef = (batchId: unknown, assetKey: unknown): string => `${String(batchId)}/${String(assetKey)}`;

/** What replaces the merchant id where another merchant's data named it (a duplicate match, its explanation). */
export const ERASED_MERCHANT = '[erased merchant]';

/** Replaces every mention of the merchant id in the strings of a JSON value (as a whole token, not inside a longer id). */
function scrubber(merchantId: string): <T>(value: T) => T {
  const token = new RegExp(`(?<![\\w-])${merchantId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`, 'g');
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') return value.replace(token, ERASED_MERCHANT);
    if (Array.isArray(value)) return value.map(scrub);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
    return value;
  };
  return <T>(value: T): T => scrub(value) as T;
}

class Purge {
  private readonly scrub: <T>(value: T) => T;

  readonly removed: PurgeCounts = Object.fromEntries(PURGE_KINDS.map((kind) => [kind, 0])) as PurgeCounts;

  constructor(
    private readonly stores: PurgeStores,
    private readonly merchantId: string,
    private readonly options: PurgeOptions,
  ) {
    this.scrub = scrubber(merchantId);
  }

  private mentions(value: unknown): boolean {
    return JSON.stringify(this.scrub(value)) !== JSON.stringify(value);
  }

  private count(kind: PurgeKind, n = 1): void {
    this.removed[kind] += n;
  }

  private async deleteItem(kind: PurgeKind, key: Key): Promise<void> {
    this.count(kind);
    if (this.options.apply) await documentClient().send(new DeleteCommand({ TableName: this.stores.tableName, Key: { pk: key.pk, sk: key.sk } }));
  }

  private async deleteObject(kind: PurgeKind, bucket: string, key: string): Promise<void> {
    this.count(kind);
    if (this.options.apply) await s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  /** Every item of one partition (paginated). */
  private async partition(pk: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await documentClient().send(
        new QueryCommand({
          TableName: this.stores.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  async merchantRecords(): Promise<AssetRecord[]> {
    const records: AssetRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await documentClient().send(
        new QueryCommand({
          TableName: this.stores.tableName,
          IndexName: MERCHANT_INDEX,
          KeyConditionExpression: 'merchantId = :merchant',
          ExpressionAttributeValues: { ':merchant': this.merchantId },
          ExclusiveStartKey: startKey,
        }),
      );
      records.push(...((page.Items ?? []) as AssetRecord[]).filter((item) => item.recordType === 'ASSET'));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return records;
  }

  /** Decisions of every task the records ever had (each review revision, and the gold task). */
  async decisions(records: AssetRecord[]): Promise<void> {
    for (const record of records) {
      const revisions = Math.max(currentReviewRevision(record), sentReviewRevision(record), record.reviewRevision ?? 0);
      const taskIds = [goldTaskId(record), ...Array.from({ length: revisions }, (_, i) => reviewTaskId(record, i + 1))];
      for (const taskId of taskIds) {
        for (const item of await this.partition(`TASK#${taskId}`)) await this.deleteItem('decisions', item as unknown as Key);
      }
    }
  }

  /** Claims (REVIEWER# partitions), audit entries (AUDIT#) and gold items (GOLD) about the merchant's assets. */
  async reviewItems(assets: AssetSet): Promise<void> {
    let startKey: Record<string, unknown> | undefined;
    const kinds: Record<string, PurgeKind> = { REVIEW_CLAIM: 'claims', REVIEW_AUDIT: 'auditEntries', REVIEW_GOLD: 'goldItems' };
    do {
      // A scan: claims are keyed by reviewer and the audit log by month, neither by asset. Purges are rare and
      // operator-run; the filter keeps the answer small.
      const page = await documentClient().send(
        new ScanCommand({
          TableName: this.stores.tableName,
          FilterExpression: 'recordType IN (:claim, :audit, :gold)',
          ExpressionAttributeValues: { ':claim': 'REVIEW_CLAIM', ':audit': 'REVIEW_AUDIT', ':gold': 'REVIEW_GOLD' },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
      for (const item of page.Items ?? []) {
        const mentions = assets.has(assetRef(item['batchId'], item['assetKey'])) || JSON.stringify(item).includes(JSON.stringify(this.merchantId));
        if (!mentions) continue;
        await this.deleteItem(kinds[String(item['recordType'])]!, item as unknown as Key);
        // A claimed message is in flight, so no receive finds it; the claim's receipt handle can still delete it.
        if (item['recordType'] === 'REVIEW_CLAIM' && typeof item['receiptHandle'] === 'string') await this.deleteClaimedMessage(item['receiptHandle']);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  async identities(records: AssetRecord[]): Promise<void> {
    const assetIds = new Set(records.map((record) => record.listing.assetId).filter((id): id is string => typeof id === 'string' && id !== ''));
    for (const assetId of assetIds) {
      const key = identityKey(this.merchantId, assetId);
      const found = await documentClient().send(new GetCommand({ TableName: this.stores.tableName, Key: key, ConsistentRead: true }));
      if (found.Item !== undefined) await this.deleteItem('identities', key);
    }
  }

  async merchantProfiles(): Promise<void> {
    for (const item of await this.partition(`MERCHANT#${this.merchantId}`)) await this.deleteItem('merchantProfiles', item as unknown as Key);
  }

  async listKeys(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3Client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((object) => object.Key!).filter((key) => key !== undefined));
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  /**
   * Per affected batch: the merchant's staged files (unless another merchant's row of the batch names the same file),
   * and its lines of the batch's work list; then model inputs no other merchant's record uses.
   */
  async stagedObjects(records: AssetRecord[], assets: AssetSet): Promise<void> {
    const batches = new Set(records.map((record) => record.batchId));
    const keptInputs = new Set<string>();
    for (const batchId of batches) {
      const others = (await listAssetRecords(batchId, this.stores.tableName)).filter((record) => !assets.has(assetRef(record.batchId, record.assetKey)));
      const keptFiles = new Set(others.map((record) => record.file));
      for (const record of others) if (record.image?.modelInputKey !== undefined) keptInputs.add(record.image.modelInputKey);
      const prefix = `staging/${batchId}/`;
      for (const key of await this.listKeys(this.stores.dataBucket, prefix)) {
        if (key.startsWith(`${prefix}files/`)) {
          const file = key.slice(`${prefix}files/`.length);
          if (records.some((record) => record.batchId === batchId && record.file === file) && !keptFiles.has(file))
            await this.deleteObject('stagedObjects', this.stores.dataBucket, key);
        } else if (key.endsWith('.jsonl')) {
          await this.rewriteJsonLines('stagedObjects', this.stores.dataBucket, key, (line) => this.lineMentions(line, assets));
        }
      }
    }
    // Model inputs are content-addressed: another merchant listing the same image keeps it.
    for (const key of new Set(records.map((record) => record.image?.modelInputKey).filter((key): key is string => key !== undefined))) {
      if (keptInputs.has(key) || (await this.usedElsewhere(key, records, assets))) continue;
      const exists = (await this.listKeys(this.stores.dataBucket, key)).includes(key);
      if (exists) await this.deleteObject('modelInputs', this.stores.dataBucket, key);
    }
    // The Distributed Map's results hold the children's outputs (listings included, as escaped JSON inside JSON); they
    // are only read while a batch runs, so a results file that names the merchant is deleted whole.
    const plain = `"merchantId":${JSON.stringify(this.merchantId)}`;
    const escaped = JSON.stringify(plain).slice(1, -1);
    for (const key of await this.listKeys(this.stores.dataBucket, 'map-results/')) {
      if (!key.endsWith('.json')) continue;
      const text = (await getObjectBytes(this.stores.dataBucket, key)).toString('utf8');
      if (text.includes(plain) || text.includes(escaped)) await this.deleteObject('stagedObjects', this.stores.dataBucket, key);
    }
  }

  /** Whether a record of another merchant (any batch) shows the same model input (same image). */
  private async usedElsewhere(modelInputKey: string, records: AssetRecord[], assets: AssetSet): Promise<boolean> {
    const hashes = new Set(
      records
        .filter((record) => record.image?.modelInputKey === modelInputKey)
        .map((record) => record.perceptualHash)
        .filter((h): h is string => h !== undefined),
    );
    for (const hash of hashes) {
      const page = await documentClient().send(
        new QueryCommand({
          TableName: this.stores.tableName,
          IndexName: 'byImageHash',
          KeyConditionExpression: 'perceptualHash = :hash',
          ExpressionAttributeValues: { ':hash': hash },
        }),
      );
      const others = ((page.Items ?? []) as AssetRecord[]).filter((record) => !assets.has(assetRef(record.batchId, record.assetKey)));
      if (others.some((record) => record.image?.modelInputKey === modelInputKey)) return true;
    }
    return false;
  }

  private lineMentions(line: Record<string, unknown>, assets: AssetSet): boolean {
    const listing = line['listing'] as { merchantId?: unknown } | undefined;
    return line['merchantId'] === this.merchantId || listing?.merchantId === this.merchantId || assets.has(assetRef(line['batchId'], line['assetKey']));
  }

  /** Rewrites a JSON-lines object without the lines that match; counts one per line removed. */
  private async rewriteJsonLines(kind: PurgeKind, bucket: string, key: string, matches: (line: Record<string, unknown>) => boolean): Promise<void> {
    const text = (await getObjectBytes(bucket, key)).toString('utf8');
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    const kept = lines.filter((line) => {
      try {
        return !matches(JSON.parse(line) as Record<string, unknown>);
      } catch {
        return true;
      }
    });
    if (kept.length === lines.length) return;
    this.count(kind, lines.length - kept.length);
    if (this.options.apply) await putObject(bucket, key, kept.length === 0 ? '' : `${kept.join('\n')}\n`, 'application/x-ndjson');
  }

  /**
   * Report CSVs: every table's partition files of the affected batches, and every `decisions` file (the review loop
   * writes those by decision date). Each file that holds the merchant's rows is rewritten without them, with its own
   * header (columns are appended over time, so old files keep theirs).
   */
  async reportRows(records: AssetRecord[], assets: AssetSet): Promise<void> {
    const batches = new Set(records.map((record) => record.batchId));
    const keys = (await this.listKeys(this.stores.reportsBucket, 'reports/')).filter(
      (key) => key.endsWith('.csv') && (key.startsWith('reports/decisions/') || [...batches].some((batchId) => key.includes(`/batch_id=${batchId}/`))),
    );
    for (const key of keys) {
      const text = (await getObjectBytes(this.stores.reportsBucket, key)).toString('utf8');
      if (text.trim() === '') continue;
      const rows = parse(text, { columns: true, skip_empty_lines: true, relax_column_count: true }) as Array<Record<string, string>>;
      const header = (parse(text, { to_line: 1 }) as string[][])[0] ?? [];
      const kept = rows.filter((row) => row['merchant_id'] !== this.merchantId && !assets.has(assetRef(row['batch_id'], row['asset_key'])));
      const scrubbed = kept.map((row) => this.scrub(row));
      const mentioning = kept.filter((row) => this.mentions(row)).length;
      if (kept.length === rows.length && mentioning === 0) continue;
      this.count('reportRows', rows.length - kept.length);
      this.count('references', mentioning);
      if (this.options.apply) await putObject(this.stores.reportsBucket, key, stringify(scrubbed, { header: true, columns: header }), 'text/csv');
    }
    for (const key of (await this.listKeys(this.stores.reportsBucket, 'datasets/')).filter((k) => k.endsWith('.jsonl'))) {
      await this.rewriteJsonLines('datasetLines', this.stores.reportsBucket, key, (line) => this.lineMentions(line, assets));
    }
  }

  /** Queued review messages of the merchant's records, in the review queue and its dead-letter queue. */
  async reviewMessages(assets: AssetSet): Promise<void> {
    for (const queueUrl of [this.stores.reviewQueueUrl, ...(await this.deadLetterQueueUrls())]) {
      const handBack: Message[] = [];
      const seen = new Set<string>();
      try {
        for (;;) {
          const received = await sqsClient().send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: 10,
              VisibilityTimeout: 60,
              WaitTimeSeconds: 0,
              MessageAttributeNames: ['All'],
              MessageSystemAttributeNames: ['MessageGroupId'],
            }),
          );
          const fresh = (received.Messages ?? []).filter((message) => !seen.has(message.MessageId!));
          if (fresh.length === 0) break;
          for (const message of fresh) {
            seen.add(message.MessageId!);
            if (this.messageMentions(message, assets)) {
              this.count('reviewMessages');
              if (this.options.apply) await sqsClient().send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
              else handBack.push(message);
            } else if (this.mentions(message.Body ?? '')) {
              this.count('references');
              if (this.options.apply) await this.replaceMessage(queueUrl, message);
              else handBack.push(message);
            } else if (this.options.apply && (await this.isStale(message))) {
              // Settled as `review next` would settle it (a superseded revision): in a FIFO group it hides the
              // record's current message, which may name the merchant.
              await sqsClient().send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
            } else handBack.push(message);
          }
        }
      } finally {
        // Everyone else's messages go straight back to the queue.
        for (const message of handBack) {
          await sqsClient()
            .send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 }))
            .catch(() => undefined);
        }
      }
    }
  }

  /**
   * Another merchant's review message whose text names the merchant (a duplicate match in its explanation): sent
   * again scrubbed, in the same message group, and the record is pointed at the new message before the old one goes
   * (the review tools drop a message that is not the record's `reviewMessageId`).
   */
  private async replaceMessage(queueUrl: string, message: Message): Promise<void> {
    const body = this.scrub(JSON.parse(message.Body ?? '{}') as Record<string, unknown>);
    const taskId = String(body['reviewTaskId'] ?? message.MessageId);
    const sent = await sqsClient().send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(body),
        MessageGroupId: message.Attributes?.['MessageGroupId'] ?? taskId,
        MessageDeduplicationId: `${taskId.slice(0, 100)}-erased-${createHash('sha256')
          .update(message.MessageId ?? '')
          .digest('hex')
          .slice(0, 12)}`,
        MessageAttributes: message.MessageAttributes as Record<string, MessageAttributeValue> | undefined,
      }),
    );
    const recordKey = body['recordKey'] as Key | undefined;
    if (recordKey !== undefined && sent.MessageId !== undefined) {
      await documentClient()
        .send(
          new UpdateCommand({
            TableName: this.stores.tableName,
            Key: { pk: recordKey.pk, sk: recordKey.sk },
            UpdateExpression: 'SET reviewMessageId = :new',
            ConditionExpression: 'reviewMessageId = :old',
            ExpressionAttributeValues: { ':new': sent.MessageId, ':old': message.MessageId },
          }),
        )
        .catch((error: Error) => {
          if (error.name !== 'ConditionalCheckFailedException') throw error;
        });
    }
    await sqsClient().send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
  }

  /** A review message whose record moved to another revision (or is gone): the review tools would drop it. */
  private async isStale(message: Message): Promise<boolean> {
    try {
      const body = JSON.parse(message.Body ?? '') as { revision: number; recordKey?: Key };
      if (body.recordKey === undefined || typeof body.revision !== 'number') return false;
      const found = await documentClient().send(
        new GetCommand({ TableName: this.stores.tableName, Key: { pk: body.recordKey.pk, sk: body.recordKey.sk }, ConsistentRead: true }),
      );
      return found.Item === undefined || !isCurrentTask(body, found.Item as AssetRecord);
    } catch {
      return false;
    }
  }

  private async deleteClaimedMessage(receiptHandle: string): Promise<void> {
    this.count('reviewMessages');
    if (!this.options.apply) return;
    await sqsClient()
      .send(new DeleteMessageCommand({ QueueUrl: this.stores.reviewQueueUrl, ReceiptHandle: receiptHandle }))
      // The claim lapsed and the message went back (or was settled): the receive pass found it, or will on a rerun.
      .catch((error: Error) => {
        if (!['ReceiptHandleIsInvalid', 'InvalidParameterValue', 'MessageNotInflight', 'AWS.SimpleQueueService.MessageNotInflight'].includes(error.name))
          throw error;
      });
  }

  private messageMentions(message: Message, assets: AssetSet): boolean {
    try {
      const body = JSON.parse(message.Body ?? '') as Record<string, unknown>;
      return body['merchantId'] === this.merchantId || assets.has(assetRef(body['batchId'], body['assetKey']));
    } catch {
      return (message.Body ?? '').includes(this.merchantId);
    }
  }

  private async deadLetterQueueUrls(): Promise<string[]> {
    const attributes = await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl: this.stores.reviewQueueUrl, AttributeNames: ['RedrivePolicy'] }));
    const policy = attributes.Attributes?.['RedrivePolicy'];
    if (policy === undefined) return [];
    const arn = (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
    const name = arn?.split(':').pop();
    if (name === undefined) return [];
    const { QueueUrl } = await sqsClient().send(new GetQueueUrlCommand({ QueueName: name }));
    return QueueUrl === undefined ? [] : [QueueUrl];
  }

  /**
   * Other merchants' records that name the merchant (CrossCheck's duplicate matches and their explanation): the same
   * batches, and any batch with the same image (the image-hash index). Their decisions stand; the mention goes.
   */
  async references(records: AssetRecord[], assets: AssetSet): Promise<void> {
    const candidates = new Map<string, AssetRecord>();
    for (const batchId of new Set(records.map((record) => record.batchId))) {
      for (const record of await listAssetRecords(batchId, this.stores.tableName)) candidates.set(assetRef(record.batchId, record.assetKey), record);
    }
    for (const hash of new Set(records.map((record) => record.perceptualHash).filter((h): h is string => h !== undefined))) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await documentClient().send(
          new QueryCommand({
            TableName: this.stores.tableName,
            IndexName: 'byImageHash',
            KeyConditionExpression: 'perceptualHash = :hash',
            ExpressionAttributeValues: { ':hash': hash },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const record of (page.Items ?? []) as AssetRecord[]) candidates.set(assetRef(record.batchId, record.assetKey), record);
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
    }
    for (const [ref, record] of candidates) {
      if (assets.has(ref) || !this.mentions(record)) continue;
      this.count('references');
      if (!this.options.apply) continue;
      await documentClient().send(
        new PutCommand({
          TableName: this.stores.tableName,
          Item: this.scrub(record),
          ConditionExpression: 'decidedAt = :seen',
          ExpressionAttributeValues: { ':seen': record.decidedAt },
        }),
      );
    }
  }

  async records(records: AssetRecord[]): Promise<void> {
    for (const record of records) await this.deleteItem('records', record);
  }

  /** The one trace of the purge: counts and who/when, never the erased data (the merchant only as its sha256). */
  async audit(now: Date): Promise<Key> {
    const at = now.toISOString();
    const key = { pk: `AUDIT#${at.slice(0, 7)}`, sk: `${at}#${randomUUID()}` };
    await documentClient().send(
      new PutCommand({
        TableName: this.stores.tableName,
        Item: {
          ...key,
          recordType: 'REVIEW_AUDIT',
          at,
          actor: this.options.actor,
          action: 'PURGED',
          details: { merchantSha256: merchantDigest(this.merchantId), removed: this.removed },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return key;
  }
}

/** sha256 of the merchant id: lets an auditor confirm a merchant was erased without the log naming it. */
export function merchantDigest(merchantId: string): string {
  return createHash('sha256').update(merchantId).digest('hex');
}

export async function purgeMerchant(stores: PurgeStores, merchantId: string, options: PurgeOptions): Promise<PurgeResult> {
  if (merchantId.trim() === '') throw new Error('a merchant id is required');
  const purge = new Purge(stores, merchantId, options);
  const step = async (kind: PurgeKind, work: () => Promise<void>): Promise<void> => {
    await work();
    options.onStep?.(kind, purge.removed[kind]);
  };
  const records = await purge.merchantRecords();
  const assets: AssetSet = new Set(records.map((record) => assetRef(record.batchId, record.assetKey)));
  // Messages first (a reviewer could otherwise claim one mid-purge), records last (everything else is found from them).
  await step('reviewMessages', () => purge.reviewMessages(assets));
  await step('decisions', () => purge.decisions(records));
  await step('claims', () => purge.reviewItems(assets));
  await step('identities', () => purge.identities(records));
  await step('merchantProfiles', () => purge.merchantProfiles());
  await step('stagedObjects', () => purge.stagedObjects(records, assets));
  await step('reportRows', () => purge.reportRows(records, assets));
  await step('references', () => purge.references(records, assets));
  await step('records', () => purge.records(records));
  const result: PurgeResult = { merchantId, dryRun: !options.apply, removed: purge.removed };
  if (options.apply) result.auditEntry = await purge.audit(options.now ?? new Date());
  return result;
}
