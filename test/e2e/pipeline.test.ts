/**
 * End to end through the local mode: the synthesized state machine, the real handlers, the stand-ins and the real
 * models. Assertions are invariants (every asset accounted for once, reason codes backed by stored evidence, stores
 * agreeing with each other), not per-photo answers the taxonomy could be tuned to.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { unzipSync } from 'fflate';
import { MODEL_CALL_MAX_ATTEMPTS } from '../../lambdas/adapters/model-retry';
import { SETTING_NAMES } from '../../lambdas/adapters/settings';
import { REASON_CODES, type ReasonCode } from '../../lambdas/core/outcomes';
import { needsReview, type AssetRecord } from '../../lambdas/core/records';
import { isCurrentTask } from '../../lambdas/core/review-task';
import { ASSET_COLUMNS } from '../../lambdas/core/report';
import { loadTaxonomy } from '../../lambdas/core/taxonomy';
import { buildZip, demoBatch, manifestCsv, stdlibPhoto } from '../../local/demo-batch';
import { runIn, runOnce, session, template } from '../support/local-pipeline';

const INPUT_REASONS = new Set<ReasonCode>([
  'INVALID_MANIFEST_ROW',
  'DUPLICATE_ASSET_ID',
  'UNKNOWN_CATEGORY',
  'MISSING_FILE',
  'ORPHAN_FILE',
  'UNSAFE_PATH',
  'EMPTY_FILE',
  'FILE_TOO_LARGE',
  'SUSPICIOUS_COMPRESSION',
  'DUPLICATE_ARCHIVE_ENTRY',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'IMAGE_TOO_LARGE',
]);

/** Answers every model call as a confident boat with clean policy scores, without running a model. */
function answerBoatWithoutModels(request: { endpointName: string }): { labels: Array<{ label: string; score: number }> } {
  if (request.endpointName.startsWith('PolicyModel')) return { labels: [{ label: 'neutral', score: 1 }] };
  const candidates = loadTaxonomy().candidateLabels();
  return { labels: candidates.map((label) => ({ label, score: label === 'a photo of a boat' ? 0.9 : 0.1 / (candidates.length - 1) })) };
}

/** What the archive says the batch must produce: one asset per manifest row, one per unlisted file. */
function expectedAssetCount(archive: Buffer): number {
  const files = unzipSync(new Uint8Array(archive));
  const rows = parse(Buffer.from(files['manifest.csv']!).toString('utf8'), { columns: true }) as Array<{ file: string }>;
  const named = new Set(rows.map((row) => row.file));
  const unlisted = Object.keys(files).filter((name) => name !== 'manifest.csv' && !name.endsWith('/') && !named.has(name));
  return rows.length + unlisted.length;
}

function byAssetKey(records: AssetRecord[], assetKey: unknown): AssetRecord {
  const record = records.find((candidate) => candidate.assetKey === assetKey);
  if (record === undefined) throw new Error(`a review message names ${String(assetKey)}, which has no record`);
  return record;
}

function smallBatch(): Buffer {
  return buildZip({
    'manifest.csv': manifestCsv([
      { asset_id: 'S-1', file: 'boats.jpg', merchant_id: 'm1', declared_category: 'Boats', title: 'Fishing boat' },
      { asset_id: 'S-2', file: 'sheep.jpg', merchant_id: 'm1', declared_category: 'livestock', title: 'Sheep flock' },
      { asset_id: 'S-3', file: 'boats.jpg', merchant_id: 'm2', declared_category: 'Pets', title: 'Puppy for sale' },
    ]),
    'boats.jpg': stdlibPhoto('boats'),
    'sheep.jpg': stdlibPhoto('sheep'),
  });
}

