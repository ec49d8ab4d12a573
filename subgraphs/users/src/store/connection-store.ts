/**
 * Connections and blocks between users (tables connections, blocks): the
 * only code of this subgraph that touches them.
 *
 * A connection is two rows, one per user and direction (INVITE_SENT on the
 * inviter's, INVITE_RECEIVED on the invitee's, CONNECTED on both), so each
 * user's list pages on its own index. Every change of a pair runs in one
 * transaction that first takes the pair's advisory lock (`changePair`), then
 * reads and writes both rows and both blocks: two changes of one pair, from
 * either side and any process, take turns.
 */
import { createHash } from 'node:crypto';
import type { EntityCache } from '@chat/common';
import { Prisma, type PrismaClient } from '@chat/prisma';
import DataLoader from 'dataloader';

/** A connection row's state, as the row's owner sees it. */
export type ConnectionState = 'INVITE_SENT' | 'INVITE_RECEIVED' | 'CONNECTED';

/** How one user is connected with another (the GraphQL `ConnectionStatus`). */
export type ConnectionStatus = 'NONE' | ConnectionState | 'BLOCKED';

/** A `Contact`: one other user as a user sees them. */
export interface ContactRecord {
  /** The other user. */
  userId: string;
  status: ConnectionStatus;
  /** When the status last changed (an ISO string in events); null for NONE. */
  since: Date | string | null;
}

/** One side's row of a pair. */
export interface ConnectionRow {
  state: ConnectionState;
  updatedAt: Date;
}

/** A pair as one of its users sees it, read under the pair's lock. */
export interface PairState {
  otherExists: boolean;
  /** The user's row (user → other); null when there is none. */
  mine: ConnectionRow | null;
  /** The other's row (other → user). */
  theirs: ConnectionRow | null;
  /** When the user blocked the other; null when they did not. */
  blockedAt: Date | null;
  /** Whether the other blocked the user. */
  blockedByOther: boolean;
}

/** Where a page of contacts starts: after this one in the listing order (newest change first, then other ID). */
export interface ContactPosition {
  since: Date;
  otherId: bigint;
}

/** How long a change may wait for a connection, and run (waiting for the pair's lock included). */
const CHANGE_TRANSACTION = { maxWait: 10_000, timeout: 20_000 };

/**
 * The advisory lock key of a pair: the same whichever of the two asks (IDs
 * in sorted order), 64 bits of a hash, so distinct pairs practically never
 * share a lock (and if two did, they would only take turns).
 */
export function pairLockKey(a: bigint, b: bigint): bigint {
  const [low, high] = a < b ? [a, b] : [b, a];
  return createHash('sha256').update(`connections:${low}:${high}`).digest().readBigInt64BE(0);
}

/**
 * One pair locked for one change (see `ConnectionStore.changePair`), from the
 * side of `userId`. Every read and write of the change goes through here: on
 * the embedded database a query outside the transaction would wait for it.
 */
export class LockedPair {
  constructor(
    private readonly tx: Prisma.TransactionClient,
    readonly userId: bigint,
    readonly otherId: bigint,
    readonly state: PairState,
  ) {}

  /** Writes both rows: the user's in state `mine`, the other's in `theirs`, both changed at `at`. */
  async connect(mine: ConnectionState, theirs: ConnectionState, at: Date): Promise<void> {
    await this.tx.$executeRaw`
      INSERT INTO connections (user_id, other_id, state, created_at, updated_at)
      VALUES (${this.userId}, ${this.otherId}, ${mine}::"ConnectionState", ${at}, ${at}),
             (${this.otherId}, ${this.userId}, ${theirs}::"ConnectionState", ${at}, ${at})
      ON CONFLICT (user_id, other_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at`;
  }

  /** Deletes both rows of the pair. */
  async disconnect(): Promise<void> {
    await this.tx.connection.deleteMany({
      where: {
        OR: [
          { userId: this.userId, otherId: this.otherId },
          { userId: this.otherId, otherId: this.userId },
        ],
      },
    });
  }

  /**
   * Records that the user blocked the other, at `at`, and withdraws the
   * group invitations either sent the other (docs/GROUPS.md: blocks hold across groups).
   */
  async block(at: Date): Promise<void> {
    await this.tx.block.create({ data: { blockerId: this.userId, blockedId: this.otherId, createdAt: at } });
    await this.tx.groupInvitation.deleteMany({
      where: {
        OR: [
          { userId: this.userId, inviterId: this.otherId },
          { userId: this.otherId, inviterId: this.userId },
        ],
      },
    });
  }

  /** Lifts the user's block of the other. */
  async unblock(): Promise<void> {
    await this.tx.block.deleteMany({ where: { blockerId: this.userId, blockedId: this.otherId } });
  }
}

