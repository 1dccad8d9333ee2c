/**
 * PrepareBatch: archive in, plan out. Refuses the batch (recording why) only for batch-level problems; every
 * other problem becomes a REJECTED_INPUT record here, and the remaining assets go to items.jsonl for the map.
 *
 * Memory stays small whatever the archive holds: the archive is streamed to ephemeral storage (hashed on the way),
 * read from there entry by entry, and each file the map needs is inflated straight into its S3 upload. Only the
 * manifest is read into memory, bounded by the per-file limit (50 MiB).
 */
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ArchiveBudgetExceeded, DEFAULT_ARCHIVE_LIMITS, openBatchArchive, type ArchiveEntry, type BatchArchive, type ExtractOutcome } from '../core/archive';
import { batchIdFromDigest, planBatch, toWorkItem, type BatchPlan } from '../core/batch-plan';
import { baseLineage } from '../core/lineage';
import { chooseManifest, parseManifestBytes, type ManifestParseResult } from '../core/manifest';
import { assetRecord, batchPk, partitionDate, type BatchRecord } from '../core/records';
import { loadTaxonomy } from '../core/taxonomy';
import { loadTriagePolicy } from '../core/triage-policy';
import { stagingPrefix, type WorkItem } from '../core/work-items';
import { fetchArchive, type FetchedArchive } from '../adapters/archive-file';
import { merchantProfiles } from '../adapters/merchant-profiles';
import { putJson, putObjectStream } from '../adapters/object-store';
import { listAssetRecords, putAssetRecord, upsertBatchRecord } from '../adapters/record-store';
import { setting } from '../adapters/settings';
import { mapWithConcurrency } from '../core/concurrency';
import { logger } from './logger';
import { countRecordedAssets, instrumented } from './metrics';

/** Entries inflated and uploaded at once: each upload buffers at most ~10 MiB (object-store.ts). */
const STAGING_CONCURRENCY = 4;

export interface PrepareBatchInput {
  bucket: string;
  /** The object key as the event gives it, raw or URL-encoded (both are tried; see core/object-key.ts). */
  key: string;
  /** Event time of the upload; defaults to now. */
  receivedAt?: string;
  /** The execution running this stage (`$$.Execution.Id`), kept on the batch record for `status` and `submit`. */
  executionArn?: string;
}

export type PrepareBatchOutput =
  | { status: 'REFUSED'; batchId: string; error: { code: string; message: string } }
  | { status: 'PREPARED'; batchId: string; dataBucket: string; itemsKey: string; itemsToProcess: number; expectedAssets: number };

export const handler = instrumented('PrepareBatch', prepareBatch);

async function prepareBatch(input: PrepareBatchInput): Promise<PrepareBatchOutput> {
  const fetched = await fetchArchive(input.bucket, input.key, DEFAULT_ARCHIVE_LIMITS.maxArchiveBytes);
  try {
    return await prepare(input, fetched);
  } finally {
    await fetched.dispose();
  }
}

async function prepare(input: PrepareBatchInput, fetched: FetchedArchive): Promise<PrepareBatchOutput> {
  const batchId = batchIdFromDigest(fetched.key, fetched.sha256);
  const now = new Date().toISOString();
  const receivedAt = input.receivedAt ?? now;
  const pipelineVersion = setting('pipelineVersion');
  const batch: BatchRecord = {
    pk: batchPk(batchId),
    sk: 'BATCH',
    recordType: 'BATCH',
    batchId,
    archiveBucket: input.bucket,
    archiveKey: fetched.key,
    archiveSha256: fetched.sha256,
    receivedAt,
    dt: partitionDate(receivedAt),
    status: 'PREPARED',
    lastRunAt: now,
    executionArn: input.executionArn,
    pipelineVersion,
    taxonomyVersion: loadTaxonomy().version,
    policyVersion: loadTriagePolicy().version,
  };
  logger.appendKeys({ batchId });
  if (fetched.key !== input.key) logger.info('archive found under the URL-decoded key', { eventKey: input.key, key: fetched.key });

  const refuse = async (code: string, message: string): Promise<PrepareBatchOutput> => {
    logger.warn('batch refused', { code, reason: message });
    await upsertBatchRecord({ ...batch, status: 'REFUSED', error: { code, message } });
    return { status: 'REFUSED', batchId, error: { code, message } };
  };

  // Without a local copy the archive is above the size limit, which openBatchArchive judges from the size alone.
  const opened = await openBatchArchive({ path: fetched.path ?? '', size: fetched.size });
  if (!opened.ok) return refuse(opened.error.code, opened.error.message);
  const archive = opened.archive;
  try {
    const manifest = await readManifest(archive);
    if (!manifest.ok) return refuse(manifest.code, manifest.message);
    return await planAndStage({ batch, archive, manifest, pipelineVersion, now });
  } catch (error) {
    if (error instanceof ArchiveBudgetExceeded) return refuse(error.code, error.message);
    throw error;
  } finally {
    archive.close();
  }
}

