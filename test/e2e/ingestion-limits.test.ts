/**
 * Ingestion limits through the local mode: archive names as events carry them (raw or URL-encoded), listings that
 * would outgrow a Step Functions state, pixel bombs judged from the header, corrupt entries found while streaming,
 * files that are not staged, and the function sizes a fresh account accepts.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBatchRecord, listAssetRecords } from '../../lambdas/adapters/record-store';
import { LISTING_FIELD_LIMITS } from '../../lambdas/core/listing-limits';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { stagingPrefix } from '../../lambdas/core/work-items';
import { handler as prepareBatch } from '../../lambdas/functions/prepare-batch';
import { manifestCsv, stdlibPhoto, type DemoRow } from '../../local/demo-batch';
import { runIn, session, template } from '../support/local-pipeline';

/** Answers every model call as a confident boat with clean policy scores, without running a model. */
function answerBoat(request: { endpointName: string }): { labels: Array<{ label: string; score: number }> } {
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: label === 'a photo of a boat' ? 0.9 : 0.1 / (candidates.length - 1) })) };
}

function zip(files: Record<string, Uint8Array | string>): Buffer {
  const zippable: Zippable = {};
  for (const [name, content] of Object.entries(files)) {
    // Stored, so a test can find and damage a file's bytes inside the archive.
    zippable[name] = [typeof content === 'string' ? new TextEncoder().encode(content) : content, { level: 0, mtime: new Date('2026-01-01') }];
  }
  return Buffer.from(zipSync(zippable));
}

/** The same JPEG with its frame header (SOF0–2) declaring other dimensions: a pixel bomb that costs nothing to build. */
function declaringDimensions(jpeg: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(jpeg);
  for (let pos = 2; pos + 4 <= copy.length; pos += 2 + copy.readUInt16BE(pos + 2)) {
    const marker = copy[pos + 1] ?? 0;
    if (marker >= 0xc0 && marker <= 0xc2) {
      copy.writeUInt16BE(height, pos + 5);
      copy.writeUInt16BE(width, pos + 7);
      return copy;
    }
  }
  throw new Error('no SOF segment');
}

const row = (n: number, fields: Partial<DemoRow>): DemoRow => ({
  asset_id: `L-${n}`,
  file: `images/${n}.jpg`,
  merchant_id: 'm-limits',
  declared_category: 'Boats',
  title: `Boat ${n}`,
  ...fields,
});

let tmp: string;
const originalTmp = process.env['TMPDIR'];
beforeAll(async () => {
  // PrepareBatch's ephemeral-storage folders land here, so the test can see that none is left behind.
  tmp = await mkdtemp(path.join(tmpdir(), 'ingestion-limits-'));
  process.env['TMPDIR'] = tmp;
});
afterAll(async () => {
  if (originalTmp === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = originalTmp;
  await rm(tmp, { recursive: true, force: true });
});

async function leftInTmp(): Promise<string[]> {
  return (await readdir(tmp)).filter((name) => name.startsWith('media-triage-archive-'));
}

async function stagedFiles(s3: S3Client, bucket: string, batchId: string): Promise<string[]> {
  const prefix = `${stagingPrefix(batchId)}files/`;
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key!.slice(prefix.length)).sort();
}

describe('archive names as events carry them', () => {
  const name = 'Spring sale+café.zip';
  const archive = zip({
    'manifest.csv': manifestCsv([row(1, {})]),
    'images/1.jpg': stdlibPhoto('boats'),
  });

  it('runs an archive named with a space, "+" and non-ASCII, and PrepareBatch finds it under the URL-encoded key too', async () => {
    const local = await session({ intercept: answerBoat });
    try {
      const run = await runIn(local, archive, name);
      expect(run.execution.status).toBe('SUCCEEDED');
      const batchId = run.summary!.batchId;
      expect(batchId).toMatch(/^spring-sale-cafe-[0-9a-f]{12}$/);
      expect(run.records).toHaveLength(1);

      // As S3 event notifications spell it: form-encoded, "+" for the space and %2B for the "+".
      const encoded = `incoming/${encodeURIComponent('Spring sale+café.zip').replace(/%20/g, '+')}`;
      expect(encoded).toBe('incoming/Spring+sale%2Bcaf%C3%A9.zip');
      const prepared = await prepareBatch({ bucket: local.dataBucket, key: encoded });
      expect(prepared).toMatchObject({ status: 'PREPARED', batchId });
      expect((await getBatchRecord(batchId))?.archiveKey).toBe(`incoming/${name}`);
      // The rerun found every asset decided: nothing left to process.
      expect(prepared).toMatchObject({ itemsToProcess: 0, expectedAssets: 1 });

      await expect(prepareBatch({ bucket: local.dataBucket, key: 'incoming/No+such%20archive.zip' })).rejects.toMatchObject({ name: 'NoSuchKey' });
      expect(await leftInTmp()).toEqual([]);
    } finally {
      await local.close();
    }
  });
});

