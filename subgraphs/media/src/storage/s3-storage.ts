/**
 * The distributed mode's object storage: any S3-compatible store (AWS S3,
 * MinIO, Ceph RGW, S3Proxy) through `@aws-sdk/client-s3`, two buckets, and
 * presigned URLs (SigV4, query-string form) that clients use directly:
 *
 *     PUT <endpoint>/<quarantine bucket>/<key>?X-Amz-…&X-Amz-SignedHeaders=content-length;content-type;host
 *     GET <endpoint>/<clean bucket>/<key>?response-content-type=…&response-content-disposition=…&response-cache-control=…&X-Amz-…
 *
 * (path style; virtual-hosted style puts the bucket in the host name).
 *
 * - The upload URL signs `Content-Type` and `Content-Length`, so a store
 *   that checks signed headers (AWS does) refuses any other type or length
 *   with 403 SignatureDoesNotMatch before storing. Whether a given store
 *   checks the body against the signed length is the store's business, so
 *   `size()` is exact (HeadObject) and the media subgraph compares it with
 *   the declared size before processing.
 * - Checksums are computed only where an operation requires them
 *   (`requestChecksumCalculation: 'WHEN_REQUIRED'`): by default the SDK
 *   puts the CRC32 of an empty body into presigned PUT URLs, which no
 *   upload with bytes can match, and S3Proxy/older stores do not know the
 *   newer checksum headers.
 * - Refusals are the store's own (XML): 403 AccessDenied or
 *   SignatureDoesNotMatch for a tampered or expired URL (AWS says "Request
 *   has expired"), 404 NoSuchKey.
 */
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
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

export interface S3ObjectStorageOptions {
  /**
   * The store's endpoint, e.g. `http://127.0.0.1:9000` (S3Proxy, MinIO).
   * @default AWS's endpoint for `region`
   */
  endpoint?: string;
  /**
   * Where clients reach the store, when that is not `endpoint` (the server
   * talks to `http://minio:9000`, clients to `https://media.example.com`).
   * Presigned URLs are signed for this host.
   * @default endpoint
   */
  publicEndpoint?: string;
  /** @default 'us-east-1' (what S3Proxy and MinIO accept by default) */
  region?: string;
  /** @default the SDK's provider chain (environment, profile, instance role) */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * `<endpoint>/<bucket>/<key>` instead of `<bucket>.<endpoint host>/<key>`:
   * needed for S3Proxy, MinIO and most self-hosted stores.
   * @default false
   */
  forcePathStyle?: boolean;
  /** The bucket names of `quarantine` and `clean`. */
  buckets: Record<Bucket, string>;
}

const NOT_FOUND_NAMES = new Set(['NotFound', 'NoSuchKey', 'NoSuchBucket']);

export class S3ObjectStorage implements ObjectStorage {
  readonly #client: S3Client;
  readonly #presigner: S3Client;
  readonly #buckets: Record<Bucket, string>;

