/** The users table: profiles, credentials and search. */
import type { EntityCache } from '@chat/common';
import { isUniqueViolation, Prisma, type PrismaClient } from '@chat/prisma';
import DataLoader from 'dataloader';
import type { NewRefreshToken, NewSession } from './session-store.ts';

/** A user as the API shows it; IDs are decimal strings above the store. */
export interface UserRecord {
  id: string;
  username: string;
  displayName: string;
  createdAt: Date;
  /** The owner's contact details and profile version; resolvers show them to the owner only. */
  email: string | null;
  phone: string | null;
  version: number;
  /** The avatar's media ID; null when none. */
  avatarMediaId: string | null;
  /** Who may add the user to a group directly; the owner's to see. */
  groupAddPolicy: GroupAddPolicy;
}

export type GroupAddPolicy = 'EVERYONE' | 'CONNECTIONS' | 'NOBODY';

/** What login needs: the user and the stored password hash, which never leaves the services. */
export interface UserCredentials {
  user: UserRecord;
  passwordHash: string;
}

export interface NewUser {
  id: bigint;
  /** Already normalized to lower case. */
  username: string;
  displayName: string;
  passwordHash: string;
}

export type CreateUserResult = { ok: true; user: UserRecord } | { ok: false; reason: 'USERNAME_TAKEN' };

export type UpdateProfileResult =
  { ok: true; user: UserRecord } | { ok: false; reason: 'USERNAME_TAKEN' | 'STALE_VERSION' | 'NOT_FOUND' };

export interface UserSearch {
  /** Case-insensitive substring of the username or the display name (UserService refuses to list everyone). */
  search: string;
  /** Only users whose username sorts after this one (keyset pagination). */
  afterUsername: string | undefined;
  take: number;
}

/** The columns of a UserRecord, and its mapping: shared with the stores that read or write users rows. */
export const userColumns = {
  id: true,
  username: true,
  displayName: true,
  createdAt: true,
  email: true,
  phone: true,
  version: true,
  avatarMediaId: true,
  groupAddPolicy: true,
} as const;

type UserRow = Prisma.UserGetPayload<{ select: typeof userColumns }>;

export function toUserRecord(row: UserRow): UserRecord {
  return {
    id: row.id.toString(),
    username: row.username,
    displayName: row.displayName,
    createdAt: row.createdAt,
    email: row.email,
    phone: row.phone,
    version: row.version,
    avatarMediaId: row.avatarMediaId?.toString() ?? null,
    groupAddPolicy: row.groupAddPolicy,
  };
}

/** A unique-constraint violation on users.username rather than on an ID or a token hash. */
function isUsernameViolation(error: unknown): boolean {
  if (!isUniqueViolation(error)) return false;
  // The native engine names the columns in meta.target, driver adapters in
  // meta.driverAdapterError (fields and constraint name): both mention "username".
  return JSON.stringify(error.meta ?? {}).includes('username');
}

/** The shortest search matched anywhere in names; shorter ones match username prefixes. */
export const MIN_SUBSTRING_SEARCH = 3;

/** Prisma passes `contains` to (I)LIKE as is: escape its wildcards so they match literally. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/** The cache namespace of user records; every write to a users row must invalidate it. */
export const USER_CACHE = 'user';

/** A UserRecord as the cache holds it (JSON). */
type CachedUser = Omit<UserRecord, 'createdAt'> & { createdAt: string };

