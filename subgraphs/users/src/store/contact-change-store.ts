/** Pending email and phone changes (table contact_changes), and applying a confirmed one to users. */
import type { EntityCache } from '@chat/common';
import { isUniqueViolation, Prisma, type PrismaClient } from '@chat/prisma';
import { toUserRecord, USER_CACHE, userColumns, type UserRecord } from './user-store.ts';

export type ContactKind = 'EMAIL' | 'PHONE';

/** A new code for a change: the new value and the code's hash, never the code. */
export interface ContactChangeRequestRow {
  userId: string;
  kind: ContactKind;
  /** Already normalized: lower-case email, E.164 phone. */
  newValue: string;
  codeHash: string;
  expiresAt: Date;
}

/** How many codes one user may ask for per kind in a window. */
export interface SendLimit {
  now: Date;
  /** A window that started at or before this instant is over: the send starts a new one. */
  windowStartsAfter: Date;
  maxSends: number;
}

/** `windowStartedAt`: when the full window began (it ends one window length later). */
export type SaveRequestResult = { ok: true } | { ok: false; windowStartedAt: Date };

/** The pending change an attempt was counted on (attempts includes this attempt). */
export interface PendingChange {
  newValue: string;
  codeHash: string;
  attempts: number;
}

/**
 * TAKEN: another account holds the address (the unique index said so);
 * GONE: the pending change was consumed or replaced meanwhile.
 */
export type ApplyChangeResult = { ok: true; user: UserRecord } | { ok: false; reason: 'TAKEN' | 'GONE' };

const userField = (kind: ContactKind) => (kind === 'EMAIL' ? 'email' : 'phone');

const setContact = (kind: ContactKind, value: string): Prisma.UserUpdateInput =>
  kind === 'EMAIL' ? { email: value } : { phone: value };

export class ContactChangeStore {
  constructor(
    private readonly prisma: PrismaClient,
    /** The user entity cache, which every write to a users row invalidates. */
    private readonly cache: EntityCache,
  ) {}

  /** The user's confirmed email or phone; undefined when there is no such user. */
  async currentValue(userId: string, kind: ContactKind): Promise<string | null | undefined> {
    const row = await this.prisma.user.findUnique({
      where: { id: BigInt(userId) },
      select: { email: true, phone: true },
    });
    return row ? row[userField(kind)] : undefined;
  }

  /**
   * Stores a new code for the user's change of `kind`, replacing any pending
   * one (attempts start again), and counts the send: refused when the window
   * already holds `maxSends`. One statement, so concurrent requests cannot
   * both slip under the limit.
   */
  async saveRequest(request: ContactChangeRequestRow, limit: SendLimit): Promise<SaveRequestResult> {
    const userId = BigInt(request.userId);
    const { now, windowStartsAfter, maxSends } = limit;
    const saved = await this.prisma.$queryRaw<{ sends: number }[]>`
      INSERT INTO contact_changes AS c (user_id, kind, new_value, code_hash, expires_at, attempts, sends, created_at)
      VALUES (${userId}, ${request.kind}::"ContactKind", ${request.newValue}, ${request.codeHash}, ${request.expiresAt}, 0, 1, ${now})
      ON CONFLICT (user_id, kind) DO UPDATE
        SET new_value = EXCLUDED.new_value,
            code_hash = EXCLUDED.code_hash,
            expires_at = EXCLUDED.expires_at,
            attempts = 0,
            sends = CASE WHEN c.created_at <= ${windowStartsAfter} THEN 1 ELSE c.sends + 1 END,
            created_at = CASE WHEN c.created_at <= ${windowStartsAfter} THEN EXCLUDED.created_at ELSE c.created_at END
        WHERE c.created_at <= ${windowStartsAfter} OR c.sends < ${maxSends}
      RETURNING c.sends`;
    if (saved.length > 0) return { ok: true };
    const current = await this.prisma.contactChange.findUnique({
      where: { userId_kind: { userId, kind: request.kind } },
      select: { createdAt: true },
    });
    // The row exists (the insert conflicted); should it have gone meanwhile, the window starts now.
    return { ok: false, windowStartedAt: current?.createdAt ?? now };
  }

  /**
   * Counts one attempt on the user's pending change of `kind`, if there is one
   * that is unexpired at `now` with attempts left. Counting before comparing,
   * in one statement, means concurrent guesses cannot exceed `maxAttempts`.
   * @returns the change after counting, or null when there is none to try.
   */
  async countAttempt(userId: string, kind: ContactKind, now: Date, maxAttempts: number): Promise<PendingChange | null> {
    const [row] = await this.prisma.contactChange.updateManyAndReturn({
      where: { userId: BigInt(userId), kind, expiresAt: { gt: now }, attempts: { lt: maxAttempts } },
      data: { attempts: { increment: 1 } },
      select: { newValue: true, codeHash: true, attempts: true },
    });
    return row ?? null;
  }

  /**
   * Applies a confirmed change in one transaction: consumes the pending row
   * (still the one with `codeHash`), sets the user's email or phone to
   * `newValue` and bumps the profile version. An address another account
   * holds by now is reported, not thrown, and the pending row is deleted then too.
   * The cached user is invalidated once the change commits.
   */
  async applyChange(userId: string, kind: ContactKind, newValue: string, codeHash: string): Promise<ApplyChangeResult> {
    const id = BigInt(userId);
    let result: ApplyChangeResult;
    try {
      result = await this.prisma.$transaction(async (tx): Promise<ApplyChangeResult> => {
        const consumed = await tx.contactChange.deleteMany({ where: { userId: id, kind, codeHash } });
        if (consumed.count === 0) return { ok: false, reason: 'GONE' };
        const row = await tx.user.update({
          where: { id },
          data: { ...setContact(kind, newValue), version: { increment: 1 } },
          select: userColumns,
        });
        return { ok: true, user: toUserRecord(row) };
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      await this.prisma.contactChange.deleteMany({ where: { userId: id, kind, codeHash } });
      return { ok: false, reason: 'TAKEN' };
    }
    if (result.ok) await this.cache.invalidate(USER_CACHE, [userId]);
    return result;
  }
}
