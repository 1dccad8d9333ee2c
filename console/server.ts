/**
 * The review web console (`media-triage review serve`): a small node:http server on 127.0.0.1 with the review page
 * (`/`), the Batches page (`/batches`) and their JSON API under `/api/`. It holds no state of its own beyond what it
 * handed out: claims, decisions and stats live in the review services (`ReviewWork`, `reviewStats`), batches behind a
 * `BatchesBackend`, so the same console runs against the local mode or a deployed stack.
 *
 * What reaches the browser is chosen here, not passed through: a case as the reviewer sees it without the image's
 * storage location (the console serves the image itself), and never anything that would tell a gold item from a real
 * one or reveal another reviewer's label (the decision response says only what this reviewer recorded).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReviewStats } from '../lambdas/adapters/review-stats';
import { ReviewError, type ClaimedCase, type ReviewWork } from '../lambdas/adapters/review-work';
import type { CaseView } from '../lambdas/core/review/case-view';
import { InvalidLabelError, parseLabel } from '../lambdas/core/review/labels';
import type { Taxonomy } from '../lambdas/core/taxonomy';
import type { BatchesBackend } from './batches';
import {
  checkFetchSite,
  checkHost,
  checkSameOrigin,
  HttpError,
  ownHosts,
  readBody,
  readJson,
  requireContentType,
  send,
  sendError,
  sendJson,
  text,
} from './http';
import { looseImagesArchive, safeFileName } from './loose-images';
import { ownStats, type OwnStats } from './own-stats';
import { batchesPage, reviewPage, type PageCategory } from './page';

export interface ReviewConsoleOptions {
  work: Pick<ReviewWork, 'next' | 'decide' | 'release'>;
  /** The review stats over a window (e.g. `(window) => reviewStats(target, window)`). */
  stats: (window: { from: Date; to: Date }) => Promise<ReviewStats>;
  /** The image bytes from the data bucket (undefined when the object does not exist). */
  readImage: (bucket: string, key: string) => Promise<Buffer | undefined>;
  taxonomy: Taxonomy;
  /** Only loopback: the console acts with the reviewer's credentials and has no login. */
  host?: '127.0.0.1';
  /** 0 (the default) picks a free port. */
  port?: number;
  batches?: BatchesBackend;
  /** How long a skipped item stays out of the queue (so the next claim is another item). Default 120 s. */
  skipSeconds?: number;
  /** The window of the reviewer's own stats. Default 30 days. */
  statsDays?: number;
  /** Where unexpected errors are logged (the browser only gets `{error, code}`). Default stderr. */
  log?: (message: string) => void;
}

export interface ReviewConsole {
  url: string;
  close(): Promise<void>;
}

const REVIEWER_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const JSON_LIMIT = 64 * 1024;
const IMAGES_JSON_LIMIT = 128 * 1024 * 1024;
/** The batch contract's archive limit (README "Batch-level refusals"). */
const ARCHIVE_LIMIT = 512 * 1024 * 1024;

const REVIEW_ERROR_STATUS: Record<ReviewError['code'], number> = {
  NOT_CLAIMED: 409,
  CLAIM_EXPIRED: 409,
  ALREADY_DECIDED: 409,
  AMBIGUOUS: 400,
  NO_RECORD: 404,
};

/** The case as the browser gets it. */
export interface ConsoleCase extends Omit<CaseView, 'image'> {
  image: { url: string | null; width?: number; height?: number; format?: string };
  claim: { claimedAt: string; expiresAt: string; adjudication: boolean };
}

function reviewerFrom(value: unknown): string {
  const reviewer = text(value);
  if (reviewer === undefined || !REVIEWER_ID.test(reviewer)) {
    throw new HttpError(400, 'BAD_REVIEWER', 'give a reviewer id: letters, digits and . _ @ - (at most 64)');
  }
  return reviewer;
}

