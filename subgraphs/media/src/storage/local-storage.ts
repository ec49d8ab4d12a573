/**
 * The embedded mode's object storage: files on local disk, served by the
 * gateway process through signed, expiring URLs (`createLocalMediaHandler`).
 *
 * Layout under `root` (one filesystem, so moves are renames and links):
 *
 *     <root>/quarantine/<key>   uploads, never served
 *     <root>/clean/<key>        promoted by processing, served by signed GET URLs
 *     <root>/tmp/<uuid>.part    bytes being written; every write lands here first
 *
 * URLs (`exp` is the expiry in Unix seconds; `sig` is base64url HMAC-SHA256,
 * over the fields listed at `#sign` below; the key's segments are URL-safe as they are):
 *
 *     PUT  <publicBaseUrl>/media/quarantine/<key>?exp=<s>&ct=<content type>&len=<bytes>&sig=<sig>
 *     GET  <publicBaseUrl>/media/clean/<key>?exp=<s>&ct=<content type>&cd=<content disposition>&sig=<sig>
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
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { log } from '@chat/common';
import { contentDisposition } from './download-name.ts';
import { assertContentType, assertLifetime, assertObjectKey, assertSize, isObjectKey } from './object-key.ts';
import { ObjectNotFoundError, type Bucket, type DownloadOptions, type ObjectStorage, type PresignedUpload, type PutUploadOptions } from './object-storage.ts';
import type { MediaUrlCode } from '../errors.ts';

export interface LocalObjectStorageOptions {
  /** The directory holding `quarantine/`, `clean/` and `tmp/`; created (mode 0700) when missing. */
  root: string;
  /**
   * The HMAC-SHA256 key of the URLs, at least 32 bytes (a string counts its
   * UTF-8 bytes). The media subgraph derives it from the server's secrets,
   * so every process sharing them accepts each other's URLs.
   */
  key: Uint8Array | string;
  /**
   * Where clients reach the gateway process, e.g. `http://localhost:4000`
   * (a trailing slash is ignored). URLs are `<publicBaseUrl>/media/…`.
   */
  publicBaseUrl: string;
  /**
   * The clock, in milliseconds.
   * @default Date.now
   */
  now?: () => number;
}

const BUCKETS: readonly Bucket[] = ['quarantine', 'clean'];
const MEDIA_PREFIX = '/media/';
/** Domain separation: these HMACs can never be confused with other uses of a key derived from the same secrets. */
const SIGNATURE_VERSION = 'chat-media-url/1';
const MIN_KEY_BYTES = 32;

/** The signed parameters of a URL, as the handler found them valid. */
export interface UploadGrant {
  key: string;
  expiresAt: number;
  contentType: string;
  size: number;
}
export interface DownloadGrant {
  key: string;
  expiresAt: number;
  contentType: string;
  disposition: string;
}

export class LocalObjectStorage implements ObjectStorage {
  readonly root: string;
  readonly #key: Buffer;
  readonly #base: string;
  readonly #now: () => number;
  #ready: Promise<void> | undefined;