export class UserStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly cache: EntityCache,
  ) {}

  /**
   * Batches look-ups of users by ID; null for an unknown ID. Read through the
   * entity cache: every user entity of a subscription event or a page of
   * messages is one of these, and most are hits.
   */
  loader(): DataLoader<string, UserRecord | null> {
    // Batches within a tick but keeps nothing: the entity cache is the cache, and a
    // subscription resolves all its events in one context, each of which must be current.
    return new DataLoader(
      async (ids) => {
        const { hits, generations } = await this.cache.read<CachedUser>(USER_CACHE, ids);
        const missing = ids.filter((id) => !hits.has(id));
        const rows = missing.length
          ? await this.prisma.user.findMany({ where: { id: { in: missing.map(BigInt) } }, select: userColumns })
          : [];
        const read = rows.map(toUserRecord);
        await this.cache.fill(
          USER_CACHE,
          read.map((user) => ({
            id: user.id,
            value: { ...user, createdAt: user.createdAt.toISOString() },
            generation: generations.get(user.id),
          })),
        );
        const byId = new Map<string, UserRecord>(read.map((user) => [user.id, user]));
        for (const [id, cached] of hits) byId.set(id, { ...cached, createdAt: new Date(cached.createdAt) });
        return ids.map((id) => byId.get(id) ?? null);
      },
      { cache: false },
    );
  }

  /** After a write to users rows commits: drops what the cache holds of them, in every process. */
  invalidate(ids: readonly string[]): Promise<void> {
    return this.cache.invalidate(USER_CACHE, ids);
  }

  async usernameExists(username: string): Promise<boolean> {
    const row = await this.prisma.user.findUnique({ where: { username }, select: { id: true } });
    return row !== null;
  }

  async findCredentials(username: string): Promise<UserCredentials | null> {
    const row = await this.prisma.user.findUnique({
      where: { username },
      select: { ...userColumns, passwordHash: true },
    });
    return row ? { user: toUserRecord(row), passwordHash: row.passwordHash } : null;
  }

  /**
   * Inserts a user together with their first session and its refresh token,
   * atomically. A username taken meanwhile (the unique index decides) is
   * reported, not thrown.
   */
  async createWithSession(user: NewUser, session: NewSession, token: NewRefreshToken): Promise<CreateUserResult> {
    try {
      const row = await this.prisma.user.create({
        data: { ...user, sessions: { create: { ...session, refreshTokens: { create: token } } } },
        select: userColumns,
      });
      return { ok: true, user: toUserRecord(row) };
    } catch (error) {
      if (isUsernameViolation(error)) return { ok: false, reason: 'USERNAME_TAKEN' };
      throw error;
    }
  }

  /** The stored password hash of a user who was not deleted; null otherwise. */
  async passwordHash(userId: string): Promise<string | null> {
    const row = await this.prisma.user.findFirst({
      where: { id: BigInt(userId), deletedAt: null },
      select: { passwordHash: true },
    });
    return row?.passwordHash ?? null;
  }

  /**
   * Replaces the password hash, only if it is still `expected`: a re-hash at
   * login must not undo a password change that happened meanwhile.
   * @returns whether it was replaced.
   */
  async replacePasswordHash(userId: string, expected: string, passwordHash: string): Promise<boolean> {
    const updated = await this.prisma.user.updateMany({
      where: { id: BigInt(userId), passwordHash: expected, deletedAt: null },
      data: { passwordHash },
    });
    return updated.count > 0;
  }

  /**
   * Users in username order, at most `take`. A search of 3 characters or more
   * matches anywhere in the username or display name, through the trigram
   * indexes; a shorter one matches the start of the username, through its
   * prefix index (trigrams cannot narrow one or two characters down).
   */
  async search({ search, afterUsername, take }: UserSearch): Promise<UserRecord[]> {
    const where: Prisma.UserWhereInput[] = [{ deletedAt: null }];
    if (search.length >= MIN_SUBSTRING_SEARCH) {
      where.push({
        OR: [
          { username: { contains: escapeLike(search), mode: 'insensitive' } },
          { displayName: { contains: escapeLike(search), mode: 'insensitive' } },
        ],
      });
    } else {
      // Usernames are stored in lower case: a case-sensitive prefix match on the lowered text uses the index.
      where.push({ username: { startsWith: escapeLike(search.toLowerCase()) } });
    }
    if (afterUsername !== undefined) where.push({ username: { gt: afterUsername } });
    const rows = await this.prisma.user.findMany({
      where: { AND: where },
      orderBy: { username: 'asc' },
      take,
      select: userColumns,
    });
    return rows.map(toUserRecord);
  }

  /**
   * Sets or removes the user's avatar. A media is accepted only if it is the
   * user's READY upload of purpose AVATAR (the media subgraph's row, checked
   * here in the same statement), so the check and the change cannot drift
   * apart. The statement marks the media attached (`attached_at`) under its
   * row lock, which the media subgraph's sweep of uploads never attached
   * respects: the sweep and this cannot both succeed.
   * @returns the user after the change; null when the media does not qualify.
   */
  async setAvatar(id: string, mediaId: string | null): Promise<UserRecord | null> {
    const user = BigInt(id);
    const rows =
      mediaId === null
        ? await this.prisma.$queryRaw<
            { id: bigint }[]
          >`UPDATE users SET avatar_media_id = NULL, version = version + 1 WHERE id = ${user} RETURNING id`
        : await this.prisma.$queryRaw<{ id: bigint }[]>`
            WITH attached AS (
              UPDATE media SET attached_at = COALESCE(attached_at, now())
              WHERE id = ${BigInt(mediaId)} AND uploader_id = ${user} AND purpose = 'AVATAR' AND status = 'READY'
              RETURNING id
            )
            UPDATE users SET avatar_media_id = ${BigInt(mediaId)}, version = version + 1
            WHERE id = ${user} AND EXISTS (SELECT 1 FROM attached) RETURNING id`;
    if (rows.length === 0) return null;
    await this.invalidate([id]);
    const row = await this.prisma.user.findUniqueOrThrow({ where: { id: user }, select: userColumns });
    return toUserRecord(row);
  }

  /**
   * Changes the profile only if it is still at `version`, bumping it: two
   * devices editing at once cannot both win, the second learns it is stale.
   */
  async updateProfile(
    id: string,
    version: number,
    changes: { displayName?: string; username?: string; groupAddPolicy?: GroupAddPolicy },
  ): Promise<UpdateProfileResult> {
    try {
      const rows = await this.prisma.user.updateManyAndReturn({
        where: { id: BigInt(id), version },
        data: { ...changes, version: { increment: 1 } },
        select: userColumns,
      });
      if (rows[0]) {
        await this.invalidate([id]);
        return { ok: true, user: toUserRecord(rows[0]) };
      }
      const exists = await this.prisma.user.findUnique({ where: { id: BigInt(id) }, select: { id: true } });
      return { ok: false, reason: exists ? 'STALE_VERSION' : 'NOT_FOUND' };
    } catch (error) {
      if (isUsernameViolation(error)) return { ok: false, reason: 'USERNAME_TAKEN' };
      throw error;
    }
  }
}
