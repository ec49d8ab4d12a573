/**
 * The gateway process's route for the local storage's signed URLs
 * (local-storage.ts): the policy is ours (which URL may do what, the refusal
 * table, the headers a download carries), serving the bytes is `send`'s.
 *
 * The handler matches paths starting with `/media/`: a proxy that serves the
 * gateway under a prefix in `publicBaseUrl` must strip it.
 *
 * Refusals are JSON `{ "error": "<sentence>", "code": "<CODE>" }` with
 * `Cache-Control: no-store` (none of them ever stores a byte), checked in
 * this order:
 *
 * | status | code | when |
 * | --- | --- | --- |
 * | 400 | BAD_PATH | the path is not `/media/<quarantine or clean>/<valid key>` (`..`, `%2e%2e`, `%2f`, empty segments, backslashes, …) |
 * | 405 | METHOD_NOT_ALLOWED | not PUT, GET, HEAD or OPTIONS (with `Allow`) |
 * | 403 | FORBIDDEN | GET/HEAD of quarantine or PUT to clean; a missing, malformed or wrong signature (any tampered parameter, another key, a GET URL used to PUT) |
 * | 410 | EXPIRED | a genuine URL past its expiry: ask for a new one |
 * | 411 | LENGTH_REQUIRED | a PUT without `Content-Length` (chunked) |
 * | 413 | TOO_LARGE | a PUT whose `Content-Length` exceeds the signed size |
 * | 400 | LENGTH_MISMATCH | a PUT whose `Content-Length` is smaller than the signed size or malformed, or whose body ends early |
 * | 415 | CONTENT_TYPE_MISMATCH | a PUT whose `Content-Type` is not exactly the signed one |
 * | 409 | ALREADY_UPLOADED | a PUT to a key that already holds an object (uploaded or promoted): an upload is written once, so the bytes processing checked are the bytes it promotes; a client whose first PUT's answer was lost can go on to completeUpload |
 * | 404 | NOT_FOUND | a GET/HEAD with a valid URL of an object that is not (or no longer) in clean |
 * | 416 | RANGE_NOT_SATISFIABLE | a `Range` outside the object |
 * | 500 | INTERNAL | anything unexpected (logged) |
 *
 * Every refusal is decided before any byte of the body is read, except a
 * body that ends early and the loser of two concurrent PUTs of one key
 * (409); a refused PUT closes the connection (`Connection: close`), so an
 * unread body is not read either. Successes: PUT 200 `{ "size": n }`; GET 200 (or 206 for
 * a single `Range`) with the signed `Content-Type` and `Content-Disposition`,
 * `X-Content-Type-Options: nosniff`, a sandboxing `Content-Security-Policy`
 * (the gateway's origin serves the API: an uploaded HTML or SVG file must
 * not run script there) and `Cache-Control: private, max-age=<seconds the
 * URL has left>`; HEAD the same headers without the body. CORS: any origin
 * (no credentials), preflights answered: the signed URL is the only
 * credential, as with S3.
 */