/** The root manifest, read into memory (the per-file limit bounds it); its own entry problem refuses the batch. */
async function readManifest(archive: BatchArchive): Promise<ManifestParseResult> {
  const readable = archive.entries.filter((entry) => entry.problem !== 'DUPLICATE_ENTRY' && entry.problem !== 'UNSAFE_PATH');
  // Every path, not only the root's: a refusal names a manifest found in a subfolder.
  const chosen = chooseManifest(readable.map((entry) => entry.path));
  if (!chosen.ok) return chosen;
  const entry = readable.find((candidate) => candidate.path === chosen.fileName)!;
  const read = entry.problem === undefined ? await archive.readIntoMemory(entry) : { ok: false as const, detail: entry.detail ?? entry.problem };
  if (!read.ok) return { ok: false, code: 'MANIFEST_UNREADABLE', message: `${chosen.fileName}: ${read.detail}` };
  const parsed = parseManifestBytes(chosen.fileName, read.data);
  if (parsed.ok && archive.root !== undefined) parsed.notes.unshift(`every file is inside the folder "${archive.root}/", read as the archive's root`);
  return parsed;
}

interface StagingContext {
  batch: BatchRecord;
  archive: BatchArchive;
  manifest: Extract<ManifestParseResult, { ok: true }>;
  pipelineVersion: string;
  now: string;
}