async function readPair(tx: Prisma.TransactionClient, userId: bigint, otherId: bigint): Promise<PairState> {
  // Share-locks both users' rows: an account deletion (which locks its row for
  // update) either finishes first, and the deleted account reads as unknown,
  // or waits for this change and then erases what it wrote.
  const users = await tx.$queryRaw<{ id: bigint; deleted_at: Date | null }[]>`
    SELECT id, deleted_at FROM users WHERE id IN (${userId}, ${otherId}) ORDER BY id FOR SHARE`;
  const other = users.find((user) => user.id === otherId && user.deleted_at === null) ?? null;
  const rows = await tx.connection.findMany({
    where: {
      OR: [
        { userId, otherId },
        { userId: otherId, otherId: userId },
      ],
    },
    select: { userId: true, state: true, updatedAt: true },
  });
  const blocks = await tx.block.findMany({
    where: {
      OR: [
        { blockerId: userId, blockedId: otherId },
        { blockerId: otherId, blockedId: userId },
      ],
    },
    select: { blockerId: true, createdAt: true },
  });
  const rowOf = (owner: bigint): ConnectionRow | null => {
    const row = rows.find((candidate) => candidate.userId === owner);
    return row ? { state: row.state, updatedAt: row.updatedAt } : null;
  };
  return {
    otherExists: other !== null,
    mine: rowOf(userId),
    theirs: rowOf(otherId),
    blockedAt: blocks.find((block) => block.blockerId === userId)?.createdAt ?? null,
    blockedByOther: blocks.some((block) => block.blockerId === otherId),
  };
}

/** The cache namespace of users' contact lists; every pair change invalidates both users' entries. */
export const CONTACT_CACHE = 'contacts';
/** Lists longer than this are not cached (the indexed queries answer them). */
const MAX_CACHED_CONTACTS = 5_000;

/** One entry of a cached contact list (JSON). */
interface CachedContact {
  userId: string;
  status: Exclude<ConnectionStatus, 'NONE'>;
  since: string;
}