  constructor(options: LocalObjectStorageOptions) {
    this.root = resolve(options.root);
    this.#key = typeof options.key === 'string' ? Buffer.from(options.key, 'utf8') : Buffer.from(options.key);
    if (this.#key.length < MIN_KEY_BYTES) throw new RangeError(`The media URL signing key needs at least ${MIN_KEY_BYTES} bytes.`);
    const base = new URL(options.publicBaseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('publicBaseUrl must be an http(s) URL.');
    this.#base = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
    this.#now = options.now ?? Date.now;
  }

  async presignUpload(options: PutUploadOptions): Promise<PresignedUpload> {
    assertObjectKey(options.key);
    assertContentType(options.contentType);
    assertSize(options.size);
    assertLifetime(options.expiresInSeconds);
    const exp = this.#nowSeconds() + options.expiresInSeconds;
    const sig = this.#sign(['PUT', 'quarantine', options.key, String(exp), options.contentType, String(options.size)]);
    const query = new URLSearchParams({ exp: String(exp), ct: options.contentType, len: String(options.size), sig });
    return {
      url: `${this.#base}${MEDIA_PREFIX}quarantine/${options.key}?${query}`,
      headers: { 'Content-Type': options.contentType, 'Content-Length': String(options.size) },
      expiresAt: new Date(exp * 1000),
    };
  }

  async presignDownload(key: string, options: DownloadOptions): Promise<string> {
    assertObjectKey(key);
    assertContentType(options.contentType);
    assertLifetime(options.expiresInSeconds);
    const exp = this.#nowSeconds() + options.expiresInSeconds;
    const cd = contentDisposition(options.fileName, options.contentType);
    const sig = this.#sign(['GET', 'clean', key, String(exp), options.contentType, cd]);
    const query = new URLSearchParams({ exp: String(exp), ct: options.contentType, cd, sig });
    return `${this.#base}${MEDIA_PREFIX}clean/${key}?${query}`;
  }

  async size(bucket: Bucket, key: string): Promise<number | null> {
    try {
      const info = await stat(this.pathOf(bucket, key));
      return info.isFile() ? info.size : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async read(bucket: Bucket, key: string): Promise<Readable> {
    const path = this.pathOf(bucket, key);
    try {
      // Opened here, so a missing object throws now and not from the stream later.
      const handle = await open(path, 'r');
      return handle.createReadStream();
    } catch (error) {
      if (isMissing(error)) throw new ObjectNotFoundError(bucket, key);
      throw error;
    }
  }

  async write(bucket: Bucket, key: string, body: Buffer, _contentType: string): Promise<void> {
    // The content type is not stored: downloads carry it in their signed URL.
    const path = this.pathOf(bucket, key);
    const temp = await this.#tempFile();
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await rename(temp, path);
    } catch (error) {
      await unlinkQuietly(temp);
      throw error;
    }
  }

  /**
   * Hard-links quarantine/`key` as clean/`key`, then unlinks the quarantined
   * name: a rename that never replaces an existing clean object (a link fails
   * when its name exists). A crash between the two steps leaves both names;
   * the next call removes the quarantined one.
   * @throws ObjectNotFoundError when neither exists.
   */
  async promote(key: string): Promise<void> {
    const source = this.pathOf('quarantine', key);
    const target = this.pathOf('clean', key);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    try {
      await link(source, target);
    } catch (error) {
      if (isCode(error, 'EEXIST')) {
        await unlinkQuietly(source);
        return;
      }
      if (isMissing(error)) {
        if ((await this.size('clean', key)) !== null) return;
        throw new ObjectNotFoundError('quarantine', key);
      }
      throw error;
    }
    await unlinkQuietly(source);
  }

  async delete(bucket: Bucket, key: string): Promise<void> {
    await unlinkQuietly(this.pathOf(bucket, key));
  }

  async close(): Promise<void> {}

  /**
   * The file of an object.
   * @throws TypeError for an invalid key or bucket (so no path outside the bucket can ever come out).
   */
  pathOf(bucket: Bucket, key: string): string {
    if (!BUCKETS.includes(bucket)) throw new TypeError(`Unknown bucket ${JSON.stringify(bucket)}.`);
    assertObjectKey(key);
    const dir = join(this.root, bucket);
    const path = join(dir, ...key.split('/'));
    // Belt and braces: the key's syntax already rules this out.
    if (!path.startsWith(dir + sep)) throw new TypeError('Object path escapes its bucket.');
    return path;
  }

  // What follows serves createLocalMediaHandler.

  /** The valid upload grant a PUT URL's query carries, or a refusal. */
  checkUpload(key: string, query: URLSearchParams): UploadGrant | Refusal {
    const exp = single(query, 'exp');
    const ct = single(query, 'ct');
    const len = single(query, 'len');
    const sig = single(query, 'sig');
    if (exp === null || ct === null || len === null || sig === null || !/^\d{1,15}$/.test(exp) || !/^\d{1,15}$/.test(len)) return FORBIDDEN;
    if (!this.#verify(['PUT', 'quarantine', key, exp, ct, len], sig)) return FORBIDDEN;
    if (this.#now() >= Number(exp) * 1000) return EXPIRED;
    return { key, expiresAt: Number(exp), contentType: ct, size: Number(len) };
  }

  /** The valid download grant a GET URL's query carries, or a refusal. */
  checkDownload(key: string, query: URLSearchParams): DownloadGrant | Refusal {
    const exp = single(query, 'exp');
    const ct = single(query, 'ct');
    const cd = single(query, 'cd');
    const sig = single(query, 'sig');
    if (exp === null || ct === null || cd === null || sig === null || !/^\d{1,15}$/.test(exp)) return FORBIDDEN;
    if (!this.#verify(['GET', 'clean', key, exp, ct, cd], sig)) return FORBIDDEN;
    if (this.#now() >= Number(exp) * 1000) return EXPIRED;
    return { key, expiresAt: Number(exp), contentType: ct, disposition: cd };
  }

  /** Seconds until `expiresAt` (Unix seconds), at least 0. */
  remainingSeconds(expiresAt: number): number {
    return Math.max(0, expiresAt - this.#nowSeconds());
  }

  /**
   * Writes an upload's body to quarantine/`key`: to a temporary file first,
   * never more than `size` bytes (the stream is cut as soon as it goes
   * over), synced, then linked into place only if nothing holds the key.
   */
  async storeUpload(key: string, body: AsyncIterable<Buffer>, size: number): Promise<'stored' | 'exists' | 'too-large' | 'short'> {
    const path = this.pathOf('quarantine', key);
    const temp = await this.#tempFile();
    try {
      const handle = await open(temp, 'wx', 0o600);
      let written = 0;
      try {
        for await (const chunk of body) {
          written += chunk.length;
          if (written > size) return 'too-large';
          await handle.write(chunk);
        }
        if (written !== size) return 'short';
        await handle.sync();
      } finally {
        await handle.close();
      }
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      try {
        await link(temp, path);
      } catch (error) {
        if (isCode(error, 'EEXIST')) return 'exists';
        throw error;
      }
      return 'stored';
    } finally {
      await unlinkQuietly(temp);
    }
  }

  /** Whether either bucket holds `key`. */
  async exists(key: string): Promise<boolean> {
    return (await this.size('quarantine', key)) !== null || (await this.size('clean', key)) !== null;
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  /**
   * What is signed: a JSON array (unambiguous whatever the fields contain) of
   * the version, the method (`PUT` or `GET`; HEAD uses GET's), the bucket,
   * the key, the expiry, the content type, and the exact size (PUT) or the
   * Content-Disposition (GET).
   */
  #sign(fields: readonly string[]): string {
    return createHmac('sha256', this.#key).update(JSON.stringify([SIGNATURE_VERSION, ...fields])).digest('base64url');
  }

  #verify(fields: readonly string[], signature: string): boolean {
    if (!/^[A-Za-z0-9_-]{43}$/.test(signature)) return false;
    const expected = Buffer.from(this.#sign(fields), 'base64url');
    const given = Buffer.from(signature, 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Removes temporary files a crashed process left (older than an hour: no write takes that long). */
  async #sweepTemp(): Promise<void> {
    const dir = join(this.root, 'tmp');
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.part')) continue;
      const info = await stat(join(dir, name)).catch(() => null);
      if (info && this.#now() - info.mtimeMs > 3_600_000) await unlinkQuietly(join(dir, name));
    }
  }

  async #tempFile(): Promise<string> {
    this.#ready ??= (async () => {
      for (const dir of ['quarantine', 'clean', 'tmp']) await mkdir(join(this.root, dir), { recursive: true, mode: 0o700 });
      await this.#sweepTemp();
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    await this.#ready;
    return join(this.root, 'tmp', `${randomUUID()}.part`);
  }
}

export interface LocalMediaHandlerOptions {
  /**
   * Allow any origin to use the URLs (`Access-Control-Allow-Origin: *`, no
   * credentials) and answer preflights, so web apps on other origins can
   * PUT and fetch: the signed URL is the whole authorization.
   * @default true
   */
  cors?: boolean;
}

/** An answer refusing a request: the HTTP status and the JSON body's `code` and `error`. */
export type Refusal = { status: number; code: MediaUrlCode; error: string };
const FORBIDDEN: Refusal = { status: 403, code: 'FORBIDDEN', error: 'This URL is not validly signed.' };
const EXPIRED: Refusal = { status: 410, code: 'EXPIRED', error: 'This URL has expired; ask for a new one.' };
const CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

function isRefusal(value: object): value is Refusal {
  return 'status' in value;
}

/**
 * The gateway process's route for the local storage's URLs.
 * @returns a function that answers any request whose path starts with
 * `/media/` and resolves true once it has, or resolves false at once for any
 * other path (the caller goes on routing). It never rejects: unexpected
 * failures are logged and answered 500 (or the socket is destroyed when the
 * answer had begun).
 */
export function createLocalMediaHandler(storage: LocalObjectStorage, options: LocalMediaHandlerOptions = {}): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const cors = options.cors ?? true;
  return async (req, res) => {
    const target = req.url ?? '';
    if (!target.startsWith(MEDIA_PREFIX)) return false;
    if (cors) res.setHeader('Access-Control-Allow-Origin', '*');
    try {
      await handleMedia(storage, req, res, target, cors);
    } catch (error) {
      log.error('the media route failed', { error, method: req.method, path: target.split('?')[0] });
      if (!res.headersSent) refuse(req, res, { status: 500, code: 'INTERNAL', error: 'Something went wrong; try again.' });
      else res.destroy();
    }
    return true;
  };
}

async function handleMedia(storage: LocalObjectStorage, req: IncomingMessage, res: ServerResponse, target: string, cors: boolean): Promise<void> {
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
    return refuse(req, res, { status: 405, code: 'METHOD_NOT_ALLOWED', error: 'Use PUT to upload, GET or HEAD to download.' }, { Allow: bucket === 'clean' ? 'GET, HEAD' : 'PUT' });
  }
  if (method === 'PUT') {
    if (bucket !== 'quarantine') return refuse(req, res, { status: 403, code: 'FORBIDDEN', error: 'Uploads go to quarantine only.' });
    return handleUpload(storage, req, res, key, query);
  }
  if (bucket !== 'clean') return refuse(req, res, { status: 403, code: 'FORBIDDEN', error: 'Quarantined objects are never served.' });
  return handleDownload(storage, req, res, key, query);
}

async function handleUpload(storage: LocalObjectStorage, req: IncomingMessage, res: ServerResponse, key: string, query: URLSearchParams): Promise<void> {
  const grant = storage.checkUpload(key, query);
  if (isRefusal(grant)) return refuse(req, res, grant);
  const length = req.headers['content-length'];
  if (length === undefined || req.headers['transfer-encoding'] !== undefined) {
    return refuse(req, res, { status: 411, code: 'LENGTH_REQUIRED', error: `Send Content-Length: ${grant.size}.` });
  }
  if (!/^\d{1,15}$/.test(length)) return refuse(req, res, { status: 400, code: 'LENGTH_MISMATCH', error: `Send Content-Length: ${grant.size}.` });
  if (Number(length) > grant.size) return refuse(req, res, { status: 413, code: 'TOO_LARGE', error: `This upload is ${grant.size} bytes; the body is larger.` });
  if (Number(length) !== grant.size) return refuse(req, res, { status: 400, code: 'LENGTH_MISMATCH', error: `This upload is ${grant.size} bytes; the body is smaller.` });
  if (req.headers['content-type'] !== grant.contentType) {
    return refuse(req, res, { status: 415, code: 'CONTENT_TYPE_MISMATCH', error: `Send Content-Type: ${grant.contentType}.` });
  }
  if (await storage.exists(key)) return refuse(req, res, { status: 409, code: 'ALREADY_UPLOADED', error: 'This upload already has its bytes.' });

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
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(body.length), 'Cache-Control': 'no-store' }).end(body);
  } else if (outcome === 'exists') {
    refuse(req, res, { status: 409, code: 'ALREADY_UPLOADED', error: 'This upload already has its bytes.' });
  } else if (outcome === 'too-large') {
    // Unreachable while the HTTP parser holds the body to Content-Length; kept as the hard cap.
    refuse(req, res, { status: 413, code: 'TOO_LARGE', error: `This upload is ${grant.size} bytes; the body is larger.` });
  } else {
    refuse(req, res, { status: 400, code: 'LENGTH_MISMATCH', error: `This upload is ${grant.size} bytes; the body ended early.` });
  }
}

async function handleDownload(storage: LocalObjectStorage, req: IncomingMessage, res: ServerResponse, key: string, query: URLSearchParams): Promise<void> {
  const grant = storage.checkDownload(key, query);
  if (isRefusal(grant)) return refuse(req, res, grant);
  let handle;
  try {
    handle = await open(storage.pathOf('clean', key), 'r');
  } catch (error) {
    if (isMissing(error) || isCode(error, 'EISDIR')) return refuse(req, res, { status: 404, code: 'NOT_FOUND', error: 'No such media.' });
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return refuse(req, res, { status: 404, code: 'NOT_FOUND', error: 'No such media.' });
    const headers: Record<string, string> = {
      'Content-Type': grant.contentType,
      'Content-Disposition': grant.disposition,
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': CSP,
      'Cache-Control': `private, max-age=${storage.remainingSeconds(grant.expiresAt)}`,
      'Accept-Ranges': 'bytes',
      'Access-Control-Expose-Headers': 'Content-Disposition, Content-Length, Content-Range',
    };
    const range = req.headers['if-range'] === undefined ? parseRange(req.headers.range, info.size) : undefined;
    if (range === 'unsatisfiable') {
      return refuse(req, res, { status: 416, code: 'RANGE_NOT_SATISFIABLE', error: `The object has ${info.size} bytes.` }, { 'Content-Range': `bytes */${info.size}` });
    }
    const [start, end] = range ?? [0, info.size - 1];
    headers['Content-Length'] = String(Math.max(0, end - start + 1));
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${info.size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || info.size === 0) {
      res.end();
      return;
    }
    const stream = handle.createReadStream({ start, end, autoClose: false });
    try {
      await pipeline(stream, res);
    } catch {
      // The client went away; nothing to answer.
    }
  } finally {
    await handle.close();
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

/** One `bytes=` range of `size` bytes: [start, end], 'unsatisfiable', or undefined (no range, several, or malformed: the whole object). */
function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') return undefined;
  if (from === '') {
    const suffix = Number(to);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(from);
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (start >= size || (to !== '' && Number(to) < start)) return 'unsatisfiable';
  return [start, end];
}

function refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal, headers: Record<string, string> = {}): void {
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

/** A query parameter present exactly once, else null. */
function single(query: URLSearchParams, name: string): string | null {
  const values = query.getAll(name);
  return values.length === 1 ? (values[0] ?? null) : null;
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function isMissing(error: unknown): boolean {
  return isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR');
}

async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}