export async function startReviewConsole(options: ReviewConsoleOptions): Promise<ReviewConsole> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new Error('the review console binds to 127.0.0.1 only');
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const categories: PageCategory[] = options.taxonomy.categories.map((category) => ({ id: category.id, name: category.name, parent: category.parent }));
  /** Images this console showed, with their bucket: the image endpoint serves these and nothing else. */
  const shownImages = new Map<string, string>();
  let hosts = new Set<string>();

  function toConsoleCase(claimed: ClaimedCase): ConsoleCase {
    const { image, ...view } = claimed.view;
    if (image.key !== null) shownImages.set(image.key, image.bucket);
    return {
      ...view,
      image: {
        url: image.key === null ? null : `/api/image?key=${encodeURIComponent(image.key)}`,
        width: image.width,
        height: image.height,
        format: image.format,
      },
      claim: { claimedAt: claimed.claim.claimedAt, expiresAt: claimed.claim.expiresAt, adjudication: claimed.claim.role === 'adjudication' },
    };
  }

  async function reviewerStats(reviewerId: string): Promise<OwnStats> {
    const to = new Date(Date.now() + 60_000);
    const from = new Date(to.getTime() - (options.statsDays ?? 30) * 86_400_000);
    return ownStats(await options.stats({ from, to }), reviewerId);
  }

  async function api(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const route = `${request.method} ${url.pathname}`;
    checkFetchSite(request);
    if (request.method !== 'GET') checkSameOrigin(request, hosts);
    switch (route) {
      case 'GET /api/next': {
        const reviewer = reviewerFrom(url.searchParams.get('reviewer'));
        const claimed = await options.work.next(reviewer, { adjudicator: url.searchParams.get('adjudicator') === '1' });
        return sendJson(response, 200, { item: claimed === undefined ? null : toConsoleCase(claimed) });
      }
      case 'POST /api/decide': {
        const body = await readJson(request, JSON_LIMIT);
        const reviewer = reviewerFrom(body['reviewer']);
        const assetKey = text(body['assetKey']);
        if (assetKey === undefined) throw new HttpError(400, 'BAD_REQUEST', 'assetKey is required');
        const label = parseLabel(text(body['label']) ?? '', options.taxonomy);
        const note = text(body['note']);
        if (note !== undefined && note.length > 2000) throw new HttpError(400, 'BAD_REQUEST', 'the note is longer than 2000 characters');
        const { decision } = await options.work.decide(reviewer, assetKey, label, { note, batchId: text(body['batchId']) });
        return sendJson(response, 200, {
          recorded: {
            batchId: decision.batchId,
            assetKey: decision.assetKey,
            label: decision.label,
            note: decision.note ?? null,
            decidedAt: decision.decidedAt,
            timeToLabelMs: decision.timeToLabelMs,
          },
        });
      }
      case 'POST /api/release': {
        const body = await readJson(request, JSON_LIMIT);
        const reviewer = reviewerFrom(body['reviewer']);
        const hideForSeconds = body['skip'] === true ? (options.skipSeconds ?? 120) : 0;
        const released = await options.work.release(reviewer, text(body['assetKey']), text(body['batchId']), { hideForSeconds });
        return sendJson(response, 200, { released });
      }
      case 'GET /api/stats':
        return sendJson(response, 200, await reviewerStats(reviewerFrom(url.searchParams.get('reviewer'))));
      case 'GET /api/image': {
        const key = url.searchParams.get('key') ?? '';
        const bucket = shownImages.get(key);
        const bytes = bucket === undefined ? undefined : await options.readImage(bucket, key);
        if (bytes === undefined) throw new HttpError(404, 'NOT_FOUND', 'no such image');
        return send(response, 200, bytes, { 'content-type': imageType(bytes) });
      }
      case 'GET /api/taxonomy':
        return sendJson(response, 200, { version: options.taxonomy.version, categories });
    }
    return batchesApi(request, response, url);
  }

  async function batchesApi(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    if (!url.pathname.startsWith('/api/batches')) throw new HttpError(404, 'NOT_FOUND', `no route ${request.method} ${url.pathname}`);
    const batches = options.batches;
    if (batches === undefined) throw new HttpError(404, 'NO_BATCHES', 'this console runs no batches');
    const route = `${request.method} ${url.pathname}`;
    if (route === 'GET /api/batches') return sendJson(response, 200, { jobs: await batches.jobs() });
    if (route === 'POST /api/batches') {
      requireContentType(request, ['application/zip', 'application/x-zip-compressed']);
      const name = safeFileName(url.searchParams.get('name') ?? '', 'upload.zip');
      const fileName = /\.zip$/i.test(name) ? name : `${name}.zip`;
      const archive = await readBody(request, ARCHIVE_LIMIT);
      if (archive.byteLength === 0) throw new HttpError(400, 'EMPTY_UPLOAD', 'the upload is empty');
      return sendJson(response, 202, { job: await batches.submit(fileName, archive) });
    }
    if (route === 'POST /api/batches/images') {
      const body = await readJson(request, IMAGES_JSON_LIMIT);
      const merchantId = text(body['merchantId']);
      const declared = text(body['declaredCategory']);
      if (merchantId === undefined) throw new HttpError(400, 'BAD_REQUEST', 'merchantId is required');
      const category = declared === undefined ? undefined : options.taxonomy.resolveDeclaredCategory(declared);
      if (category === undefined) throw new HttpError(400, 'UNKNOWN_CATEGORY', 'declaredCategory must be a taxonomy category');
      const images = Array.isArray(body['images']) ? (body['images'] as Array<Record<string, unknown>>) : [];
      if (images.length === 0) throw new HttpError(400, 'BAD_REQUEST', 'add at least one image');
      const { fileName, archive } = looseImagesArchive({
        merchantId,
        declaredCategory: category.id,
        title: text(body['title']),
        images: images.map((image, index) => ({
          name: text(image['name']) ?? `image-${index + 1}`,
          bytes: Buffer.from(String(image['base64'] ?? ''), 'base64'),
        })),
      });
      return sendJson(response, 202, { job: await batches.submit(fileName, archive) });
    }
    const match = /^\/api\/batches\/([0-9a-f-]{36})(\/csv)?$/.exec(url.pathname);
    if (request.method === 'GET' && match !== null) {
      if (match[2] === undefined) {
        const result = await batches.result(match[1]!);
        if (result === undefined) throw new HttpError(404, 'NOT_FOUND', 'no such batch job');
        return sendJson(response, 200, result);
      }
      const csv = await batches.csv(match[1]!);
      if (csv === undefined) throw new HttpError(404, 'NOT_FOUND', 'no report for this job (yet)');
      return send(response, 200, csv.body, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${safeFileName(csv.fileName, 'assets.csv')}"`,
      });
    }
    throw new HttpError(404, 'NOT_FOUND', `no route ${request.method} ${url.pathname}`);
  }

  function page(response: ServerResponse, render: (nonce: string) => string): void {
    const nonce = randomBytes(16).toString('base64');
    send(response, 200, render(nonce), {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'`,
    });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      checkHost(request, hosts);
      const url = new URL(request.url ?? '/', 'http://console.invalid');
      if (url.pathname.startsWith('/api/')) return await api(request, response, url);
      if (request.method !== 'GET') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'pages are read with GET');
      if (url.pathname === '/') return page(response, (nonce) => reviewPage({ nonce, categories }));
      if (url.pathname === '/batches') return page(response, (nonce) => batchesPage({ nonce, categories, available: options.batches !== undefined }));
      throw new HttpError(404, 'NOT_FOUND', `no page ${url.pathname}`);
    } catch (error) {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      sendError(response, asHttpError(error, log));
    }
  }

  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  hosts = ownHosts(port);
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function asHttpError(error: unknown, log: (message: string) => void): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof ReviewError) return new HttpError(REVIEW_ERROR_STATUS[error.code], error.code, error.message);
  if (error instanceof InvalidLabelError) return new HttpError(400, 'INVALID_LABEL', error.message);
  log(`review console: ${(error as Error).stack ?? String(error)}`);
  return new HttpError(500, 'INTERNAL', 'the console hit an unexpected error (see its log)');
}

/** The served images are the pipeline's own JPEG/PNG model inputs; the type comes from the bytes, not the key. */
function imageType(bytes: Buffer): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
  return 'application/octet-stream';
}