async function planAndStage({ batch, archive, manifest, pipelineVersion, now }: StagingContext): Promise<PrepareBatchOutput> {
  const { batchId } = batch;
  const taxonomy = loadTaxonomy();
  const planWith = (entries: readonly ArchiveEntry[]): BatchPlan =>
    planBatch(batchId, manifest.fileName, manifest.rows, [...entries], [...archive.ignored], taxonomy);
  const firstPlan = planWith(archive.entries);
  // A rerun (or a resume after a crash) processes only what has no standing decision yet: FAILED assets and assets
  // no stage recorded. Everything else keeps its record, so there is nothing to stage, recompute or pay a model for.
  const decided = new Set((await listAssetRecords(batchId)).filter((record) => record.outcome !== 'FAILED').map((record) => record.assetKey));

  const dataBucket = setting('dataBucket');
  const prefix = stagingPrefix(batchId);
  // Problems the central directory could not show (CRC, truncated data) surface while inflating; the plan is then
  // made again with them, exactly as if they had been known up front.
  const found = await stageAndVerify(archive, firstPlan, decided, async (entry, bytes) => {
    await putObjectStream(dataBucket, `${prefix}files/${entry.path}`, bytes, 'application/octet-stream');
  });
  const plan = found.size === 0 ? firstPlan : planWith(archive.entries.map((entry) => found.get(entry) ?? entry));
  const pending = plan.items.filter((item) => !decided.has(item.assetKey));

  const stored = await upsertBatchRecord({
    ...batch,
    error: undefined,
    manifestFile: manifest.fileName,
    manifestEncoding: manifest.encoding,
    ...(manifest.notes.length > 0 ? { manifestNotes: manifest.notes } : {}),
    expectedAssets: plan.items.length + plan.rejections.length,
    itemsToProcess: pending.length,
    ignoredEntries: plan.ignoredEntries,
  });

  const context = { batchId, receivedAt: stored.receivedAt, lineage: baseLineage(pipelineVersion), now };
  await mapWithConcurrency(plan.rejections, 16, async (rejection) => {
    const written = await putAssetRecord(
      assetRecord(context, {
        assetKey: rejection.assetKey,
        rowNumber: rejection.rowNumber,
        file: rejection.file,
        listing: rejection.listing,
        outcome: 'REJECTED_INPUT',
        reasons: rejection.reasons,
        explanation: rejection.detail,
        decidedBy: 'PrepareBatch',
      }),
    );
    if (written) countRecordedAssets([{ outcome: 'REJECTED_INPUT', reasons: rejection.reasons }]);
  });

  const profiles = await merchantProfiles(
    pending.map((item) => item.listing.merchantId),
    batchId,
  );
  const items: WorkItem[] = pending.map((item) => toWorkItem(item, stored.receivedAt, profiles.get(item.listing.merchantId)));
  const itemsKey = `${prefix}items.jsonl`;
  await putObjectStream(dataBucket, itemsKey, Readable.from(jsonLines(items)), 'application/x-ndjson');
  await putJson(dataBucket, `${prefix}expected-assets.json`, {
    batchId,
    assetKeys: [...plan.rejections.map((r) => r.assetKey), ...plan.items.map((i) => i.assetKey)].sort(),
  });
  logger.info('batch prepared', { items: items.length, alreadyDecided: plan.items.length - items.length, rejected: plan.rejections.length });
  return {
    status: 'PREPARED',
    batchId,
    dataBucket,
    itemsKey,
    itemsToProcess: items.length,
    expectedAssets: plan.items.length + plan.rejections.length,
  };
}

/**
 * Inflates the files the pending items need into `store`, and runs the orphan files no decision stands for yet
 * through the verifier alone (their record names a CORRUPT_IMAGE as it would have before streaming). Files of
 * rejected rows and of decided assets are not touched. Returns the entries found corrupt, with their problem.
 */
async function stageAndVerify(
  archive: BatchArchive,
  plan: BatchPlan,
  decided: ReadonlySet<string>,
  store: (entry: ArchiveEntry, bytes: Readable) => Promise<void>,
): Promise<Map<ArchiveEntry, ArchiveEntry>> {
  const extractable = new Map<string, ArchiveEntry>();
  for (const entry of archive.entries) if (entry.problem === undefined && !extractable.has(entry.path)) extractable.set(entry.path, entry);
  const toStage = new Set(plan.items.filter((item) => !decided.has(item.assetKey)).map((item) => extractable.get(item.file)!));
  const toVerify = new Set(
    plan.rejections
      .filter((rejection) => !decided.has(rejection.assetKey) && rejection.reasons.length === 1 && rejection.reasons[0] === 'ORPHAN_FILE')
      .map((rejection) => extractable.get(rejection.file!))
      .filter((entry): entry is ArchiveEntry => entry !== undefined && !toStage.has(entry)),
  );
  const found = new Map<ArchiveEntry, ArchiveEntry>();
  const work = [
    ...[...toStage].map((entry) => ({ entry, sink: (bytes: Readable) => store(entry, bytes) })),
    ...[...toVerify].map((entry) => ({ entry, sink: discard })),
  ];
  await mapWithConcurrency(work, STAGING_CONCURRENCY, async ({ entry, sink }) => {
    const outcome: ExtractOutcome = await archive.extract(entry, sink);
    if (!outcome.ok) found.set(entry, { ...entry, problem: outcome.problem, detail: outcome.detail });
  });
  return found;
}

async function discard(bytes: Readable): Promise<void> {
  bytes.resume();
  await finished(bytes);
}

function* jsonLines(items: readonly WorkItem[]): Generator<Buffer> {
  for (const [index, item] of items.entries()) yield Buffer.from(`${index === 0 ? '' : '\n'}${JSON.stringify(item)}`);
}
