/**
 * Takes completed uploads from quarantine to READY or REJECTED: copies the
 * bytes to a temporary file, inspects them (signature, limits, metadata,
 * thumbnail), scans them when a scanner is configured, and only then writes
 * the thumbnail and the checked bytes to the clean bucket. A rejected
 * upload's bytes are deleted.
 *
 * Durable: a media being processed holds a lease in the database; a
 * processor that crashes leaves it to be taken again (by any process) when
 * the lease runs out, so an acknowledged upload is never stuck. Every step is
 * idempotent (promote, thumbnail write, the conditional status change), so
 * doing one twice changes nothing.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { log, Topics, type PubSubEngine } from '@chat/common';
import { inspect } from '../processing/inspect.ts';
import type { Scanner } from '../processing/types.ts';
import type { ObjectStorage } from '../storage/object-storage.ts';
import type { MediaRecord, MediaStore } from '../store/media-store.ts';

export interface ProcessorOptions {
  /** How long one processing attempt may hold a media before another process takes it. @default 120000 */
  leaseMs?: number;
  /** How often stale leases and abandoned uploads are looked for. @default 10000 */
  sweepMs?: number;
  /** Media processed at once by this process. @default 2 */
  concurrency?: number;
  /** An upload never attached to a message or avatar is deleted, with its bytes, once older than this (MEDIA_UNATTACHED_TTL_SECONDS). @default 86400000 */
  unattachedTtlMs?: number;
  now?: () => Date;
}

/** Where a media's thumbnail lives next to it in the clean bucket. */
export const thumbnailKey = (storageKey: string) => `${storageKey}.thumb`;

export class MediaProcessor {
  readonly #leaseMs: number;
  readonly #sweepMs: number;
  readonly #concurrency: number;
  readonly #unattachedTtlMs: number;
  readonly #now: () => Date;
  readonly #queue: MediaRecord[] = [];
  #running = 0;
  #timer: NodeJS.Timeout | undefined;
  #idle: (() => void)[] = [];

  constructor(
    private readonly store: MediaStore,
    private readonly storage: ObjectStorage,
    private readonly scanner: Scanner | null,
    private readonly pubsub: PubSubEngine,
    {
      leaseMs = 120_000,
      sweepMs = 10_000,
      concurrency = 2,
      unattachedTtlMs = 86_400_000,
      now = () => new Date(),
    }: ProcessorOptions = {},
  ) {
    this.#leaseMs = leaseMs;
    this.#sweepMs = sweepMs;
    this.#concurrency = concurrency;
    this.#unattachedTtlMs = unattachedTtlMs;
    this.#now = now;
  }

  /** The lease a new processing attempt gets. */
  leaseUntil(): Date {
    return new Date(this.#now().getTime() + this.#leaseMs);
  }

  /** Starts the sweep for stale leases, abandoned uploads and uploads never attached. */
  start(): void {
    this.#timer ??= setInterval(() => void this.sweep(), this.#sweepMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.idle();
  }

  /** Queues a media this process just moved to PROCESSING. */
  enqueue(media: MediaRecord): void {
    this.#queue.push(media);
    this.#pump();
  }

  /** Resolves when nothing is queued or running (tests). */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Takes over media whose processor's lease ran out, forgets uploads never
   * completed, and deletes uploads never attached to a message or avatar
   * once older than the unattached TTL, with their bytes (which frees their
   * owner's quota). Rows go first, under the condition that they are still
   * unattached; their objects after, so an attach that won never loses its bytes.
   */
  async sweep(): Promise<void> {
    try {
      const now = this.#now();
      for (const media of await this.store.claimStale(now, this.leaseUntil(), this.#concurrency * 2))
        this.enqueue(media);
      const abandoned = await this.store.deleteAbandoned(new Date(now.getTime() - 3_600_000), 100);
      await Promise.all(abandoned.map((key) => this.storage.delete('quarantine', key)));
      const unattached = await this.store.deleteUnattached(new Date(now.getTime() - this.#unattachedTtlMs), 100);
      await Promise.all(unattached.map((key) => this.#deleteObjects(key)));
    } catch (error) {
      log.warn('media sweep failed', { error: String(error) });
    }
  }

  /** Every object an upload may have left, in either bucket (a thumbnail may exist before its media is READY). */
  async #deleteObjects(storageKey: string): Promise<void> {
    await this.storage.delete('quarantine', storageKey);
    await this.storage.delete('clean', storageKey);
    await this.storage.delete('clean', thumbnailKey(storageKey));
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      const media = this.#queue.shift()!;
      this.#running += 1;
      void this.process(media)
        .catch((error: unknown) =>
          log.warn('media processing failed; it will be retried when its lease runs out', {
            mediaId: media.id,
            error: String(error),
          }),
        )
        .finally(() => {
          this.#running -= 1;
          this.#pump();
          if (this.#running === 0 && this.#queue.length === 0) for (const resolve of this.#idle.splice(0)) resolve();
        });
    }
  }

  /**
   * One attempt. Throws (leaving the media PROCESSING, to be retried) when
   * storage or the scanner fail; rejects the media only for what is wrong
   * with its bytes.
   */
  async process(media: MediaRecord): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'chat-media-'));
    try {
      const path = join(dir, 'upload');
      const stored = await this.storage.size('quarantine', media.storageKey);
      if (stored === null) {
        // Already promoted by an earlier attempt that crashed before the status change.
        if ((await this.storage.size('clean', media.storageKey)) === null)
          return await this.#reject(media, 'NOT_UPLOADED');
        await pipeline(await this.storage.read('clean', media.storageKey), createWriteStream(path));
      } else {
        if (stored > media.size) return await this.#reject(media, 'TOO_LARGE');
        await pipeline(await this.storage.read('quarantine', media.storageKey), createWriteStream(path));
      }
      const result = await inspect(
        { path },
        { contentType: media.contentType, size: media.size, purpose: media.purpose },
      );
      if (!result.ok) return await this.#reject(media, result.reason);
      if (this.scanner) {
        const verdict = await this.scanner.scan(createReadStream(path));
        if (!verdict.clean) {
          log.warn('an upload was rejected by the virus scanner', { mediaId: media.id, signature: verdict.signature });
          return await this.#reject(media, 'INFECTED');
        }
      }
      const { thumbnail } = result.inspection;
      if (thumbnail)
        await this.storage.write('clean', thumbnailKey(media.storageKey), thumbnail.body, thumbnail.contentType);
      if (stored !== null) {
        // The bytes that were checked go to the clean bucket, not whatever the
        // quarantined object holds now: an upload URL still valid could have
        // replaced it since (S3 accepts a second PUT).
        await this.storage.write('clean', media.storageKey, await readFile(path), media.contentType);
        await this.storage.delete('quarantine', media.storageKey);
      }
      if (await this.store.markReady(media.id, result.inspection, thumbnail !== undefined, this.#now()))
        await this.#announce(media);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async #reject(media: MediaRecord, reason: Parameters<MediaStore['markRejected']>[1]): Promise<void> {
    await this.storage.delete('quarantine', media.storageKey);
    if (await this.store.markRejected(media.id, reason, this.#now())) await this.#announce(media);
  }

  async #announce(media: MediaRecord): Promise<void> {
    try {
      await this.pubsub.publish(Topics.userMedia(media.uploaderId), { mediaId: media.id });
    } catch (error) {
      log.warn('could not announce a media status change', { mediaId: media.id, error: String(error) });
    }
  }
}
