/**
 * The rules of media: who may upload what, who may see it, and the upload
 * flow (createUpload → PUT to the signed URL → completeUpload → processing).
 */
import { randomBytes } from 'node:crypto';
import {
  apiError,
  forbidden,
  fromZodError,
  notFound,
  unauthenticated,
  zName,
  type Snowflake,
  type Viewer,
} from '@chat/common';
import DataLoader from 'dataloader';
import { z } from 'zod';
import { refuse } from '../errors.ts';
import { checkDeclared } from '../processing/limits.ts';
import type { ObjectStorage } from '../storage/object-storage.ts';
import type { MediaRecord, MediaStore } from '../store/media-store.ts';
import { thumbnailKey, type MediaProcessor } from './media-processor.ts';
import { checkUploadLimits, UPLOAD_RATE_WINDOW_MS, type UploadLimits } from './upload-limits.ts';

/** How long an upload URL works. */
export const UPLOAD_URL_TTL_SECONDS = 15 * 60;

export const ZCreateUploadInputSchema = z.object({
  // Only the last path segment is kept: a name is for display, never a path.
  fileName: z
    .string()
    .transform((name) => name.split(/[\\/]/).pop()!)
    .pipe(zName(255)),
  contentType: z
    .string()
    .trim()
    .toLowerCase()
    .regex(
      /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/,
      'must be a MIME type such as image/png, without parameters',
    ),
  size: z.number().int('must be a whole number of bytes').min(1, 'must be at least 1 byte'),
  purpose: z.enum(['MESSAGE_ATTACHMENT', 'AVATAR']),
});

export type CreateUploadInput = z.input<typeof ZCreateUploadInputSchema>;

export interface UploadTicket {
  mediaId: string;
  uploadUrl: string;
  headers: { name: string; value: string }[];
  expiresAt: Date;
}

/** `me { storage }`: what the viewer's uploads hold, of how much. */
export interface StorageUsage {
  used: number;
  quota: number;
}

export interface MediaServiceDeps {
  store: MediaStore;
  storage: ObjectStorage;
  processor: MediaProcessor;
  ids: Snowflake;
  /** How long a download URL works (MEDIA_URL_TTL_SECONDS); clients ask the field again for a fresh one. */
  downloadTtlSeconds: number;
  /** The quota and the hourly upload rate (MEDIA_QUOTA_BYTES, MEDIA_UPLOAD_BYTES_PER_HOUR, MEDIA_UPLOAD_FILES_PER_HOUR). */
  limits: UploadLimits;
  now?: () => Date;
}

export class MediaService {
  readonly #loader: DataLoader<string, MediaRecord | null>;
  /** Whether a media was sent in a chat the viewer is in, batched per operation (a page of messages asks for many). */
  readonly #sentToViewer: DataLoader<string, boolean>;

