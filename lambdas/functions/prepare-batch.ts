/**
 * PrepareBatch: archive in, plan out. Refuses the batch (recording why) only for batch-level problems; every
 * other problem becomes a REJECTED_INPUT record here, and the remaining assets go to items.jsonl for the map.
 */
import { createHash } from 'node:crypto';
import { readBatchArchive } from '../core/archive';
import { deriveBatchId, planBatch } from '../core/batch-plan';
import { baseLineage } from '../core/lineage';
import { parseManifest } from '../core/manifest';
import { assetRecord, batchPk, partitionDate, type BatchRecord } from '../core/records';
import { loadTaxonomy } from '../core/taxonomy';
import { loadTriagePolicy } from '../core/triage-policy';
import { stagingPrefix, type WorkItem } from '../core/work-items';
import { merchantProfiles } from '../adapters/merchant-profiles';
import { getObjectBytes, putJson, putObject } from '../adapters/object-store';
import { listAssetRecords, putAssetRecord, upsertBatchRecord } from '../adapters/record-store';
import { setting } from '../adapters/settings';
import { mapWithConcurrency } from '../core/concurrency';
import { logger } from './logger';

export interface PrepareBatchInput {
  bucket: string;
  key: string;
  /** Event time of the upload; defaults to now. */
  receivedAt?: string;
}

export type PrepareBatchOutput =
  | { status: 'REFUSED'; batchId: string; error: { code: string; message: string } }
  | { status: 'PREPARED'; batchId: string; dataBucket: string; itemsKey: string; itemsToProcess: number; expectedAssets: number };

export async function handler(input: PrepareBatchInput): Promise<PrepareBatchOutput> {
  const archive = await getObjectBytes(input.bucket, input.key);
  const batchId = deriveBatchId(input.key, archive);
  const now = new Date().toISOString();
  const receivedAt = input.receivedAt ?? now;
  const pipelineVersion = setting('pipelineVersion');
  const batch: BatchRecord = {
    pk: batchPk(batchId),
    sk: 'BATCH',
    recordType: 'BATCH',
    batchId,
    archiveBucket: input.bucket,
    archiveKey: input.key,
    archiveSha256: createHash('sha256').update(archive).digest('hex'),
    receivedAt,
    dt: partitionDate(receivedAt),
    status: 'PREPARED',
    lastRunAt: now,
    pipelineVersion,
    taxonomyVersion: loadTaxonomy().version,
    policyVersion: loadTriagePolicy().version,
  };
  logger.appendKeys({ batchId });

  const refuse = async (code: string, message: string): Promise<PrepareBatchOutput> => {
    logger.warn('batch refused', { code, reason: message });
    await upsertBatchRecord({ ...batch, status: 'REFUSED', error: { code, message } });
    return { status: 'REFUSED', batchId, error: { code, message } };
  };

  const opened = await readBatchArchive(archive);
  if (!opened.ok) return refuse(opened.error.code, opened.error.message);
  const rootFiles = new Map(
    opened.entries.filter((entry) => entry.data !== undefined && !entry.path.includes('/')).map((entry) => [entry.path, entry.data!]),
  );
  const manifest = parseManifest(rootFiles);
  if (!manifest.ok) return refuse(manifest.code, manifest.message);

  const taxonomy = loadTaxonomy();
  const plan = planBatch(batchId, manifest.fileName, manifest.rows, opened.entries, opened.ignored, taxonomy);
  // A rerun (or a resume after a crash) processes only what has no standing decision yet: FAILED assets and assets
  // no stage recorded. Everything else keeps its record, so there is nothing to recompute or pay a model for.
  const decided = new Set(
    (await listAssetRecords(batchId)).filter((record) => record.outcome !== 'FAILED').map((record) => record.assetKey),
  );
  const pending = plan.items.filter((item) => !decided.has(item.assetKey));
  const stored = await upsertBatchRecord({
    ...batch,
    error: undefined,
    manifestFile: manifest.fileName,
    expectedAssets: plan.items.length + plan.rejections.length,
    itemsToProcess: pending.length,
    ignoredEntries: plan.ignoredEntries,
  });

  const dataBucket = setting('dataBucket');
  const prefix = stagingPrefix(batchId);
  const entryData = new Map(opened.entries.map((entry) => [entry.path, entry.data]));
  const filesToStage = [...new Set(pending.map((item) => item.file))];
  await mapWithConcurrency(filesToStage, 16, async (path) => {
    await putObject(dataBucket, `${prefix}files/${path}`, entryData.get(path)!, 'application/octet-stream');
  });

  const context = { batchId, receivedAt: stored.receivedAt, lineage: baseLineage(pipelineVersion), now };
  await mapWithConcurrency(plan.rejections, 16, async (rejection) => {
    await putAssetRecord(
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
  });

  const profiles = await merchantProfiles(
    pending.map((item) => item.listing.merchantId),
    batchId,
  );
  const items: WorkItem[] = pending.map((item) => ({
    batchId,
    assetKey: item.assetKey,
    rowNumber: item.rowNumber,
    file: item.file,
    stagedKey: `${prefix}files/${item.file}`,
    receivedAt: stored.receivedAt,
    listing: item.listing,
    merchantProfile: profiles.get(item.listing.merchantId),
  }));
  const itemsKey = `${prefix}items.jsonl`;
  await putObject(dataBucket, itemsKey, items.map((item) => JSON.stringify(item)).join('\n'), 'application/x-ndjson');
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
