/** The only code of the media subgraph touching the database: the media table. */
import type { Prisma, PrismaClient } from '@chat/prisma';
import DataLoader from 'dataloader';
import type { Inspection, MediaKind, MediaPurpose, RejectionReason } from '../processing/types.ts';

export type MediaStatus = 'PENDING' | 'PROCESSING' | 'READY' | 'REJECTED';

/** A media row as the services see it; IDs are decimal strings above the store. */
export interface MediaRecord {
  id: string;
  uploaderId: string;
  purpose: MediaPurpose;
  fileName: string;
  contentType: string;
  size: number;
  kind: MediaKind | null;
  status: MediaStatus;
  rejectionReason: string | null;
  width: number | null;
  height: number | null;
  durationMs: number | null;
  hasThumbnail: boolean;
  storageKey: string;
  createdAt: Date;
  uploadExpiresAt: Date;
}

/** A user as this subgraph knows one: by ID (its fields here are the viewer's storage). */
export interface UserRef {
  id: string;
}

export interface NewMedia {
  id: bigint;
  uploaderId: string;
  purpose: MediaPurpose;
  fileName: string;
  contentType: string;
  size: number;
  storageKey: string;
  uploadExpiresAt: Date;
  createdAt: Date;
}

/** What a user's uploads hold and how fast they started them: what the upload limits are checked against. */
export interface UploadUsage {
  /** Bytes of every upload not deleted and not rejected (pending ones by their declared size). */
  usedBytes: number;
  /** The uploads created since `since`, oldest first. */
  recent: { size: number; createdAt: Date }[];
}

type MediaRow = Prisma.MediaGetPayload<object>;

const toRecord = (row: MediaRow): MediaRecord => ({
  id: row.id.toString(),
  uploaderId: row.uploaderId.toString(),
  purpose: row.purpose,
  fileName: row.fileName,
  contentType: row.contentType,
  size: row.size,
  kind: row.kind,
  status: row.status,
  rejectionReason: row.rejectionReason,
  width: row.width,
  height: row.height,
  durationMs: row.durationMs,
  hasThumbnail: row.hasThumbnail,
  storageKey: row.storageKey,
  createdAt: row.createdAt,
  uploadExpiresAt: row.uploadExpiresAt,
});

const isId = (id: string) => /^\d{1,20}$/.test(id);

