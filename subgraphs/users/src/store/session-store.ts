/**
 * Sessions (one per logged-in device) and their refresh tokens: the only
 * code touching the sessions and refresh_tokens tables. Refresh tokens are
 * stored as SHA-256 hashes and used once; a used token is kept until it
 * expires so that presenting it again is recognised as reuse.
 */
import type { PrismaClient } from '@chat/prisma';
import { toUserRecord, userColumns, type UserRecord } from './user-store.ts';

/** Why a session ended; `CUT_OFF`: an operator ended it (`npm run sessions:end`). */
export type EndReason =
  'LOGOUT' | 'LOGOUT_EVERYWHERE' | 'ENDED_BY_USER' | 'PASSWORD_CHANGED' | 'REFRESH_REUSED' | 'CUT_OFF';

export interface SessionRecord {
  id: string;
  userId: string;
  deviceName: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  /** Set where it is known without a viewer: the session a login just started is the caller's. */
  current?: boolean;
}

export interface NewSession {
  id: bigint;
  deviceName: string | null;
  userAgent: string | null;
  expiresAt: Date;
}

export interface NewRefreshToken {
  id: bigint;
  /** SHA-256 of the token, hex; the token itself is never stored. */
  tokenHash: string;
  expiresAt: Date;
}

export type RotateResult =
  | { ok: true; session: SessionRecord; user: UserRecord }
  /** UNKNOWN: no such token; ENDED: its session ended or expired; REUSED: it was already exchanged (the session has now ended). */
  | { ok: false; reason: 'UNKNOWN' | 'ENDED' | 'REUSED' };

type SessionRow = {
  id: bigint;
  userId: bigint;
  deviceName: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
};

const toSessionRecord = (row: SessionRow): SessionRecord => ({
  id: row.id.toString(),
  userId: row.userId.toString(),
  deviceName: row.deviceName,
  userAgent: row.userAgent,
  createdAt: row.createdAt,
  lastUsedAt: row.lastUsedAt,
  expiresAt: row.expiresAt,
});

export class SessionStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Starts a session for an existing user with its first refresh token. */
  async create(userId: string, session: NewSession, token: NewRefreshToken): Promise<SessionRecord> {
    const row = await this.prisma.authSession.create({
      data: { ...session, userId: BigInt(userId), refreshTokens: { create: token } },
    });
    return toSessionRecord(row);
  }

  /**
   * Exchanges the token with hash `tokenHash` for `next`, in one transaction:
   * the old token is marked used only if it was not already (a conditional
   * update, so two concurrent exchanges of one token cannot both succeed),
   * the session slides to `expiresAt`, and its expired tokens are pruned. A
   * token already used ends its session (REFRESH_REUSED), committed even
   * though the exchange fails.
   */
  async rotate(tokenHash: string, next: NewRefreshToken, now: Date, expiresAt: Date): Promise<RotateResult> {
    return this.prisma.$transaction(async (tx) => {
      const claimed = await tx.refreshToken.updateMany({
        where: { tokenHash, usedAt: null, expiresAt: { gt: now } },
        data: { usedAt: now },
      });
      const token = await tx.refreshToken.findUnique({
        where: { tokenHash },
        select: {
          sessionId: true,
          usedAt: true,
          expiresAt: true,
          session: { select: { endedAt: true, expiresAt: true } },
        },
      });
      if (!token) return { ok: false, reason: 'UNKNOWN' } as const;
      if (claimed.count === 0) {
        if (token.expiresAt <= now) return { ok: false, reason: 'ENDED' } as const;
        await tx.authSession.updateMany({
          where: { id: token.sessionId, endedAt: null },
          data: { endedAt: now, endReason: 'REFRESH_REUSED' },
        });
        return { ok: false, reason: 'REUSED' } as const;
      }
      if (token.session.endedAt || token.session.expiresAt <= now) return { ok: false, reason: 'ENDED' } as const;
      await tx.refreshToken.create({ data: { ...next, sessionId: token.sessionId } });
      await tx.refreshToken.deleteMany({ where: { sessionId: token.sessionId, expiresAt: { lte: now } } });
      const session = await tx.authSession.update({
        where: { id: token.sessionId },
        data: { lastUsedAt: now, expiresAt },
        include: { user: { select: userColumns } },
      });
      return { ok: true, session: toSessionRecord(session), user: toUserRecord(session.user) };
    });
  }

  /** The session a refresh token (by hash) belongs to, if any. */
  async sessionOfToken(tokenHash: string): Promise<string | null> {
    const row = await this.prisma.refreshToken.findUnique({ where: { tokenHash }, select: { sessionId: true } });
    return row?.sessionId.toString() ?? null;
  }

  /** The user's sessions that have neither ended nor expired, most recently used first. */
  async active(userId: string, now: Date): Promise<SessionRecord[]> {
    const rows = await this.prisma.authSession.findMany({
      where: { userId: BigInt(userId), endedAt: null, expiresAt: { gt: now } },
      orderBy: [{ lastUsedAt: 'desc' }, { id: 'desc' }],
    });
    return rows.map(toSessionRecord);
  }

  /** Ends one session of the user. @returns whether it was going on (false: not theirs, or already ended). */
  async end(userId: string, sessionId: string, reason: EndReason, now: Date): Promise<boolean> {
    if (!/^\d{1,20}$/.test(sessionId)) return false;
    const ended = await this.prisma.authSession.updateMany({
      where: { id: BigInt(sessionId), userId: BigInt(userId), endedAt: null },
      data: { endedAt: now, endReason: reason },
    });
    return ended.count > 0;
  }

  /** Ends every going session of the user but `keep`. @returns the IDs ended. */
  async endAll(userId: string, reason: EndReason, now: Date, keep?: string): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ id: bigint }[]>`
      UPDATE sessions SET ended_at = ${now}, end_reason = ${reason}
      WHERE user_id = ${BigInt(userId)} AND ended_at IS NULL AND id <> ${keep ? BigInt(keep) : -1n}
      RETURNING id`;
    return rows.map((row) => row.id.toString());
  }
}
