/**
 * Batch planning: from the archive's entries and the manifest's rows, the full list of assets a batch is expected to
 * produce — those PrepareBatch rejects itself and those it hands to the map — so every row and every file is
 * accounted for exactly once.
 */
import { createHash } from 'node:crypto';
import type { ArchiveEntry } from './archive';
import { normalizeRow, type ManifestRow, type NormalizedListing } from './manifest';
import type { ReasonCode } from './outcomes';
import type { Taxonomy } from './taxonomy';
import type { MerchantProfile } from './triage';
import { stagingPrefix, type WorkItem } from './work-items';

/** Re-uploading the same archive is the same batch; new content under the same name is a new one. */
export function deriveBatchId(archiveKey: string, archive: Uint8Array): string {
  return batchIdFromDigest(archiveKey, createHash('sha256').update(archive).digest('hex'));
}

/** `deriveBatchId` from the archive's hex SHA-256 (hashed while it streams, never held whole). */
export function batchIdFromDigest(archiveKey: string, sha256Hex: string): string {
  const base = archiveKey.split('/').pop() ?? archiveKey;
  const slug =
    base
      .replace(/\.zip$/i, '')
      .normalize('NFKD')
      .replace(/\p{M}/gu, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .slice(0, 40)
      .replace(/^-+|-+$/g, '') || 'batch';
  return `${slug}-${sha256Hex.slice(0, 12)}`;
}

/** The line of items.jsonl for a planned item. Its size is bounded by the listing limits (listing-limits.ts). */
export function toWorkItem(item: PlannedItem, receivedAt: string, merchantProfile: MerchantProfile | undefined): WorkItem {
  return {
    batchId: item.batchId,
    assetKey: item.assetKey,
    rowNumber: item.rowNumber,
    file: item.file,
    stagedKey: `${stagingPrefix(item.batchId)}files/${item.file}`,
    receivedAt,
    listing: item.listing,
    merchantProfile,
  };
}

export function rowAssetKey(rowNumber: number): string {
  return `row-${String(rowNumber).padStart(6, '0')}`;
}

export function fileAssetKey(path: string): string {
  return `file:${path}`;
}

/** An asset PrepareBatch hands to the map: its listing plus where the staged file lives. */
export interface PlannedItem {
  batchId: string;
  assetKey: string;
  rowNumber: number;
  listing: NormalizedListing;
  /** Archive path of the image, staged under the batch's staging prefix. */
  file: string;
}

/** An asset decided as REJECTED_INPUT before any image work. */
export interface PlannedRejection {
  assetKey: string;
  rowNumber?: number;
  file?: string;
  listing: Partial<NormalizedListing>;
  reasons: ReasonCode[];
  detail: string;
}

export interface BatchPlan {
  items: PlannedItem[];
  rejections: PlannedRejection[];
  /** Archive files the items need, by path (each staged once even if several rows share it). */
  filesToStage: string[];
  /** OS junk entries that were ignored on purpose (e.g. __MACOSX), listed for the batch record. */
  ignoredEntries: string[];
}

const ENTRY_PROBLEM_REASON: Record<NonNullable<ArchiveEntry['problem']>, ReasonCode> = {
  UNSAFE_PATH: 'UNSAFE_PATH',
  EMPTY_FILE: 'EMPTY_FILE',
  FILE_TOO_LARGE: 'FILE_TOO_LARGE',
  SUSPICIOUS_COMPRESSION: 'SUSPICIOUS_COMPRESSION',
  CORRUPT_ENTRY: 'CORRUPT_IMAGE',
  DUPLICATE_ENTRY: 'DUPLICATE_ARCHIVE_ENTRY',
};

export function planBatch(
  batchId: string,
  manifestFileName: string,
  rows: ManifestRow[],
  entries: ArchiveEntry[],
  ignoredEntries: string[],
  taxonomy: Taxonomy,
): BatchPlan {
  const entryByPath = new Map<string, ArchiveEntry>();
  for (const entry of entries) if (!entryByPath.has(entry.path)) entryByPath.set(entry.path, entry);
  const rawPathEntry = new Map(entries.map((entry) => [entry.rawPath, entry]));

  const items: PlannedItem[] = [];
  const rejections: PlannedRejection[] = [];
  const referenced = new Set<ArchiveEntry>();
  const seenAssetIds = new Map<string, number>();

  for (const row of rows) {
    const assetKey = rowAssetKey(row.rowNumber);
    const verdict = normalizeRow(row, taxonomy);
    const listing = verdict.ok ? verdict.listing : verdict.partial;
    const entry = listing.file === undefined ? undefined : (entryByPath.get(listing.file) ?? rawPathEntry.get(listing.file));
    if (entry !== undefined) referenced.add(entry);
    const reject = (reasons: ReasonCode[], detail: string): void => {
      rejections.push({ assetKey, rowNumber: row.rowNumber, file: listing.file, listing, reasons, detail });
    };

    const assetId = listing.assetId;
    if (assetId !== undefined) {
      const firstRow = seenAssetIds.get(assetId);
      if (firstRow !== undefined) {
        reject(['DUPLICATE_ASSET_ID'], `asset_id "${assetId}" was already used by manifest row ${firstRow}`);
        continue;
      }
      seenAssetIds.set(assetId, row.rowNumber);
    }
    if (!verdict.ok) {
      reject([verdict.reason], verdict.detail);
      continue;
    }
    if (entry === undefined) {
      reject(['MISSING_FILE'], `file "${verdict.listing.file}" is not in the archive`);
      continue;
    }
    if (entry.problem !== undefined) {
      reject([ENTRY_PROBLEM_REASON[entry.problem]], describeEntryProblem(entry));
      continue;
    }
    items.push({ batchId, assetKey, rowNumber: row.rowNumber, listing: verdict.listing, file: entry.path });
  }

  // Orphan keys come from the entry's raw path; an archive can repeat one (duplicate or unsafe entries), so suffix
  // repeats to keep every asset's key unique.
  const usedKeys = new Set<string>();
  const uniqueKey = (base: string): string => {
    let key = base;
    for (let n = 2; usedKeys.has(key); n += 1) key = `${base}#${n}`;
    usedKeys.add(key);
    return key;
  };
  for (const entry of entries) {
    if (referenced.has(entry) || entry.path === manifestFileName) continue;
    const reasons: ReasonCode[] = ['ORPHAN_FILE'];
    if (entry.problem !== undefined) {
      reasons.unshift(ENTRY_PROBLEM_REASON[entry.problem]);
    }
    rejections.push({
      assetKey: uniqueKey(fileAssetKey(entry.rawPath)),
      file: entry.path,
      listing: {},
      reasons,
      detail:
        entry.problem === undefined ? `archive file "${entry.path}" is named by no manifest row` : `${describeEntryProblem(entry)}; no manifest row names it`,
    });
  }

  const filesToStage = [...new Set(items.map((item) => item.file))];
  return { items, rejections, filesToStage, ignoredEntries };
}

/** The reason in words, with the archive reader's specific finding (e.g. which limit, which kind of link) when known. */
function describeEntryProblem(entry: ArchiveEntry): string {
  const general = generalEntryProblem(entry);
  const specific = entry.detail?.trim().replace(/\.$/, '');
  return specific === undefined || specific === '' ? general : `${general}: ${specific}`;
}

function generalEntryProblem(entry: ArchiveEntry): string {
  switch (entry.problem) {
    case 'UNSAFE_PATH':
      return `archive entry "${entry.rawPath}" has an unsafe path (absolute, escaping or a symlink) and was not extracted`;
    case 'EMPTY_FILE':
      return `archive entry "${entry.path}" is zero bytes`;
    case 'FILE_TOO_LARGE':
      return `archive entry "${entry.path}" (${entry.size} bytes) exceeds the per-file limit`;
    case 'CORRUPT_ENTRY':
      return `archive entry "${entry.path}" cannot be inflated (corrupt data)`;
    case 'SUSPICIOUS_COMPRESSION':
      return `archive entry "${entry.path}" compresses implausibly well (zip-bomb guard) and was not inflated`;
    case 'DUPLICATE_ENTRY':
      return `archive entry "${entry.path}" appears more than once in the archive; only the first is used`;
    default:
      return `archive entry "${entry.path}"`;
  }
}
