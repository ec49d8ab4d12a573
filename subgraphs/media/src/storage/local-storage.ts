/**
 * The embedded mode's object storage: files on local disk, served by the
 * gateway process through signed, expiring URLs (`createLocalMediaHandler`,
 * local-media-handler.ts).
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
 * The signed-URL check (`checkUpload`, `checkDownload`) lives here, beside
 * the signing; the HTTP route that uses it is `local-media-handler.ts`.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { contentDisposition } from './download-name.ts';
import { assertContentType, assertLifetime, assertObjectKey, assertSize } from './object-key.ts';
import {
  ObjectNotFoundError,
  type Bucket,
  type DownloadOptions,
  type ObjectStorage,
  type PresignedUpload,
  type PutUploadOptions,
} from './object-storage.ts';
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
/** Where the gateway process serves the local storage's URLs. */
export const MEDIA_PREFIX = '/media/';
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
    if (this.#key.length < MIN_KEY_BYTES)
      throw new RangeError(`The media URL signing key needs at least ${MIN_KEY_BYTES} bytes.`);
    const base = new URL(options.publicBaseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new TypeError('publicBaseUrl must be an http(s) URL.');
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

  // What follows serves createLocalMediaHandler (local-media-handler.ts).

  /** The valid upload grant a PUT URL's query carries, or a refusal. */
  checkUpload(key: string, query: URLSearchParams): UploadGrant | Refusal {
    const exp = single(query, 'exp');
    const ct = single(query, 'ct');
    const len = single(query, 'len');
    const sig = single(query, 'sig');
    if (
      exp === null ||
      ct === null ||
      len === null ||
      sig === null ||
      !/^\d{1,15}$/.test(exp) ||
      !/^\d{1,15}$/.test(len)
    )
      return FORBIDDEN;
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
  async storeUpload(
    key: string,
    body: AsyncIterable<Buffer>,
    size: number,
  ): Promise<'stored' | 'exists' | 'too-large' | 'short'> {
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
    return createHmac('sha256', this.#key)
      .update(JSON.stringify([SIGNATURE_VERSION, ...fields]))
      .digest('base64url');
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
      for (const dir of ['quarantine', 'clean', 'tmp'])
        await mkdir(join(this.root, dir), { recursive: true, mode: 0o700 });
      await this.#sweepTemp();
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    await this.#ready;
    return join(this.root, 'tmp', `${randomUUID()}.part`);
  }
}

/** An answer refusing a request: the HTTP status and the JSON body's `code` and `error`. */
export type Refusal = { status: number; code: MediaUrlCode; error: string };
const FORBIDDEN: Refusal = { status: 403, code: 'FORBIDDEN', error: 'This URL is not validly signed.' };
const EXPIRED: Refusal = { status: 410, code: 'EXPIRED', error: 'This URL has expired; ask for a new one.' };

/** Whether a signed-URL check refused (rather than granted). */
export function isRefusal(value: object): value is Refusal {
  return 'status' in value;
}

/** A query parameter present exactly once, else null. */
function single(query: URLSearchParams, name: string): string | null {
  const values = query.getAll(name);
  return values.length === 1 ? (values[0] ?? null) : null;
}

/** Whether `error` is a system error with this code (`ENOENT`, …). */
export function isCode(error: unknown, code: string): boolean {
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