describe('listings, pixel bombs and corrupt files', () => {
  it('ends every asset in one recorded outcome: 40 KB descriptions truncated and recorded, 40 MP refused from the header, a CRC-corrupt file rejected and not staged', async () => {
    const boats = stdlibPhoto('boats');
    const description = 'Seaworthy, sound.'.repeat(3000).slice(0, 40_960); // 40 KB, no trailing space to trim
    const rows = Array.from({ length: 10 }, (_, i) => row(i + 1, { description }));
    rows.push(row(11, { title: '40 MP photo' }), row(12, { title: 'corrupt photo' }), row(13, { file: 'images/missing.jpg', declared_category: 'nope' }));
    const corrupt = stdlibPhoto('sheep');
    const files: Record<string, Uint8Array | string> = { 'manifest.csv': manifestCsv(rows) };
    for (let i = 1; i <= 10; i += 1) files[`images/${i}.jpg`] = boats;
    files['images/11.jpg'] = declaringDimensions(boats, 8000, 5000);
    files['images/12.jpg'] = corrupt;
    const archive = zip(files);
    // Damage one byte in the middle of the stored sheep photo: its CRC-32 no longer matches.
    const middle = corrupt.length >> 1;
    const at = archive.indexOf(corrupt.subarray(middle, middle + 64), archive.indexOf('images/12.jpg')) + 10;
    expect(at).toBeGreaterThan(archive.indexOf('images/12.jpg'));
    archive[at] = (archive[at] ?? 0) ^ 0xff;

    const local = await session({ intercept: answerBoat });
    const s3 = new S3Client({});
    try {
      const run = await runIn(local, archive, 'limits.zip');
      expect(run.execution.status).toBe('SUCCEEDED');
      expect(run.records).toHaveLength(13);
      const byId = new Map(run.records.map((record) => [record.listing.assetId, record]));
      for (let i = 1; i <= 10; i += 1) {
        const record = byId.get(`L-${i}`)!;
        expect(record.outcome).not.toBe('FAILED');
        expect(record.outcome).not.toBe('REJECTED_INPUT');
        expect(record.listing.truncated).toEqual({ description: 40_960 });
        expect(Buffer.byteLength(record.listing.description!)).toBeLessThanOrEqual(LISTING_FIELD_LIMITS.description.maxBytes);
      }
      expect(byId.get('L-11')).toMatchObject({ outcome: 'REJECTED_INPUT', reasons: ['IMAGE_TOO_LARGE'] });
      expect(byId.get('L-11')!.explanation).toMatch(/8000x5000 is 40\.0 megapixels/);
      expect(byId.get('L-12')).toMatchObject({ outcome: 'REJECTED_INPUT', reasons: ['CORRUPT_IMAGE'] });
      expect(byId.get('L-12')!.explanation).toMatch(/CRC-32 mismatch/);
      expect(byId.get('L-13')).toMatchObject({ outcome: 'REJECTED_INPUT', reasons: ['UNKNOWN_CATEGORY'] });

      // Only files the map needed were staged: not the corrupt one.
      const batchId = run.summary!.batchId;
      const expectedStaged = Array.from({ length: 11 }, (_, i) => `images/${i + 1}.jpg`).sort();
      expect(await stagedFiles(s3, local.dataBucket, batchId)).toEqual(expectedStaged);

      // A rerun stages nothing: every asset has a standing decision.
      await s3.send(
        new DeleteObjectsCommand({
          Bucket: local.dataBucket,
          Delete: { Objects: expectedStaged.map((file) => ({ Key: `${stagingPrefix(batchId)}files/${file}` })) },
        }),
      );
      const rerun = await runIn(local, archive, 'limits.zip');
      expect(rerun.execution.status).toBe('SUCCEEDED');
      expect(await stagedFiles(s3, local.dataBucket, batchId)).toEqual([]);
      expect(await listAssetRecords(batchId)).toHaveLength(13);
      expect(await leftInTmp()).toEqual([]);
    } finally {
      await local.close();
    }
  });

  it('removes its ephemeral-storage copy when staging fails', async () => {
    const local = await session({ intercept: answerBoat });
    const original = process.env['DATA_BUCKET_NAME'];
    try {
      const archive = zip({ 'manifest.csv': manifestCsv([row(1, {})]), 'images/1.jpg': stdlibPhoto('boats') });
      await new S3Client({}).send(new PutObjectCommand({ Bucket: local.dataBucket, Key: 'incoming/fails.zip', Body: archive }));
      process.env['DATA_BUCKET_NAME'] = 'no-such-staging-bucket';
      await expect(prepareBatch({ bucket: local.dataBucket, key: 'incoming/fails.zip' })).rejects.toThrow();
      expect(await leftInTmp()).toEqual([]);
    } finally {
      process.env['DATA_BUCKET_NAME'] = original;
      await local.close();
    }
  });
});

describe('function sizes a fresh account accepts', () => {
  const functions = Object.values(template().Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
  const prepare = functions.find(
    (resource) => (resource.Properties?.['Environment'] as { Variables?: Record<string, string> })?.Variables?.['STAGE_NAME'] === 'PrepareBatch',
  );

  it('has no function above 3,008 MB', () => {
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) expect(Number(fn.Properties?.['MemorySize'] ?? 128)).toBeLessThanOrEqual(3008);
  });

  it('gives PrepareBatch ephemeral storage for the largest archive allowed, with margin', () => {
    const storage = (prepare?.Properties?.['EphemeralStorage'] as { Size?: number } | undefined)?.Size ?? 512;
    expect(storage).toBeGreaterThanOrEqual(512 + 256);
  });
});