export class ConnectionStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly cache: EntityCache,
  ) {}

  /**
   * Every contact of `userId` (connections and invitations both ways, the
   * users they blocked), most recently changed first, ties by other ID: read
   * through the entity cache, so a user's contact statuses and lists cost
   * one cache read. null for a list too long to cache.
   */
  async #contactsOf(userId: string): Promise<CachedContact[] | null> {
    const { hits, generations } = await this.cache.read<CachedContact[]>(CONTACT_CACHE, [userId]);
    const hit = hits.get(userId);
    if (hit) return hit;
    const viewer = BigInt(userId);
    const [rows, blocks] = await Promise.all([
      this.prisma.connection.findMany({
        where: { userId: viewer },
        take: MAX_CACHED_CONTACTS + 1,
        select: { otherId: true, state: true, updatedAt: true },
      }),
      this.prisma.block.findMany({
        where: { blockerId: viewer },
        take: MAX_CACHED_CONTACTS + 1,
        select: { blockedId: true, createdAt: true },
      }),
    ]);
    if (rows.length + blocks.length > MAX_CACHED_CONTACTS) return null;
    const contacts: CachedContact[] = [
      ...rows.map((row): CachedContact => ({
        userId: row.otherId.toString(),
        status: row.state,
        since: row.updatedAt.toISOString(),
      })),
      ...blocks.map((row): CachedContact => ({
        userId: row.blockedId.toString(),
        status: 'BLOCKED',
        since: row.createdAt.toISOString(),
      })),
    ].sort((a, b) => (a.since === b.since ? compareIds(a.userId, b.userId) : a.since < b.since ? 1 : -1));
    await this.cache.fill(CONTACT_CACHE, [{ id: userId, value: contacts, generation: generations.get(userId) }]);
    return contacts;
  }

  /** After a pair change or an account deletion commits: these users' cached contact lists are stale. */
  invalidate(userIds: readonly string[]): Promise<void> {
    return this.cache.invalidate(CONTACT_CACHE, userIds);
  }

  /**
   * Runs one change of the pair (`userId`, `otherId`) in one transaction
   * that first takes the pair's transaction-scoped advisory lock, so `work`
   * sees both rows and both blocks as they are and nobody changes them until
   * the transaction ends. Whatever `work` throws rolls every write back.
   */
  async changePair<T>(userId: bigint, otherId: bigint, work: (pair: LockedPair) => Promise<T>): Promise<T> {
    const result = await this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${pairLockKey(userId, otherId)})`;
      return work(new LockedPair(tx, userId, otherId, await readPair(tx, userId, otherId)));
    }, CHANGE_TRANSACTION);
    await this.invalidate([userId.toString(), otherId.toString()]);
    return result;
  }

  /**
   * Batches `userId`'s status with many users into one query: BLOCKED for
   * those the user blocked, else the state of the user's row, else NONE (also
   * for a user who blocked `userId`: a block shows only to whoever made it).
   */
  statusLoader(userId: string): DataLoader<string, ConnectionStatus> {
    const viewer = BigInt(userId);
    return new DataLoader(async (otherIds) => {
      const cached = await this.#contactsOf(userId);
      if (cached) {
        const byId = new Map(cached.map((contact) => [contact.userId, contact.status]));
        return otherIds.map((id) => byId.get(id) ?? 'NONE');
      }
      const others = otherIds.map(BigInt);
      const rows = await this.prisma.$queryRaw<{ other_id: bigint; status: ConnectionStatus }[]>`
        SELECT b.blocked_id AS other_id, 'BLOCKED' AS status FROM blocks b
         WHERE b.blocker_id = ${viewer} AND b.blocked_id IN (${Prisma.join(others)})
        UNION ALL
        SELECT c.other_id, c.state::text AS status FROM connections c
         WHERE c.user_id = ${viewer} AND c.other_id IN (${Prisma.join(others)})`;
      const statuses = new Map<string, ConnectionStatus>();
      for (const row of rows) {
        const id = row.other_id.toString();
        if (statuses.get(id) !== 'BLOCKED') statuses.set(id, row.status);
      }
      return otherIds.map((id) => statuses.get(id) ?? 'NONE');
    });
  }

  /**
   * One page of `userId`'s contacts in `status` (BLOCKED: the users they
   * blocked), most recently changed first (ties: lower other ID first),
   * starting after `after`; at most `take`.
   */
  async page(
    userId: string,
    status: Exclude<ConnectionStatus, 'NONE'>,
    take: number,
    after: ContactPosition | null,
  ): Promise<ContactRecord[]> {
    const cached = await this.#contactsOf(userId);
    if (cached) {
      const afterSince = after?.since.toISOString();
      return cached
        .filter((contact) => contact.status === status)
        .filter(
          (contact) =>
            !after ||
            contact.since < afterSince! ||
            (contact.since === afterSince && compareIds(contact.userId, after.otherId.toString()) > 0),
        )
        .slice(0, take)
        .map((contact) => ({ userId: contact.userId, status, since: new Date(contact.since) }));
    }
    const viewer = BigInt(userId);
    if (status === 'BLOCKED') {
      const rows = await this.prisma.block.findMany({
        where: {
          blockerId: viewer,
          ...(after && {
            OR: [{ createdAt: { lt: after.since } }, { createdAt: after.since, blockedId: { gt: after.otherId } }],
          }),
        },
        orderBy: [{ createdAt: 'desc' }, { blockedId: 'asc' }],
        take,
        select: { blockedId: true, createdAt: true },
      });
      return rows.map((row) => ({ userId: row.blockedId.toString(), status, since: row.createdAt }));
    }
    const rows = await this.prisma.connection.findMany({
      where: {
        userId: viewer,
        state: status,
        ...(after && {
          OR: [{ updatedAt: { lt: after.since } }, { updatedAt: after.since, otherId: { gt: after.otherId } }],
        }),
      },
      orderBy: [{ updatedAt: 'desc' }, { otherId: 'asc' }],
      take,
      select: { otherId: true, updatedAt: true },
    });
    return rows.map((row) => ({ userId: row.otherId.toString(), status, since: row.updatedAt }));
  }

  /** Every contact of `userId`: connections and invitations in either direction, and the users they blocked. */
  async all(userId: string): Promise<ContactRecord[]> {
    const cached = await this.#contactsOf(userId);
    if (cached)
      return cached.map((contact) => ({
        userId: contact.userId,
        status: contact.status,
        since: new Date(contact.since),
      }));
    const viewer = BigInt(userId);
    const [rows, blocks] = await Promise.all([
      this.prisma.connection.findMany({
        where: { userId: viewer },
        orderBy: [{ updatedAt: 'desc' }, { otherId: 'asc' }],
      }),
      this.prisma.block.findMany({
        where: { blockerId: viewer },
        orderBy: [{ createdAt: 'desc' }, { blockedId: 'asc' }],
      }),
    ]);
    return [
      ...rows.map((row): ContactRecord => ({
        userId: row.otherId.toString(),
        status: row.state,
        since: row.updatedAt,
      })),
      ...blocks.map((row): ContactRecord => ({
        userId: row.blockedId.toString(),
        status: 'BLOCKED',
        since: row.createdAt,
      })),
    ];
  }
}

/** Orders decimal ID strings numerically. */
function compareIds(a: string, b: string): number {
  const [x, y] = [BigInt(a), BigInt(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}