export class MediaStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Creates the media unless `refuse` objects to what the uploader's uploads
   * already hold. Usage is read and the row written under a per-uploader lock
   * (a transaction-scoped advisory lock), so two concurrent uploads cannot
   * both fit in the room for one.
   * @param since where the usage's `recent` uploads start.
   * @returns the new media, or what `refuse` answered.
   */
  async createWithinLimits<R>(
    media: NewMedia,
    since: Date,
    refuse: (usage: UploadUsage) => R | null,
  ): Promise<{ created: MediaRecord } | { refused: R }> {
    const uploaderId = BigInt(media.uploaderId);
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`media-quota:${media.uploaderId}`}, 0))`;
      const refusal = refuse(await usageOf(tx, uploaderId, since));
      if (refusal !== null) return { refused: refusal };
      return { created: toRecord(await tx.media.create({ data: { ...media, uploaderId } })) };
    });
  }

  /** Bytes a user's uploads hold: every one not deleted and not rejected (pending ones by their declared size). */
  async usedBytes(uploaderId: string): Promise<number> {
    return usedBytesOf(this.prisma, BigInt(uploaderId));
  }

  /** A loader for one operation: batches look-ups of many media by ID. */
  loader(): DataLoader<string, MediaRecord | null> {
    return new DataLoader(async (ids) => {
      const valid = ids.filter(isId);
      const rows =
        valid.length > 0 ? await this.prisma.media.findMany({ where: { id: { in: valid.map(BigInt) } } }) : [];
      const byId = new Map(rows.map((row) => [row.id.toString(), toRecord(row)]));
      return ids.map((id) => byId.get(id) ?? null);
    });
  }

  /**
   * Of `mediaIds`, those sent in a chat `viewerId` is a member of (the
   * messages subgraph's media_attachments, joined with the chats subgraph's
   * members: read here, written there).
   */
  async sentToMember(mediaIds: readonly string[], viewerId: string): Promise<Set<string>> {
    const ids = mediaIds.filter(isId).map(BigInt);
    if (ids.length === 0) return new Set();
    const rows = await this.prisma.$queryRaw<{ media_id: bigint }[]>`
      SELECT DISTINCT a.media_id FROM media_attachments a
      JOIN chat_members m ON m.chat_id = a.chat_id AND m.user_id = ${BigInt(viewerId)}
      WHERE a.media_id = ANY(${ids})`;
    return new Set(rows.map((row) => row.media_id.toString()));
  }

  async find(id: string): Promise<MediaRecord | null> {
    if (!isId(id)) return null;
    const row = await this.prisma.media.findUnique({ where: { id: BigInt(id) } });
    return row ? toRecord(row) : null;
  }

  /**
   * PENDING → PROCESSING for its uploader, with a processing lease.
   * @returns the media after the change, or null when it was not PENDING (or not theirs).
   */
  async startProcessing(id: string, uploaderId: string, leaseUntil: Date): Promise<MediaRecord | null> {
    const changed = await this.prisma.media.updateMany({
      where: { id: BigInt(id), uploaderId: BigInt(uploaderId), status: 'PENDING' },
      data: { status: 'PROCESSING', claimedUntil: leaseUntil, attempts: { increment: 1 } },
    });
    return changed.count > 0 ? this.find(id) : null;
  }

  /**
   * Takes over to `limit` PROCESSING media whose lease ran out (their
   * processor crashed or gave up), extending the lease; concurrent
   * processors take different ones.
   */
  async claimStale(now: Date, leaseUntil: Date, limit: number): Promise<MediaRecord[]> {
    const ids = await this.prisma.$queryRaw<{ id: bigint }[]>`
      UPDATE media SET claimed_until = ${leaseUntil}, attempts = attempts + 1
      WHERE id IN (
        SELECT id FROM media WHERE status = 'PROCESSING' AND claimed_until < ${now}
        ORDER BY claimed_until LIMIT ${limit} FOR UPDATE SKIP LOCKED
      )
      RETURNING id`;
    if (ids.length === 0) return [];
    const rows = await this.prisma.media.findMany({ where: { id: { in: ids.map((row) => row.id) } } });
    return rows.map(toRecord);
  }

  /** PROCESSING → READY with what inspection found. @returns whether it changed (false: already finished by another). */
  async markReady(id: string, inspection: Inspection, hasThumbnail: boolean, now: Date): Promise<boolean> {
    const changed = await this.prisma.media.updateMany({
      where: { id: BigInt(id), status: 'PROCESSING' },
      data: {
        status: 'READY',
        kind: inspection.kind,
        width: inspection.width ?? null,
        height: inspection.height ?? null,
        durationMs: inspection.durationMs ?? null,
        hasThumbnail,
        processedAt: now,
        claimedUntil: null,
      },
    });
    return changed.count > 0;
  }

  /** PENDING or PROCESSING → REJECTED. @returns whether it changed. */
  async markRejected(id: string, reason: RejectionReason | 'NOT_UPLOADED', now: Date): Promise<boolean> {
    const changed = await this.prisma.media.updateMany({
      where: { id: BigInt(id), status: { in: ['PENDING', 'PROCESSING'] } },
      data: { status: 'REJECTED', rejectionReason: reason, processedAt: now, claimedUntil: null },
    });
    return changed.count > 0;
  }

  /**
   * Removes up to `limit` media created before `before` that were never
   * attached to a message or set as an avatar (PROCESSING ones are left to
   * finish first). Conditional on `attached_at` still being null under the
   * row's lock: attaching sets it in the same statement that checks the
   * media, so an attach and this delete cannot both succeed.
   * @returns their storage keys (to delete from both buckets).
   */
  async deleteUnattached(before: Date, limit: number): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ storage_key: string }[]>`
      DELETE FROM media WHERE id IN (
        SELECT id FROM media WHERE attached_at IS NULL AND created_at < ${before} AND status <> 'PROCESSING'
        ORDER BY created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
      ) AND attached_at IS NULL AND status <> 'PROCESSING'
      RETURNING storage_key`;
    return rows.map((row) => row.storage_key);
  }

  /** Removes PENDING media whose upload window closed long ago. @returns their storage keys (to delete from quarantine). */
  async deleteAbandoned(before: Date, limit: number): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ storage_key: string }[]>`
      DELETE FROM media WHERE id IN (
        SELECT id FROM media WHERE status = 'PENDING' AND upload_expires_at < ${before} LIMIT ${limit} FOR UPDATE SKIP LOCKED
      ) RETURNING storage_key`;
    return rows.map((row) => row.storage_key);
  }
}

async function usedBytesOf(client: Pick<PrismaClient, '$queryRaw'>, uploaderId: bigint): Promise<number> {
  // Sizes are Int; their sum may not be, hence bigint (exact as a number up to 2^53).
  const [total] = await client.$queryRaw<{ used: bigint }[]>`
    SELECT COALESCE(SUM(size) FILTER (WHERE status <> 'REJECTED'), 0)::bigint AS used FROM media WHERE uploader_id = ${uploaderId}`;
  return Number(total?.used ?? 0n);
}

async function usageOf(client: Pick<PrismaClient, '$queryRaw'>, uploaderId: bigint, since: Date): Promise<UploadUsage> {
  const recent = await client.$queryRaw<{ size: number; created_at: Date }[]>`
    SELECT size, created_at FROM media WHERE uploader_id = ${uploaderId} AND created_at > ${since} ORDER BY created_at`;
  return {
    usedBytes: await usedBytesOf(client, uploaderId),
    recent: recent.map((row) => ({ size: row.size, createdAt: row.created_at })),
  };
}