import type { Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { log } from '@chat/common';
import send from 'send';
import { isCode, isRefusal, MEDIA_PREFIX, type LocalObjectStorage, type Refusal } from './local-storage.ts';
import { isObjectKey } from './object-key.ts';
import type { Bucket } from './object-storage.ts';

type HttpError = Error & { status?: number };

const NOT_FOUND: Refusal = { status: 404, code: 'NOT_FOUND', error: 'No such media.' };

/**
 * Keys are checked before `send` sees them (and may start with a dot);
 * caching is the signed URL's (`Cache-Control` set per download); no index
 * files, no validators (see handleDownload).
 */
const SEND_OPTIONS = {
  dotfiles: 'allow',
  index: false,
  cacheControl: false,
  etag: false,
  lastModified: false,
} as const;
const CONDITIONAL_HEADERS = ['if-match', 'if-unmodified-since', 'if-none-match', 'if-modified-since'] as const;

export interface LocalMediaHandlerOptions {
  /**
   * Allow any origin to use the URLs (`Access-Control-Allow-Origin: *`, no
   * credentials) and answer preflights, so web apps on other origins can
   * PUT and fetch: the signed URL is the whole authorization.
   * @default true
   */
  cors?: boolean;
}

const CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/**
 * The gateway process's route for the local storage's URLs.
 * @returns a function that answers any request whose path starts with
 * `/media/` and resolves true once it has, or resolves false at once for any
 * other path (the caller goes on routing). It never rejects: unexpected
 * failures are logged and answered 500 (or the socket is destroyed when the
 * answer had begun).
 */
export function createLocalMediaHandler(
  storage: LocalObjectStorage,
  options: LocalMediaHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const cors = options.cors ?? true;
  return async (req, res) => {
    const target = req.url ?? '';
    if (!target.startsWith(MEDIA_PREFIX)) return false;
    if (cors) res.setHeader('Access-Control-Allow-Origin', '*');
    try {
      await handleMedia(storage, req, res, target, cors);
    } catch (error) {
      log.error('the media route failed', { error, method: req.method, path: target.split('?')[0] });
      if (!res.headersSent)
        refuse(req, res, { status: 500, code: 'INTERNAL', error: 'Something went wrong; try again.' });
      else res.destroy();
    }
    return true;
  };
}

async function handleMedia(
  storage: LocalObjectStorage,
  req: IncomingMessage,
  res: ServerResponse,
  target: string,
  cors: boolean,
): Promise<void> {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1));
  const parsed = parseMediaPath(path.slice(MEDIA_PREFIX.length));
  if (!parsed) return refuse(req, res, { status: 400, code: 'BAD_PATH', error: 'Not a media path.' });
  const { bucket, key } = parsed;
  const method = req.method ?? '';

  if (method === 'OPTIONS' && cors) {
    res
      .writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, HEAD, PUT',
        'Access-Control-Allow-Headers': 'content-type',
        'Access-Control-Max-Age': '600',
      })
      .end();
    return;
  }
  if (method !== 'PUT' && method !== 'GET' && method !== 'HEAD') {
    return refuse(
      req,
      res,
      { status: 405, code: 'METHOD_NOT_ALLOWED', error: 'Use PUT to upload, GET or HEAD to download.' },
      { Allow: bucket === 'clean' ? 'GET, HEAD' : 'PUT' },
    );
  }
  if (method === 'PUT') {
    if (bucket !== 'quarantine')
      return refuse(req, res, { status: 403, code: 'FORBIDDEN', error: 'Uploads go to quarantine only.' });
    return handleUpload(storage, req, res, key, query);
  }
  if (bucket !== 'clean')
    return refuse(req, res, { status: 403, code: 'FORBIDDEN', error: 'Quarantined objects are never served.' });
  return handleDownload(storage, req, res, key, query);
}

async function handleUpload(
  storage: LocalObjectStorage,
  req: IncomingMessage,
  res: ServerResponse,
  key: string,
  query: URLSearchParams,
): Promise<void> {
  const grant = storage.checkUpload(key, query);
  if (isRefusal(grant)) return refuse(req, res, grant);
  const length = req.headers['content-length'];
  if (length === undefined || req.headers['transfer-encoding'] !== undefined) {
    return refuse(req, res, { status: 411, code: 'LENGTH_REQUIRED', error: `Send Content-Length: ${grant.size}.` });
  }
  if (!/^\d{1,15}$/.test(length))
    return refuse(req, res, { status: 400, code: 'LENGTH_MISMATCH', error: `Send Content-Length: ${grant.size}.` });
  if (Number(length) > grant.size)
    return refuse(req, res, {
      status: 413,
      code: 'TOO_LARGE',
      error: `This upload is ${grant.size} bytes; the body is larger.`,
    });
  if (Number(length) !== grant.size)
    return refuse(req, res, {
      status: 400,
      code: 'LENGTH_MISMATCH',
      error: `This upload is ${grant.size} bytes; the body is smaller.`,
    });
  if (req.headers['content-type'] !== grant.contentType) {
    return refuse(req, res, {
      status: 415,
      code: 'CONTENT_TYPE_MISMATCH',
      error: `Send Content-Type: ${grant.contentType}.`,
    });
  }
  if (await storage.exists(key))
    return refuse(req, res, { status: 409, code: 'ALREADY_UPLOADED', error: 'This upload already has its bytes.' });

  let outcome;
  try {
    outcome = await storage.storeUpload(key, req, grant.size);
  } catch (error) {
    // The connection ended mid-body (the client left, or the HTTP parser refused what followed): nothing was stored, and nobody is left to answer.
    if (isCode(error, 'ECONNRESET') || req.socket.destroyed) return;
    throw error;
  }
  if (outcome === 'stored') {
    const body = JSON.stringify({ size: grant.size });
    res
      .writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': String(body.length),
        'Cache-Control': 'no-store',
      })
      .end(body);
  } else if (outcome === 'exists') {
    refuse(req, res, { status: 409, code: 'ALREADY_UPLOADED', error: 'This upload already has its bytes.' });
  } else if (outcome === 'too-large') {
    // Unreachable while the HTTP parser holds the body to Content-Length; kept as the hard cap.
    refuse(req, res, {
      status: 413,
      code: 'TOO_LARGE',
      error: `This upload is ${grant.size} bytes; the body is larger.`,
    });
  } else {
    refuse(req, res, {
      status: 400,
      code: 'LENGTH_MISMATCH',
      error: `This upload is ${grant.size} bytes; the body ended early.`,
    });
  }
}