describe('the demo batch through the local pipeline', () => {
  const archive = demoBatch();

  it('accounts for every row and file exactly once, with reason codes backed by evidence, and stores that agree', async () => {
    const local = await session();
    try {
      const first = await runIn(local, archive, 'demo.zip');
      expect(first.execution.status).toBe('SUCCEEDED');
      // The Promise.withResolvers pitfall shows up as TypeErrors inside tasks: none may occur.
      expect(first.execution.events.filter((event) => event.error === 'TypeError')).toEqual([]);

      const expected = expectedAssetCount(archive);
      expect(first.summary!.assets).toBe(expected);
      expect(first.records).toHaveLength(expected);
      expect(new Set(first.records.map((record) => record.assetKey)).size).toBe(expected);
      const outcomeTotal = Object.values(first.summary!.outcomes).reduce((a, b) => a + b, 0);
      expect(outcomeTotal).toBe(expected);

      const taxonomy = loadTaxonomy();
      for (const record of first.records) {
        for (const reason of record.reasons) expect(Object.keys(REASON_CODES)).toContain(reason);
        expect(record.lineage.pipelineVersion).toMatch(/\d+\.\d+\.\d+/);
        expect(record.lineage.taxonomyVersion).toBe(taxonomy.version);
        expect(record.explanation.length).toBeGreaterThan(10);
        if (record.outcome === 'REJECTED_INPUT') {
          expect(record.reasons.length).toBeGreaterThan(0);
          for (const reason of record.reasons) expect(INPUT_REASONS.has(reason)).toBe(true);
          expect(record.evidence).toBeUndefined();
          continue;
        }
        if (record.outcome === 'FAILED') continue;
        // Triage decided it: the models' lineage and the evidence behind each code are on the record.
        const evidence = record.evidence!;
        const { thresholds } = evidence.category;
        expect(record.lineage.categoryModel?.variant).not.toBe('');
        expect(record.lineage.policyModel?.modelId).not.toBe('');
        // The local models answered, and the record says so (not the CLIP / Falconsai ids the stack configures).
        expect(record.lineage.categoryModel).toMatchObject({ variant: 'local-centernet-coco80', modelId: 'local/centernet-coco80' });
        expect(record.lineage.policyModel).toMatchObject({ variant: 'local-nsfwjs-mobilenetv2', modelId: 'local/nsfwjs-mobilenetv2' });
        expect(record.image?.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(record.reasons.length === 0).toBe(record.outcome === 'AUTO_PASS');
        if (record.reasons.includes('CATEGORY_MISMATCH')) {
          expect(record.outcome).toBe('FLAGGED');
          expect(evidence.category.topScore).toBeGreaterThanOrEqual(thresholds.mismatch);
          expect(taxonomy.areRelated(evidence.category.topCategoryId!, evidence.category.declaredCategoryId)).toBe(false);
        }
        if (record.reasons.includes('LOW_CONFIDENCE')) {
          expect(evidence.category.topScore < thresholds.lowConfidence || evidence.category.declaredSupport < thresholds.pass).toBe(true);
        }
        expect(record.reasons.includes('TEXT_CATEGORY_CONFLICT')).toBe(evidence.text.conflict);
        expect(record.reasons.includes('POLICY_SENSITIVE')).toBe(evidence.policy.some((p) => p.sensitive));
        if (record.outcome === 'AUTO_PASS') expect(evidence.category.declaredSupport).toBeGreaterThanOrEqual(thresholds.pass);
      }

      // DynamoDB, SQS and the CSV agree.
      const reviewable = first.records.filter((record) => needsReview(record));
      expect(reviewable.every((record) => record.reviewMessageId !== undefined)).toBe(true);
      expect(first.records.filter((r) => !needsReview(r)).every((r) => r.reviewMessageId === undefined)).toBe(true);
      expect(first.records.filter((r) => r.auditSampled).every((r) => r.outcome === 'AUTO_PASS')).toBe(true);
      // One message per review revision (a record CrossCheck amended after its first message has a follow-up), and
      // exactly one current message per reviewable record.
      const current = first.messages.filter((m) => isCurrentTask(m.body as { revision: number }, byAssetKey(first.records, m.body['assetKey'])));
      expect(current.map((m) => m.body['assetKey']).sort()).toEqual(reviewable.map((r) => r.assetKey).sort());
      expect(first.messages).toHaveLength(reviewable.reduce((sum, record) => sum + (record.reviewRevision ?? 1), 0));
      expect(first.summary!.sentToReview).toBe(reviewable.length);
      expect(Object.keys(first.csvRows[0]!)).toEqual([...ASSET_COLUMNS]);
      expect(first.csvRows).toHaveLength(expected);
      const byKey = new Map(first.records.map((record) => [record.assetKey, record]));
      for (const row of first.csvRows) {
        const record = byKey.get(row['asset_key']!)!;
        expect(row['outcome']).toBe(record.outcome);
        expect(row['reason_codes']).toBe(record.reasons.join('|'));
        expect(row['taxonomy_version']).toBe(taxonomy.version);
        expect(row['pipeline_version']).not.toBe('');
        expect(row['category_model_id']).toBe(record.lineage.categoryModel?.modelId ?? '');
        expect(row['sent_to_review']).toBe(String(needsReview(record)));
        expect(row['audit_sampled']).toBe(String(record.auditSampled === true));
      }

      // The bad inputs of the demo each end with their own code.
      const reasons = new Set(first.records.flatMap((record) => record.reasons));
      for (const code of ['CORRUPT_IMAGE', 'EMPTY_FILE', 'UNSUPPORTED_FORMAT', 'MISSING_FILE', 'ORPHAN_FILE', 'DUPLICATE_ASSET_ID', 'UNSAFE_PATH'] as const) {
        expect(reasons.has(code), code).toBe(true);
      }

      // Running the same batch again: same records, no new messages, same CSV rows — and no model calls, because
      // only assets without a standing decision are processed again.
      const invocationsBefore = local.standIns.sageMakerInvocations();
      const second = await runIn(local, archive, 'demo.zip');
      expect(local.standIns.sageMakerInvocations()).toBe(invocationsBefore);
      expect(second.summary!.batchId).toBe(first.summary!.batchId);
      expect(second.records).toHaveLength(first.records.length);
      expect(second.messages).toHaveLength(first.messages.length);
      expect(second.csvRows).toHaveLength(first.csvRows.length);
      expect(second.summary!.outcomes).toEqual(first.summary!.outcomes);
      expect(second.records.map((r) => [r.assetKey, r.decidedAt]).sort()).toEqual(first.records.map((r) => [r.assetKey, r.decidedAt]).sort());
    } finally {
      await local.close();
    }
  });
});

describe('faults and policy signals', () => {
  it('sends policy-sensitive images to review when the policy model says so (injected scores: no such samples ship)', async () => {
    const run = await runOnce(smallBatch(), {
      intercept: (request) =>
        request.endpointName.startsWith('PolicyModel')
          ? {
              labels: [
                { label: 'porn', score: 0.91 },
                { label: 'neutral', score: 0.09 },
              ],
            }
          : undefined,
    });
    expect(run.records).toHaveLength(3);
    for (const record of run.records) {
      expect(record.reasons).toContain('POLICY_SENSITIVE');
      expect(['NEEDS_REVIEW', 'FLAGGED']).toContain(record.outcome);
      expect(record.reviewMessageId).toBeDefined();
    }
    expect(run.messages.filter((m) => isCurrentTask(m.body as { revision: number }, byAssetKey(run.records, m.body['assetKey'])))).toHaveLength(3);
  });

  it('retries a model error (a cold endpoint) with backoff, so the asset is decided normally once the model answers', async () => {
    // The first two category calls fail as a cold serverless endpoint does (ModelError), then it answers.
    let categoryCalls = 0;
    const local = await session({
      template: withFastModelRetries(),
      intercept: (request) => {
        if (!request.endpointName.startsWith('CategoryModel')) return undefined;
        categoryCalls += 1;
        return categoryCalls <= 2 ? { modelError: 'Model download exceeded the 60 s invocation limit' } : undefined;
      },
    });
    try {
      const run = await runIn(local, smallBatch());
      expect(run.records).toHaveLength(3);
      expect(run.summary!.outcomes.FAILED).toBe(0);
      expect(run.records.some((record) => record.reasons.includes('MODEL_ERROR'))).toBe(false);
      // Three assets, the first one's category call tried three times; one policy call each.
      expect(categoryCalls).toBe(3 + 2);
      expect(local.standIns.sageMakerInvocations()).toBe(3 + 2 + 3);
    } finally {
      await local.close();
    }
  });

  it("retries throttling that outlasts the SDK's own retries", async () => {
    let policyCalls = 0;
    // The SDK retries a 429 itself (3 attempts): four throttles outlast it, so Classify's retry must carry on.
    const local = await session({
      template: withFastModelRetries(),
      intercept: (request) => {
        if (!request.endpointName.startsWith('PolicyModel')) return undefined;
        policyCalls += 1;
        return policyCalls <= 4 ? { throttle: true } : { labels: [{ label: 'neutral', score: 1 }] };
      },
    });
    try {
      const run = await runIn(local, smallBatch());
      expect(run.summary!.outcomes.FAILED).toBe(0);
      expect(policyCalls).toBeGreaterThan(4 + 2);
    } finally {
      await local.close();
    }
  });

  it('records a model error that outlasts the retries as FAILED / MODEL_ERROR with the attempts, keeps it out of review, and a rerun retries it', async () => {
    let failing = true;
    let categoryCalls = 0;
    const local = await session({
      template: withFastModelRetries(),
      intercept: (request) => {
        if (!request.endpointName.startsWith('CategoryModel')) return undefined;
        categoryCalls += 1;
        return failing ? { modelError: 'CUDA out of memory' } : undefined;
      },
    });
    try {
      const broken = await runIn(local, smallBatch());
      expect(broken.summary!.outcomes.FAILED).toBe(3);
      expect(broken.records.every((record) => record.reasons.includes('MODEL_ERROR'))).toBe(true);
      for (const record of broken.records) {
        expect(record.explanation).toMatch(new RegExp(`failed ${MODEL_CALL_MAX_ATTEMPTS} attempts; last error: ModelError: .*CUDA out of memory`));
      }
      expect(categoryCalls).toBe(3 * MODEL_CALL_MAX_ATTEMPTS);
      expect(broken.messages).toHaveLength(0);
      failing = false;
      const before = local.standIns.sageMakerInvocations();
      const healed = await runIn(local, smallBatch());
      // Only the FAILED assets were processed again: two endpoint calls each.
      expect(local.standIns.sageMakerInvocations() - before).toBe(3 * 2);
      expect(healed.records).toHaveLength(3);
      expect(healed.summary!.outcomes.FAILED).toBe(0);
    } finally {
      await local.close();
    }
  });

  it('refuses a batch-level problem with a clear reason and creates no assets', async () => {
    const noManifest = await runOnce(buildZip({ 'a.jpg': stdlibPhoto('boats') }));
    expect(noManifest.execution.status).toBe('SUCCEEDED');
    expect(noManifest.execution.output).toMatchObject({ status: 'REFUSED', error: { code: 'MANIFEST_MISSING' } });

    const missingColumn = await runOnce(buildZip({ 'manifest.csv': 'asset_id,file,title\nx,a.jpg,t\n', 'a.jpg': stdlibPhoto('boats') }));
    expect(missingColumn.execution.output).toMatchObject({ status: 'REFUSED', error: { code: 'MANIFEST_MISSING_COLUMN' } });
    expect(JSON.stringify(missingColumn.execution.output)).toContain('merchant_id');

    const notZip = await runOnce(Buffer.from('this is not a zip archive'));
    expect(notZip.execution.output).toMatchObject({ status: 'REFUSED', error: { code: 'ARCHIVE_UNREADABLE' } });
  });
});

/**
 * The synthesized template with Classify's first model-retry backoff at 1 ms (its MODEL_RETRY_BASE_DELAY_MS
 * setting, as a deployment could set it), so the retry tests do not wait the real 0.5, 1, 2, 4 s.
 */
function withFastModelRetries(): ReturnType<typeof template> {
  const altered = template();
  const classify = Object.values(altered.Resources).find(
    (resource) =>
      resource.Type === 'AWS::Lambda::Function' &&
      (resource.Properties?.['Environment'] as { Variables?: Record<string, string> } | undefined)?.Variables?.[SETTING_NAMES.stage] === 'Classify',
  )!;
  const variables = (classify.Properties!['Environment'] as { Variables: Record<string, string> }).Variables;
  expect(variables[SETTING_NAMES.modelRetryBaseDelayMs]).toBeDefined();
  variables[SETTING_NAMES.modelRetryBaseDelayMs] = '1';
  return altered;
}

/** A copy of the synthesized template whose state machine definition has `from` replaced by `to`. */
function alteredTemplate(from: string, to: string): ReturnType<typeof template> {
  const altered = template();
  const machine = Object.values(altered.Resources).find((resource) => resource.Type === 'AWS::StepFunctions::StateMachine')!;
  const definition = machine.Properties!['DefinitionString'] as { 'Fn::Join': [string, unknown[]] };
  definition['Fn::Join'][1] = definition['Fn::Join'][1].map((part) => (typeof part === 'string' ? part.replace(from, to) : part));
  expect(definition['Fn::Join'][1].join('')).toContain(to);
  return altered;
}

describe('the local run follows the synthesized template', () => {
  it('changes when the definition changes: dropping the Triage state leaves every processed asset FAILED / NOT_PROCESSED', async () => {
    const altered = alteredTemplate('"Classify":{"Next":"Triage"', '"Classify":{"Next":"Persist"');
    const run = await runOnce(smallBatch(), { template: altered });
    expect(run.execution.status).toBe('SUCCEEDED');
    expect(run.records).toHaveLength(3);
    expect(run.records.every((record) => record.outcome === 'FAILED' && record.reasons.includes('NOT_PROCESSED'))).toBe(true);
    // Reconciled records keep the row, file and listing they were planned with, so their CSV rows are complete.
    for (const record of run.records) {
      expect(record.rowNumber).toBeGreaterThan(0);
      expect(record.file).toBeTruthy();
      expect(record.listing.assetId).toBeTruthy();
      expect(record.listing.merchantId).toBeTruthy();
    }
    for (const row of run.csvRows) {
      for (const column of ['asset_id', 'merchant_id', 'file', 'title', 'row_number', 'declared_category_id'] as const) expect(row[column]).not.toBe('');
    }
  });

  it('batches items as the template’s ItemBatcher says', async () => {
    const altered = alteredTemplate('"MaxItemsPerBatch":5', '"MaxItemsPerBatch":1');
    let batches = 0;
    const run = await runOnce(smallBatch(), { template: altered, onMapBatch: () => (batches += 1) });
    expect(run.records).toHaveLength(3);
    expect(batches).toBe(3);
  });
});

describe('CSV injection', () => {
  it('no report cell can start a formula, whatever the manifest holds; numbers stay numbers', async () => {
    const hostile = ['=HYPERLINK("http://x","click")', '@SUM(1+1)', '+1+1', '-2+3', '\t=1+1'];
    const archive = buildZip({
      'manifest.csv': manifestCsv(
        hostile.map((title, index) => ({
          asset_id: `=X${index}`,
          file: 'boats.jpg',
          merchant_id: `@m${index}`,
          declared_category: 'Boats',
          title,
          price: '12.50',
        })),
      ),
      'boats.jpg': stdlibPhoto('boats'),
    });
    const run = await runOnce(archive);
    expect(run.csvRows).toHaveLength(hostile.length);
    for (const row of run.csvRows) {
      for (const [column, value] of Object.entries(row)) {
        expect(/^[=+\-@\t\r]/.test(value) && !/^[+-]?\d+(\.\d+)?$/.test(value), `${column}: ${value}`).toBe(false);
      }
      expect(row['asset_id']!.startsWith("'=X")).toBe(true);
      expect(Number.isFinite(Number(row['top_score'] || '0'))).toBe(true);
    }
    // The record keeps the text as given: only the CSV is neutralized.
    expect(run.records.map((record) => record.listing.title).sort()).toEqual(hostile.map((title) => title.trim()).sort());
  });
});

describe('merchant profiles across batches', () => {
  it('flags a category a merchant never listed before, using earlier batches only', async () => {
    const boats = stdlibPhoto('boats');
    const history = buildZip({
      'manifest.csv': manifestCsv(
        Array.from({ length: 24 }, (_, i) => ({
          asset_id: `h-${i}`,
          file: 'boats.jpg',
          merchant_id: 'm-marine',
          declared_category: 'Boats',
          title: 'Fishing boat',
        })).concat([{ asset_id: 'h-pet', file: 'boats.jpg', merchant_id: 'm-marine', declared_category: 'Pets', title: 'Boat' }]),
      ),
      'boats.jpg': boats,
    });
    const next = buildZip({
      'manifest.csv': manifestCsv([{ asset_id: 'n-1', file: 'boats.jpg', merchant_id: 'm-marine', declared_category: 'Books', title: 'Boat' }]),
      'boats.jpg': boats,
    });
    // This test is about the profiles, not the models: answer every model call without running one.
    const local = await session({ intercept: answerBoatWithoutModels });
    try {
      const first = await runIn(local, history, 'history.zip');
      // No history yet: the batch never counts itself.
      expect(first.records.some((record) => record.reasons.includes('MERCHANT_PROFILE_ANOMALY'))).toBe(false);
      const second = await runIn(local, next, 'next.zip');
      expect(second.records[0]!.reasons).toContain('MERCHANT_PROFILE_ANOMALY');
      expect(second.records[0]!.evidence?.merchant).toMatchObject({ historyAssets: 25, anomaly: true });
      // A rerun of the first batch still excludes itself, so its decisions stay the same.
      const rerun = await runIn(local, history, 'history.zip');
      expect(rerun.summary!.outcomes).toEqual(first.summary!.outcomes);
    } finally {
      await local.close();
    }
  });
});

describe('duplicate images across batches (CrossCheck)', () => {
  it('sends an image another merchant already listed to review once, with the match on the record', async () => {
    const boats = stdlibPhoto('boats');
    const one = (merchant: string) =>
      buildZip({
        'manifest.csv': manifestCsv([{ asset_id: 'd-1', file: 'boats.jpg', merchant_id: merchant, declared_category: 'Boats', title: 'Fishing boat' }]),
        'boats.jpg': boats,
      });
    const local = await session({ intercept: answerBoatWithoutModels });
    try {
      const original = await runIn(local, one('m-first'), 'first.zip');
      expect(original.records[0]!.outcome).toBe('AUTO_PASS');
      const copy = await runIn(local, one('m-copycat'), 'copy.zip');
      const record = copy.records[0]!;
      expect(record.outcome).toBe('NEEDS_REVIEW');
      expect(record.reasons).toEqual(['DUPLICATE_IMAGE_OTHER_MERCHANT']);
      expect(record.duplicates?.[0]).toMatchObject({ batchId: original.summary!.batchId, merchantId: 'm-first', distance: 0 });
      expect(record.explanation).toContain('listed by merchant m-first');
      expect(copy.csvRows[0]!['duplicate_of']).toBe(`${original.summary!.batchId}/row-000001`);
      const messages = copy.messages.filter((m) => m.body['batchId'] === copy.summary!.batchId);
      expect(messages).toHaveLength(1);
      const again = await runIn(local, one('m-copycat'), 'copy.zip');
      expect(again.messages.filter((m) => m.body['batchId'] === copy.summary!.batchId)).toHaveLength(1);
      expect(again.records[0]!.reasons).toEqual(['DUPLICATE_IMAGE_OTHER_MERCHANT']);
    } finally {
      await local.close();
    }
  });
});

describe('payload limits', () => {
  it('downscales the model input to fit a smaller endpoint payload limit instead of failing the call', async () => {
    const altered = template();
    for (const resource of Object.values(altered.Resources)) {
      const variables = (resource.Properties?.['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables;
      if (variables?.['CATEGORY_PAYLOAD_LIMIT_BYTES'] !== undefined) variables['CATEGORY_PAYLOAD_LIMIT_BYTES'] = '12000';
    }
    const sizes: number[] = [];
    const run = await runOnce(smallBatch(), {
      template: altered,
      intercept: (request) => {
        if (request.endpointName.startsWith('CategoryModel')) sizes.push(request.body.byteLength);
        return undefined;
      },
    });
    expect(run.records).toHaveLength(3);
    expect(run.records.every((record) => record.outcome !== 'FAILED')).toBe(true);
    expect(sizes.length).toBeGreaterThan(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(12000);
  });
});

describe('throttling', () => {
  it("rides out brief throttling (SDK retries), and records persistent throttling as FAILED / MODEL_ERROR after Classify's retries", async () => {
    let throttles = 2;
    const brief = await runOnce(smallBatch(), {
      intercept: (request) => (request.endpointName.startsWith('CategoryModel') && throttles-- > 0 ? { throttle: true } : undefined),
    });
    expect(brief.records).toHaveLength(3);
    expect(brief.records.every((record) => record.outcome !== 'FAILED')).toBe(true);

    // One SDK attempt per call keeps this part quick; Classify's own retries (1 ms backoff here) still apply.
    process.env['AWS_MAX_ATTEMPTS'] = '1';
    let throttling = true;
    const local = await session({
      template: withFastModelRetries(),
      intercept: (request) => (throttling && request.endpointName.startsWith('CategoryModel') ? { throttle: true } : undefined),
    });
    try {
      const persistent = await runIn(local, smallBatch());
      expect(persistent.execution.status).toBe('SUCCEEDED');
      expect(persistent.records).toHaveLength(3);
      expect(persistent.records.every((record) => record.outcome === 'FAILED' && record.reasons.includes('MODEL_ERROR'))).toBe(true);
      expect(persistent.records[0]!.explanation).toMatch(/ThrottlingException/);
      expect(persistent.messages).toHaveLength(0);
      // Once the endpoint recovers, rerunning the batch resumes it: every asset gets its decision, none is lost.
      throttling = false;
      const resumed = await runIn(local, smallBatch());
      expect(resumed.records).toHaveLength(3);
      expect(resumed.records.every((record) => record.outcome !== 'FAILED')).toBe(true);
    } finally {
      delete process.env['AWS_MAX_ATTEMPTS'];
      await local.close();
    }
  });
});

describe('large archives', () => {
  it('uploads and runs an archive larger than a single-request upload allows (multipart)', async () => {
    const filler = Buffer.alloc(13 * 1024 * 1024);
    for (let i = 0; i < filler.length; i += 4) filler.writeUInt32LE((i * 2_654_435_761) >>> 0, i);
    const archive = buildZip({
      'manifest.csv': manifestCsv([{ asset_id: 'l-1', file: 'boats.jpg', merchant_id: 'm1', declared_category: 'Boats', title: 'Boat' }]),
      'boats.jpg': stdlibPhoto('boats'),
      'extras/video.bin': filler,
    });
    expect(archive.byteLength).toBeGreaterThan(11 * 1024 * 1024);
    const run = await runOnce(archive, { intercept: answerBoatWithoutModels });
    expect(run.records.map((record) => [record.assetKey, record.outcome, record.reasons])).toEqual([
      ['file:extras/video.bin', 'REJECTED_INPUT', ['ORPHAN_FILE']],
      ['row-000001', 'AUTO_PASS', []],
    ]);
  });
});
