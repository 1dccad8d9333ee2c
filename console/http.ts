/**
 * HTTP plumbing of the console: the origin guard, bounded body reading and the JSON error shape. The console is a
 * local tool (127.0.0.1) acting with the reviewer's credentials, so any other page open in the same browser must not
 * be able to drive it: every request must name the console itself as its Host (a DNS-rebinding page names its own
 * host), and every state-changing request must come from the console's own origin with a non-form content type (a
 * cross-origin page can only send form-encoded or text/plain bodies without a CORS preflight, which the console never
 * grants).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Host header values that name this console: 127.0.0.1:<port> and localhost:<port>. */
export function ownHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
}

export function checkHost(request: IncomingMessage, hosts: ReadonlySet<string>): void {
  const host = (request.headers.host ?? '').toLowerCase();
  if (!hosts.has(host)) throw new HttpError(421, 'WRONG_HOST', `this console answers only as ${[...hosts].join(' or ')}`);
}

/**
 * For every API request: a browser's `Sec-Fetch-Site` must say the console's own page (or a typed URL) made it. That
 * covers GETs too — `GET /api/next` claims an item, and an `<img src>` on another page must not claim for a reviewer.
 */
export function checkFetchSite(request: IncomingMessage): void {
  const site = request.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') throw new HttpError(403, 'CROSS_ORIGIN', 'cross-origin requests are refused');
}

/** For POSTs: the Origin (browsers always send it on a POST) must be the console's own; tools without a browser send none. */
export function checkSameOrigin(request: IncomingMessage, hosts: ReadonlySet<string>): void {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let host: string;
    try {
      const parsed = new URL(origin);
      host = parsed.protocol === 'http:' ? parsed.host.toLowerCase() : '';
    } catch {
      host = '';
    }
    if (!hosts.has(host)) throw new HttpError(403, 'CROSS_ORIGIN', 'cross-origin requests are refused');
  }
}

export function requireContentType(request: IncomingMessage, allowed: readonly string[]): void {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!allowed.includes(type)) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `send ${allowed.join(' or ')}`);
}

export async function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limitBytes) throw new HttpError(413, 'TOO_LARGE', `the body exceeds ${limitBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > limitBytes) throw new HttpError(413, 'TOO_LARGE', `the body exceeds ${limitBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson(request: IncomingMessage, limitBytes: number): Promise<Record<string, unknown>> {
  requireContentType(request, ['application/json']);
  const body = await readBody(request, limitBytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'BAD_JSON', 'the body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new HttpError(400, 'BAD_JSON', 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Headers on every response: nothing is cached, sniffed, framed or leaked through the Referer. */
const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
} as const;

export function send(response: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string>): void {
  response.writeHead(status, { ...COMMON_HEADERS, 'content-length': String(Buffer.byteLength(body)), ...headers });
  response.end(body);
}

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, JSON.stringify(value), { 'content-type': 'application/json; charset=utf-8' });
}

export function sendError(response: ServerResponse, error: HttpError): void {
  sendJson(response, error.status, { error: error.message, code: error.code });
}

/** A string query/body field, trimmed; undefined when absent or empty. */
export function text(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}