/**
 * Serves clean/`key` with `send` (ranges, HEAD, streaming, a file gone
 * between look-up and read), under the signed URL's policy: its content type
 * and disposition, no sniffing, a sandbox, cached no longer than the URL
 * lives. `send`'s validators are off, as they always were here: the URL, not
 * the file, is what a client caches, and it changes with every signature.
 */
async function handleDownload(
  storage: LocalObjectStorage,
  req: IncomingMessage,
  res: ServerResponse,
  key: string,
  query: URLSearchParams,
): Promise<void> {
  const grant = storage.checkDownload(key, query);
  if (isRefusal(grant)) return refuse(req, res, grant);
  // Without validators a precondition could only fail (412): conditional requests get the object, as they always did.
  for (const name of CONDITIONAL_HEADERS) delete req.headers[name];
  const stream = send(req, `/${key}`, { ...SEND_OPTIONS, root: join(storage.root, 'clean') });
  let size = 0;
  stream.on('headers', (response: ServerResponse, _path: string, stat: Stats) => {
    size = stat.size;
    response.setHeader('Content-Type', grant.contentType);
    response.setHeader('Content-Disposition', grant.disposition);
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Content-Security-Policy', CSP);
    response.setHeader('Cache-Control', `private, max-age=${storage.remainingSeconds(grant.expiresAt)}`);
    response.setHeader('Access-Control-Expose-Headers', 'Content-Disposition, Content-Length, Content-Range');
  });
  await new Promise<void>((resolve, reject) => {
    res.once('close', resolve);
    res.once('finish', resolve);
    stream.on('directory', () => {
      refuse(req, res, NOT_FOUND, {}, true);
      resolve();
    });
    stream.on('error', (error: HttpError) => {
      // The client went away mid-body, or the file did: the answer had begun, so the connection ends.
      if (res.headersSent) {
        res.destroy();
        return resolve();
      }
      const refusal = sendRefusal(error, size);
      if (!refusal) return reject(error);
      refuse(req, res, refusal, refusal.status === 416 ? { 'Content-Range': `bytes */${size}` } : {}, true);
      resolve();
    });
    stream.pipe(res);
  });
}

/** What `send` refuses, as this route answers it; null for anything unexpected (a 500). */
function sendRefusal(error: HttpError, size: number): Refusal | null {
  switch (error.status) {
    case 404:
      return NOT_FOUND;
    case 416:
      return { status: 416, code: 'RANGE_NOT_SATISFIABLE', error: `The object has ${size} bytes.` };
    default:
      return null;
  }
}

/** `bucket/seg/seg…` from a raw request path, each segment percent-decoded and checked; null for anything else. */
function parseMediaPath(raw: string): { bucket: Bucket; key: string } | null {
  const segments: string[] = [];
  for (const part of raw.split('/')) {
    let segment;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return null;
    }
    segments.push(segment);
  }
  const [bucket, ...rest] = segments;
  if (bucket !== 'quarantine' && bucket !== 'clean') return null;
  const key = rest.join('/');
  // A decoded "/" (from %2F) makes an extra or empty segment here, so it fails too.
  if (rest.some((segment) => segment.includes('/')) || !isObjectKey(key)) return null;
  return { bucket, key };
}

/**
 * Answers a refusal as JSON. `clear`: drop the headers already set for a
 * success (by `send` or the download policy), keeping only CORS.
 */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  refusal: Refusal,
  headers: Record<string, string> = {},
  clear = false,
): void {
  if (clear) {
    for (const name of res.getHeaderNames()) if (name !== 'access-control-allow-origin') res.removeHeader(name);
  }
  const body = JSON.stringify({ error: refusal.error, code: refusal.code });
  const all: Record<string, string> = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  };
  // A request body that was not read will not be: the connection ends with the answer.
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.complete) all.Connection = 'close';
  res.writeHead(refusal.status, all);
  res.end(req.method === 'HEAD' ? undefined : body);
}
