/** The only code of this subgraph that touches storage: the users and refresh_tokens tables. */
import { isUniqueViolation, Prisma, type PrismaClient } from '@chat/prisma';
import DataLoader from 'dataloader';

/** A user as the API shows it; IDs are decimal strings above the store. */
export interface UserRecord {
  id: string;
  username: string;
  displayName: string;
  createdAt: Date;
}

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

export interface NewRefreshToken {
  id: bigint;
  /** SHA-256 of the token, hex; the token itself is never stored. */
  tokenHash: string;
  expiresAt: Date;
}

export type CreateUserResult = { ok: true; user: UserRecord } | { ok: false; reason: 'USERNAME_TAKEN' };

export interface UserSearch {
  /** Case-insensitive substring of the username or the display name; undefined for everyone. */
  search: string | undefined;
  /** Only users whose username sorts after this one (keyset pagination). */
  afterUsername: string | undefined;
  take: number;
}

const userColumns = { id: true, username: true, displayName: true, createdAt: true } as const;

type UserRow = Prisma.UserGetPayload<{ select: typeof userColumns }>;

function toRecord(row: UserRow): UserRecord {
  return { id: row.id.toString(), username: row.username, displayName: row.displayName, createdAt: row.createdAt };
}

/** A unique-constraint violation on users.username rather than on an ID or a token hash. */
function isUsernameViolation(error: unknown): boolean {
  if (!isUniqueViolation(error)) return false;
  // The native engine names the columns in meta.target, driver adapters in
  // meta.driverAdapterError (fields and constraint name): both mention "username".
  return JSON.stringify(error.meta ?? {}).includes('username');
}

/** Prisma passes `contains` to (I)LIKE as is: escape its wildcards so they match literally. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (character) => `\\${character}`);
}

export class UserStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Batches look-ups of users by ID into one query; null for an unknown ID. */
  loader(): DataLoader<string, UserRecord | null> {
    return new DataLoader(async (ids) => {
      const rows = await this.prisma.user.findMany({ where: { id: { in: ids.map(BigInt) } }, select: userColumns });
      const byId = new Map(rows.map((row) => [row.id.toString(), toRecord(row)]));
      return ids.map((id) => byId.get(id) ?? null);
    });
  }

  async usernameExists(username: string): Promise<boolean> {
    const row = await this.prisma.user.findUnique({ where: { username }, select: { id: true } });
    return row !== null;
  }

  async findCredentials(username: string): Promise<UserCredentials | null> {
    const row = await this.prisma.user.findUnique({ where: { username }, select: { ...userColumns, passwordHash: true } });
    return row ? { user: toRecord(row), passwordHash: row.passwordHash } : null;
  }

  /**
   * Inserts a user together with their first refresh token, atomically.
   * A username taken meanwhile (the unique index decides) is reported, not thrown.
   */
  async createWithRefreshToken(user: NewUser, token: NewRefreshToken): Promise<CreateUserResult> {
    try {
      const row = await this.prisma.user.create({
        data: { ...user, refreshTokens: { create: token } },
        select: userColumns,
      });
      return { ok: true, user: toRecord(row) };
    } catch (error) {
      if (isUsernameViolation(error)) return { ok: false, reason: 'USERNAME_TAKEN' };
      throw error;
    }
  }

  async addRefreshToken(userId: string, token: NewRefreshToken): Promise<void> {
    await this.prisma.refreshToken.create({ data: { ...token, userId: BigInt(userId) } });
  }

  /** Users in username order, at most `take`. */
  async search({ search, afterUsername, take }: UserSearch): Promise<UserRecord[]> {
    const where: Prisma.UserWhereInput[] = [];
    if (search !== undefined) {
      where.push({
        OR: [
          { username: { contains: escapeLike(search), mode: 'insensitive' } },
          { displayName: { contains: escapeLike(search), mode: 'insensitive' } },
        ],
      });
    }
    if (afterUsername !== undefined) where.push({ username: { gt: afterUsername } });
    const rows = await this.prisma.user.findMany({ where: { AND: where }, orderBy: { username: 'asc' }, take, select: userColumns });
    return rows.map(toRecord);
  }
}
