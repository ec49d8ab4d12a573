/**
 * The only code of this subgraph that touches storage.
 *
 * Every change of a user's presence runs in a transaction that first locks
 * the user's `presence` row, then changes devices, then recomputes the
 * effective status with a fresh snapshot and stores it with a conditional
 * UPDATE (`… WHERE status <> next`). Changes of one user are therefore
 * serialized across processes, and each status change is made, and
 * reported to the caller for publishing, exactly once.
 */
import { Prisma, type PrismaClient } from '@chat/prisma';
import { parseId } from '@chat/common';
import DataLoader from 'dataloader';

export type PresenceStatus = 'ONLINE' | 'AWAY' | 'BUSY' | 'OFFLINE';

export interface PresenceRecord {
  status: PresenceStatus;
  lastSeenAt: Date | string | null;
}

/** A User entity as this subgraph knows it: the key, and the presence when already at hand. */
export interface UserPresenceRef {
  id: string;
  presence?: PresenceRecord;
}

export const OFFLINE: PresenceRecord = { status: 'OFFLINE', lastSeenAt: null };

/** The instant a computation runs at, and what counts as recent activity then. */
export interface PresenceTime {
  now: Date;
  /** A device whose last activity is after this instant is active (now minus the idle timeout). */
  activeAfter: Date;
}

/** A heartbeat of one device. */
export interface Beat {
  deviceId: string;
  /**
   * Whether the user interacted since the last beat. Omitted (null) counts as
   * active for a device's first beat (a new device, or one that had expired),
   * and as not active afterwards.
   */
  active: boolean | null;
  /** When the device is gone unless it beats again. */
  expiresAt: Date;
  /** A status the user chooses with this beat (setPresence); null keeps the chosen one. */
  chosen: PresenceStatus | null;
}

/** The outcome of a change: the presence now, and whether its status changed (and must be announced). */
export interface PresenceUpdate {
  presence: { status: PresenceStatus; lastSeenAt: Date | null };
  changed: boolean;
}

/** A status change made by the sweeper. */
export interface PresenceChange {
  userId: string;
  status: PresenceStatus;
  lastSeenAt: Date | null;
}

interface PresenceRow {
  user_id: bigint;
  status: PresenceStatus;
  last_seen_at: Date | null;
}

/** lastActiveAt of a device that never reported activity. */
const NEVER = new Date(0);

/**
 * The effective status of the presence row `p` at `at.now`, in SQL: OFFLINE
 * with no live device (now < expires_at); otherwise the chosen status, except
 * that a chosen ONLINE is AWAY unless some live device was active after
 * `at.activeAfter`. Time passing can only lower it (devices expire, activity
 * ages), never raise it: the sweeper relies on that.
 */
function effectiveStatus(at: PresenceTime): Prisma.Sql {
  return Prisma.sql`CASE
    WHEN NOT EXISTS (SELECT 1 FROM presence_devices d WHERE d.user_id = p.user_id AND d.expires_at > ${at.now})
      THEN 'OFFLINE'::"PresenceStatus"
    WHEN p.chosen_status <> 'ONLINE' THEN p.chosen_status
    WHEN EXISTS (
      SELECT 1 FROM presence_devices d
       WHERE d.user_id = p.user_id AND d.expires_at > ${at.now} AND d.last_active_at > ${at.activeAfter}
    ) THEN 'ONLINE'::"PresenceStatus"
    ELSE 'AWAY'::"PresenceStatus"
  END`;
}

type Transaction = Prisma.TransactionClient;

