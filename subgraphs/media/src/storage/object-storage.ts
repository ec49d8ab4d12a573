/**
 * Where media bytes live: two buckets, `quarantine` (uploads land here,
 * unchecked, never served) and `clean` (what processing accepted). Two
 * implementations behind this one interface: local disk for the embedded
 * mode (the gateway process serves signed, expiring URLs for it) and S3 for
 * the distributed mode (any S3-compatible store, presigned URLs).
 */
import type { Readable } from 'node:stream';

export type Bucket = 'quarantine' | 'clean';

export interface PresignedUpload {
  /** PUT the bytes here. */
  url: string;
  /** Headers the PUT must carry exactly (they are part of the signature). */
  headers: Record<string, string>;
  expiresAt: Date;
}

export interface PutUploadOptions {
  key: string;
  contentType: string;
  /** The exact byte count: a PUT with another Content-Length is refused, so nothing larger is ever stored. */
  size: number;
  expiresInSeconds: number;
}

export interface DownloadOptions {
  /** Sent back as Content-Type. */
  contentType: string;
  /**
   * The name suggested for saving: sent back as `Content-Disposition:
   * attachment` (always), cleaned and with the extension of `contentType`
   * (`downloadName` in download-name.ts).
   * @default 'download.<extension>'
   */
  fileName?: string;
  expiresInSeconds: number;
}

export interface ObjectStorage {
  /** A URL the client PUTs the bytes of `key` to, in quarantine. */
  presignUpload(options: PutUploadOptions): Promise<PresignedUpload>;
  /** A URL that GETs `key` from the clean bucket until it expires. */
  presignDownload(key: string, options: DownloadOptions): Promise<string>;
  /** The object's size in bytes, or null when there is none. */
  size(bucket: Bucket, key: string): Promise<number | null>;
  /** Reads an object. @throws when there is none. */
  read(bucket: Bucket, key: string): Promise<Readable>;
  /** Writes an object (processing writes thumbnails to the clean bucket). */
  write(bucket: Bucket, key: string, body: Buffer, contentType: string): Promise<void>;
  /** Copies quarantine/`key` to clean/`key` and deletes the quarantined copy. Idempotent: a second call after success does nothing. */
  promote(key: string): Promise<void>;
  /** Deletes an object; deleting one that is not there is not an error. */
  delete(bucket: Bucket, key: string): Promise<void>;
  close(): Promise<void>;
}

/** (Added with the storages.) What `read` and `promote` throw when the object is not there. */
export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  constructor(
    readonly bucket: Bucket,
    readonly key: string,
  ) {
    super(`No object ${key} in ${bucket}.`);
  }
}