  constructor(
    private readonly viewer: Viewer | null,
    private readonly deps: MediaServiceDeps,
  ) {
    this.#loader = deps.store.loader();
    this.#sentToViewer = new DataLoader(async (ids) => {
      const visible = viewer ? await deps.store.sentToMember(ids, viewer.id) : new Set<string>();
      return ids.map((id) => visible.has(id));
    });
  }

  #requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  #now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /**
   * Checks the declared type and size against the purpose's limits and the
   * viewer's quota and hourly upload rate, records the media as PENDING and
   * signs an upload URL for exactly that size and type.
   * @throws BAD_USER_INPUT (reason UNSUPPORTED_TYPE or TOO_LARGE, with the
   * limit; reason QUOTA_EXCEEDED with `limitType`, `limit`, `used` and, for
   * the hourly limits, `retryAfterSeconds`) before anything is stored.
   */
  async createUpload(input: CreateUploadInput): Promise<UploadTicket> {
    const viewer = this.#requireViewer();
    const parsed = ZCreateUploadInputSchema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    const { fileName, size, purpose } = parsed.data;
    const declared = checkDeclared({ contentType: parsed.data.contentType, size, purpose });
    if (!declared.ok)
      throw refuse(declared.reason, declared.message, declared.limit !== undefined ? { limit: declared.limit } : {});
    // The canonical name of the type (image/jpg → image/jpeg): what the bytes are checked against and served as.
    const { contentType } = declared;
    const id = this.deps.ids.next();
    const storageKey = `${id}/${randomBytes(12).toString('base64url')}`;
    const upload = await this.deps.storage.presignUpload({
      key: storageKey,
      contentType,
      size,
      expiresInSeconds: UPLOAD_URL_TTL_SECONDS,
    });
    const now = this.#now();
    const outcome = await this.deps.store.createWithinLimits(
      {
        id,
        uploaderId: viewer.id,
        purpose,
        fileName,
        contentType,
        size,
        storageKey,
        uploadExpiresAt: upload.expiresAt,
        createdAt: now,
      },
      new Date(now.getTime() - UPLOAD_RATE_WINDOW_MS),
      (usage) => checkUploadLimits(usage, size, this.deps.limits, now),
    );
    if ('refused' in outcome) {
      const { message, ...limit } = outcome.refused;
      throw refuse('QUOTA_EXCEEDED', message, { argument: 'input.size', ...limit });
    }
    return {
      mediaId: id.toString(),
      uploadUrl: upload.url,
      headers: Object.entries(upload.headers).map(([name, value]) => ({ name, value })),
      expiresAt: upload.expiresAt,
    };
  }

  /**
   * The bytes are uploaded: checks they are there at the declared size and
   * starts processing. Completing again answers the current state.
   * @throws NOT_FOUND for a media that is not the viewer's upload; BAD_USER_INPUT (reason NOT_UPLOADED) before the PUT.
   */
  async completeUpload(mediaId: string): Promise<MediaRecord> {
    const viewer = this.#requireViewer();
    const media = await this.deps.store.find(mediaId);
    if (!media || media.uploaderId !== viewer.id) throw notFound('The media');
    if (media.status !== 'PENDING') return media;
    const stored = await this.deps.storage.size('quarantine', media.storageKey);
    if (stored === null) throw refuse('NOT_UPLOADED', 'Upload the bytes to the upload URL first.');
    const started = await this.deps.store.startProcessing(media.id, viewer.id, this.deps.processor.leaseUntil());
    if (!started) return (await this.deps.store.find(mediaId)) ?? media;
    this.deps.processor.enqueue(started);
    return started;
  }

  /**
   * The media, if the viewer may see it: their own uploads; READY avatars
   * for anyone logged in; attachments for the members of a chat they were
   * sent in (while they are members, and until the message is deleted for everyone).
   * @throws NOT_FOUND otherwise, as for an unknown ID.
   */
  async media(id: string): Promise<MediaRecord> {
    const media = await this.visible(id);
    if (!media) throw notFound('The media');
    return media;
  }

  /** The media if the viewer may see it, else null (entity references). */
  async visible(id: string): Promise<MediaRecord | null> {
    const viewer = this.#requireViewer();
    const media = await this.#loader.load(id);
    if (!media) return null;
    if (media.uploaderId === viewer.id) return media;
    if (media.status !== 'READY') return null;
    if (media.purpose === 'AVATAR') return media;
    return (await this.#sentToViewer.load(media.id)) ? media : null;
  }

  /**
   * What the user's uploads hold in storage, and their quota.
   * @throws FORBIDDEN for anyone but the user themself (the permission rule refuses first).
   */
  async storage(userId: string): Promise<StorageUsage> {
    const viewer = this.#requireViewer();
    if (viewer.id !== userId) throw forbidden('Only you see your storage.');
    return { used: await this.deps.store.usedBytes(userId), quota: this.deps.limits.quotaBytes };
  }

  /**
   * A fresh signed download URL of a READY media (null before): served as
   * its stored type (the declared one, which processing checked against the
   * bytes), as an attachment named after the upload with that type's extension.
   */
  async url(media: MediaRecord): Promise<string | null> {
    if (media.status !== 'READY') return null;
    return this.deps.storage.presignDownload(media.storageKey, {
      contentType: media.contentType,
      fileName: media.fileName,
      expiresInSeconds: this.deps.downloadTtlSeconds,
    });
  }

  async thumbnailUrl(media: MediaRecord): Promise<string | null> {
    if (media.status !== 'READY' || !media.hasThumbnail) return null;
    return this.deps.storage.presignDownload(thumbnailKey(media.storageKey), {
      contentType: 'image/webp',
      fileName: media.fileName,
      expiresInSeconds: this.deps.downloadTtlSeconds,
    });
  }

  /** Whether a status event for `mediaId` concerns this viewer's subscription. */
  async ownsUpload(mediaId: string): Promise<boolean> {
    const media = await this.deps.store.find(mediaId);
    return media !== null && media.uploaderId === this.viewer?.id;
  }

  /** For subscriptions: the media an event names, read fresh. */
  async current(mediaId: string): Promise<MediaRecord> {
    const media = await this.deps.store.find(mediaId);
    if (!media) throw apiError('NOT_FOUND', 'The media was not found.');
    return media;
  }
}