export class PresenceStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Batches look-ups of many users' presence into one query. */
  loader(): DataLoader<string, PresenceRecord> {
    return new DataLoader(async (userIds) => {
      const ids = userIds.map(parseId).filter((id) => id !== undefined);
      const rows = await this.prisma.presence.findMany({
        where: { userId: { in: ids } },
        select: { userId: true, status: true, lastSeenAt: true },
      });
      const byId = new Map(
        rows.map((row) => [row.userId.toString(), { status: row.status, lastSeenAt: row.lastSeenAt }]),
      );
      return userIds.map((id) => byId.get(id) ?? OFFLINE);
    });
  }

  /**
   * Records a heartbeat of `beat.deviceId` (and the status chosen with it),
   * moves lastSeenAt to now, and recomputes the status.
   */
  beat(userId: string, beat: Beat, at: PresenceTime): Promise<PresenceUpdate> {
    const id = BigInt(userId);
    const { now } = at;
    return this.prisma.$transaction(async (tx) => {
      // Creates or locks the user's row; RETURNING shows the status before this change.
      const [before] = await tx.$queryRaw<PresenceRow[]>`
        INSERT INTO presence AS p (user_id, status, chosen_status, last_seen_at, updated_at)
        VALUES (${id}, 'OFFLINE', COALESCE(${beat.chosen}::"PresenceStatus", 'ONLINE'), ${now}, ${now})
        ON CONFLICT (user_id) DO UPDATE
          SET chosen_status = COALESCE(${beat.chosen}::"PresenceStatus", p.chosen_status),
              last_seen_at = GREATEST(p.last_seen_at, EXCLUDED.last_seen_at)
        RETURNING p.user_id, p.status::text AS status, p.last_seen_at`;
      await tx.$executeRaw`
        INSERT INTO presence_devices AS d (user_id, device_id, last_beat_at, last_active_at, expires_at)
        VALUES (${id}, ${beat.deviceId}, ${now}, ${beat.active === false ? NEVER : now}, ${beat.expiresAt})
        ON CONFLICT (user_id, device_id) DO UPDATE
          SET last_beat_at = EXCLUDED.last_beat_at,
              expires_at = EXCLUDED.expires_at,
              last_active_at = CASE
                WHEN ${beat.active}::boolean OR (${beat.active}::boolean IS NULL AND d.expires_at <= ${now}) THEN ${now}
                ELSE d.last_active_at
              END`;
      return this.#settle(tx, before!, at);
    });
  }

  /** Forgets `deviceId` of the user (it went away now) and recomputes the status. */
  signOff(userId: string, deviceId: string, at: PresenceTime): Promise<PresenceUpdate> {
    const id = BigInt(userId);
    const { now } = at;
    return this.prisma.$transaction(async (tx) => {
      const [before] = await tx.$queryRaw<PresenceRow[]>`
        SELECT user_id, status::text AS status, last_seen_at FROM presence WHERE user_id = ${id} FOR UPDATE`;
      if (!before) return { presence: { status: 'OFFLINE', lastSeenAt: null }, changed: false };
      const gone = await tx.$queryRaw<{ live: boolean }[]>`
        DELETE FROM presence_devices WHERE user_id = ${id} AND device_id = ${deviceId} RETURNING expires_at > ${now} AS live`;
      if (gone[0]?.live) {
        // The device was connected until now.
        const [seen] = await tx.$queryRaw<PresenceRow[]>`
          UPDATE presence SET last_seen_at = GREATEST(last_seen_at, ${now}) WHERE user_id = ${id}
          RETURNING user_id, status::text AS status, last_seen_at`;
        return this.#settle(tx, seen!, at);
      }
      return this.#settle(tx, before, at);
    });
  }

  /**
   * Applies the status changes that time made: users with an expired device,
   * or an idle one, whose stored status is no longer their effective status.
   * Users whose row another transaction holds are skipped (that transaction
   * recomputes them; the next sweep sees them otherwise). Batches of `limit`
   * users, one transaction each, until no candidate is left or `maxBatches`
   * were made (the next sweep goes on).
   * @returns the changes made, to announce.
   */
  async sweep(at: PresenceTime, { limit = 500, maxBatches = 20 } = {}): Promise<PresenceChange[]> {
    const changes: PresenceChange[] = [];
    for (let batch = 1; ; batch++) {
      const { locked, changed } = await this.prisma.$transaction(async (tx) => {
        const rows = await tx.$queryRaw<{ user_id: bigint }[]>`
          SELECT p.user_id FROM presence p
           WHERE p.user_id IN (
                   SELECT d.user_id FROM presence_devices d
                    WHERE d.expires_at <= ${at.now} OR d.last_active_at <= ${at.activeAfter}
                 )
             AND p.status <> 'OFFLINE'
             AND p.status <> ${effectiveStatus(at)}
           ORDER BY p.user_id
           LIMIT ${limit}
           FOR UPDATE OF p SKIP LOCKED`;
        return {
          locked: rows.length,
          changed: await this.#recompute(
            tx,
            rows.map((row) => row.user_id),
            at,
          ),
        };
      });
      changes.push(...changed.map(toChange));
      if (locked < limit || batch >= maxBatches) return changes;
    }
  }

  /**
   * Deletes devices that expired before `before`. They no longer count, but
   * are kept a while after expiring: they are how the sweeper finds the
   * users whose status their expiry changes.
   */
  async forgetDevices(before: Date): Promise<number> {
    return this.prisma.presenceDevice
      .deleteMany({ where: { expiresAt: { lte: before } } })
      .then((result) => result.count);
  }

  /** Recomputes a locked user's status after a change; `before` is their row before the recompute. */
  async #settle(tx: Transaction, before: PresenceRow, at: PresenceTime): Promise<PresenceUpdate> {
    const [after] = await this.#recompute(tx, [before.user_id], at);
    const row = after ?? before;
    return { presence: { status: row.status, lastSeenAt: row.last_seen_at }, changed: after !== undefined };
  }

  /**
   * Stores the effective status of users whose rows this transaction has
   * locked, where it differs from the stored one.
   * @returns the rows that changed.
   */
  async #recompute(tx: Transaction, userIds: readonly bigint[], at: PresenceTime): Promise<PresenceRow[]> {
    if (userIds.length === 0) return [];
    return tx.$queryRaw<PresenceRow[]>`
      UPDATE presence AS target SET status = c.next, updated_at = ${at.now}
        FROM (SELECT p.user_id, ${effectiveStatus(at)} AS next FROM presence p WHERE p.user_id IN (${Prisma.join(userIds)})) AS c
       WHERE target.user_id = c.user_id AND target.status <> c.next
      RETURNING target.user_id, target.status::text AS status, target.last_seen_at`;
  }

  /**
   * Which of `userIds` (the viewer excluded) share a chat with `viewerId` or
   * are connected with them, unless either blocked the other; one query.
   */
  async visibleAmong(viewerId: string, userIds: readonly string[]): Promise<Set<string>> {
    const viewer = BigInt(viewerId);
    const ids = userIds.map(parseId).filter((id) => id !== undefined && id !== viewer);
    if (ids.length === 0) return new Set();
    const rows = await this.prisma.$queryRaw<{ id: bigint }[]>`
      SELECT u.id FROM users u
       WHERE u.id IN (${Prisma.join(ids)})
         AND (${partnersOf(viewer, Prisma.sql`u.id`)})`;
    return new Set(rows.map((row) => row.id.toString()));
  }

  /** Everyone whose presence `userId` may see, the user excluded: see `visibleAmong`. */
  async visiblePartners(userId: string): Promise<string[]> {
    const viewer = BigInt(userId);
    const rows = await this.prisma.$queryRaw<{ id: bigint }[]>`
      SELECT candidate.id FROM (
        SELECT m.user_id AS id FROM chat_members m
         WHERE m.chat_id IN (SELECT chat_id FROM chat_members WHERE user_id = ${viewer})
        UNION
        SELECT c.other_id FROM connections c WHERE c.user_id = ${viewer} AND c.state = 'CONNECTED'
      ) AS candidate
       WHERE candidate.id <> ${viewer} AND (${partnersOf(viewer, Prisma.sql`candidate.id`)})`;
    return rows.map((row) => row.id.toString());
  }
}

/**
 * The condition that `other` (an SQL expression) may see `viewer`'s presence
 * and the reverse: they share a chat or are connected, and neither blocked
 * the other. A block hides presence both ways, shared chat or not.
 */
function partnersOf(viewer: bigint, other: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    (EXISTS (
       SELECT 1 FROM chat_members theirs JOIN chat_members mine ON mine.chat_id = theirs.chat_id
        WHERE theirs.user_id = ${other} AND mine.user_id = ${viewer}
     )
     OR EXISTS (SELECT 1 FROM connections c WHERE c.user_id = ${viewer} AND c.other_id = ${other} AND c.state = 'CONNECTED'))
    AND NOT EXISTS (
      SELECT 1 FROM blocks b
       WHERE (b.blocker_id = ${viewer} AND b.blocked_id = ${other}) OR (b.blocker_id = ${other} AND b.blocked_id = ${viewer})
    )`;
}

const toChange = (row: PresenceRow): PresenceChange => ({
  userId: row.user_id.toString(),
  status: row.status,
  lastSeenAt: row.last_seen_at,
});