  constructor(options: S3ObjectStorageOptions) {
    const config = (endpoint: string | undefined): S3ClientConfig => ({
      ...(endpoint === undefined ? {} : { endpoint }),
      region: options.region ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.#client = new S3Client(config(options.endpoint));
    this.#presigner =
      options.publicEndpoint === undefined || options.publicEndpoint === options.endpoint
        ? this.#client
        : new S3Client(config(options.publicEndpoint));
    if (!options.buckets.quarantine || !options.buckets.clean || options.buckets.quarantine === options.buckets.clean) {
      throw new TypeError('S3 storage needs two different bucket names, for quarantine and clean.');
    }
    this.#buckets = { ...options.buckets };
  }

  async presignUpload(options: PutUploadOptions): Promise<PresignedUpload> {
    assertObjectKey(options.key);
    assertContentType(options.contentType);
    assertSize(options.size);
    assertLifetime(options.expiresInSeconds);
    const command = new PutObjectCommand({
      Bucket: this.#buckets.quarantine,
      Key: options.key,
      ContentType: options.contentType,
      ContentLength: options.size,
    });
    const signedAt = Date.now();
    const url = await getSignedUrl(this.#presigner, command, {
      expiresIn: options.expiresInSeconds,
      // Not signed by default (only host and content-length are): signing makes the store refuse another type.
      signableHeaders: new Set(['content-type', 'content-length']),
    });
    return {
      url,
      headers: { 'Content-Type': options.contentType, 'Content-Length': String(options.size) },
      // SigV4 counts from X-Amz-Date, whole seconds, at or before signedAt.
      expiresAt: new Date(Math.floor(signedAt / 1000) * 1000 + options.expiresInSeconds * 1000),
    };
  }

  async presignDownload(key: string, options: DownloadOptions): Promise<string> {
    assertObjectKey(key);
    assertContentType(options.contentType);
    assertLifetime(options.expiresInSeconds);
    const command = new GetObjectCommand({
      Bucket: this.#buckets.clean,
      Key: key,
      ResponseContentType: options.contentType,
      ResponseContentDisposition: contentDisposition(options.fileName, options.contentType),
      ResponseCacheControl: `private, max-age=${options.expiresInSeconds}`,
    });
    return getSignedUrl(this.#presigner, command, { expiresIn: options.expiresInSeconds });
  }

  async size(bucket: Bucket, key: string): Promise<number | null> {
    assertObjectKey(key);
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket(bucket), Key: key }));
      if (head.ContentLength === undefined)
        throw new Error(`HeadObject of ${key} in ${bucket} answered no Content-Length.`);
      return head.ContentLength;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async read(bucket: Bucket, key: string): Promise<Readable> {
    assertObjectKey(key);
    try {
      const object = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket(bucket), Key: key }));
      // In Node the body is the response's IncomingMessage (a Readable with SDK helpers mixed in).
      if (!(object.Body instanceof Readable))
        throw new Error(`GetObject of ${key} in ${bucket} answered no readable body.`);
      return object.Body;
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(bucket, key);
      throw error;
    }
  }

  async write(bucket: Bucket, key: string, body: Buffer, contentType: string): Promise<void> {
    assertObjectKey(key);
    assertContentType(contentType);
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket(bucket),
        Key: key,
        Body: body,
        ContentType: contentType,
        ContentLength: body.length,
      }),
    );
  }

  /**
   * CopyObject then DeleteObject. A clean object that exists already is
   * never replaced (its quarantined namesake is only deleted), so a crash
   * between the two steps, or a second call, finishes the first one.
   * @throws ObjectNotFoundError when neither exists.
   */
  async promote(key: string): Promise<void> {
    assertObjectKey(key);
    if ((await this.size('clean', key)) === null) {
      try {
        await this.#client.send(
          new CopyObjectCommand({
            Bucket: this.#buckets.clean,
            Key: key,
            // URL-encoded, per the API; the key's characters need none, the bucket's might.
            CopySource: `${encodeURIComponent(this.#buckets.quarantine)}/${key}`,
            MetadataDirective: 'COPY',
          }),
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
        // The source is gone: done if another call promoted it meanwhile.
        if ((await this.size('clean', key)) === null) throw new ObjectNotFoundError('quarantine', key);
      }
    }
    await this.delete('quarantine', key);
  }

  async delete(bucket: Bucket, key: string): Promise<void> {
    assertObjectKey(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket(bucket), Key: key }));
    } catch (error) {
      // S3 answers 204 for a missing key; some stores say NoSuchKey.
      if (!isNotFound(error)) throw error;
    }
  }

  /** Creates the two buckets where missing: for development and tests (production creates them beforehand, with their policies). */
  async ensureBuckets(): Promise<void> {
    for (const bucket of [this.#buckets.quarantine, this.#buckets.clean]) {
      try {
        await this.#client.send(new HeadBucketCommand({ Bucket: bucket }));
        continue;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      try {
        await this.#client.send(new CreateBucketCommand({ Bucket: bucket }));
      } catch (error) {
        const name = (error as { name?: unknown }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
      }
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
    if (this.#presigner !== this.#client) this.#presigner.destroy();
  }

  #bucket(bucket: Bucket): string {
    const name = this.#buckets[bucket];
    if (name === undefined) throw new TypeError(`Unknown bucket ${JSON.stringify(bucket)}.`);
    return name;
  }
}

/** HeadObject's 404 has no body, so the SDK names it NotFound; GetObject's says NoSuchKey. */
function isNotFound(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, $metadata } = error as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  return (typeof name === 'string' && NOT_FOUND_NAMES.has(name)) || $metadata?.httpStatusCode === 404;
}
