/**
 * Accounts, credentials and sessions: registration, login, token refresh
 * with rotation, logout, and password changes. Rules in docs/SECURITY.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  announceEndedSessions,
  fromZodError,
  log,
  notFound,
  tokenRefused,
  unauthenticated,
  type EntityCache,
  type PubSubEngine,
  type Snowflake,
  type TokenService,
  type Viewer,
  zName,
} from '@chat/common';
import { z } from 'zod';
import type { NewRefreshToken, SessionRecord, SessionStore } from '../store/session-store.ts';
import type { UserRecord, UserStore } from '../store/user-store.ts';
import type { PasswordHasher } from './password.ts';
import { refuse } from '../errors.ts';

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
export const DISPLAY_NAME_MAX = 64;
/** A session not refreshed for this long ends; every refresh extends it. */
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;
export const DEVICE_NAME_MAX = 64;
const REFRESH_TOKEN_BYTES = 32;

const INVALID_CREDENTIALS = 'Invalid username or password.';

export const ZRegisterInputSchema = z.object({
  username: z
    .string()
    .trim()
    .min(USERNAME_MIN, `must be ${USERNAME_MIN} to ${USERNAME_MAX} characters`)
    .max(USERNAME_MAX, `must be ${USERNAME_MIN} to ${USERNAME_MAX} characters`)
    .regex(/^[A-Za-z0-9_]*$/, 'may contain only letters, digits and underscores')
    .toLowerCase(),
  password: z
    .string()
    .min(PASSWORD_MIN, `must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`)
    .max(PASSWORD_MAX, `must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`),
  displayName: zName(DISPLAY_NAME_MAX),
  // Optional: empty (or only spaces) means none; a name of invisible characters is refused like any other.
  deviceName: z
    .string()
    .nullish()
    .transform((name) => (name?.trim() ? name : null))
    .pipe(zName(DEVICE_NAME_MAX).nullable()),
});

export type RegisterInput = z.input<typeof ZRegisterInputSchema>;

/** Only the shape is checked: whether such a user exists is for the credentials check to say. */
export const ZLoginInputSchema = z.object({
  username: z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(USERNAME_MAX, `must be at most ${USERNAME_MAX} characters`)
    .toLowerCase(),
  password: z.string().min(1, 'must not be empty').max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`),
  deviceName: ZRegisterInputSchema.shape.deviceName,
});

export const ZChangePasswordInputSchema = z.object({
  currentPassword: z
    .string()
    .min(1, 'must not be empty')
    .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`),
  newPassword: ZRegisterInputSchema.shape.password,
});

export type ChangePasswordInput = z.input<typeof ZChangePasswordInputSchema>;

export type LoginInput = z.input<typeof ZLoginInputSchema>;

export interface AuthResult {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  session: SessionRecord;
  user: UserRecord;
}

/** The one refusal for a taken username, whether found by the check or by the unique index. */
export const usernameTaken = () => refuse('USERNAME_TAKEN', 'That username is taken.');

/** Refresh tokens are stored only as this hash. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** What a request knows about the device making it. */
export interface DeviceInfo {
  userAgent?: string | null | undefined;
}

export interface AuthServiceDeps {
  users: UserStore;
  sessions: SessionStore;
  passwords: PasswordHasher;
  ids: Snowflake;
  tokens: TokenService;
  cache: EntityCache;
  /** Where ended sessions are announced to the gateways. */
  pubsub: PubSubEngine;
  now?: () => Date;
}

export class AuthService {
  readonly #users: UserStore;
  readonly #sessions: SessionStore;
  readonly #passwords: PasswordHasher;
  readonly #ids: Snowflake;
  readonly #tokens: TokenService;
  readonly #cache: EntityCache;
  readonly #pubsub: PubSubEngine;
  readonly #now: () => Date;
  /**
   * A hash of a random password with the current parameters: login checks an
   * unknown username against it, so that it costs the same as a known one.
   */
  readonly #dummyHash: Promise<string>;

  constructor({ users, sessions, passwords, ids, tokens, cache, pubsub, now = () => new Date() }: AuthServiceDeps) {
    this.#users = users;
    this.#sessions = sessions;
    this.#passwords = passwords;
    this.#ids = ids;
    this.#tokens = tokens;
    this.#cache = cache;
    this.#pubsub = pubsub;
    this.#now = now;
    this.#dummyHash = passwords.hash(randomBytes(32).toString('base64url'));
    // Awaited by login; a failure surfaces there, not as an unhandled rejection.
    this.#dummyHash.catch(() => {});
  }

  /** @throws BAD_USER_INPUT listing every invalid field, or with reason USERNAME_TAKEN. */
  async register(input: RegisterInput, device: DeviceInfo = {}): Promise<AuthResult> {
    const parsed = ZRegisterInputSchema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    const { username, password, displayName, deviceName } = parsed.data;
    // A cheap early answer; the unique index below is what makes it race-free.
    if (await this.#users.usernameExists(username)) throw usernameTaken();
    const passwordHash = await this.#passwords.hash(password);
    const now = this.#now();
    const refresh = this.#newRefreshToken(now);
    const session = {
      id: this.#ids.next(),
      deviceName,
      userAgent: device.userAgent ?? null,
      expiresAt: refresh.record.expiresAt,
    };
    const created = await this.#users.createWithSession(
      { id: this.#ids.next(), username, displayName, passwordHash },
      session,
      refresh.record,
    );
    if (!created.ok) throw usernameTaken();
    const record: SessionRecord = {
      ...session,
      id: session.id.toString(),
      userId: created.user.id,
      createdAt: now,
      lastUsedAt: now,
    };
    return this.#authResult(created.user, record, refresh.token);
  }

  /**
   * Starts a new session. A password hash made with older parameters or
   * pepper is replaced on the way (the user notices nothing).
   * @throws UNAUTHENTICATED, the same for an unknown username and a wrong password; BAD_USER_INPUT for empty or oversized fields.
   */
  async login(input: LoginInput, device: DeviceInfo = {}): Promise<AuthResult> {
    const parsed = ZLoginInputSchema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    const { username, password, deviceName } = parsed.data;
    const credentials = await this.#users.findCredentials(username);
    if (!credentials) {
      await this.#passwords.verify(password, await this.#dummyHash);
      throw unauthenticated(INVALID_CREDENTIALS);
    }
    const check = await this.#passwords.verify(password, credentials.passwordHash);
    if (!check.ok) throw unauthenticated(INVALID_CREDENTIALS);
    if (check.needsRehash) await this.#rehash(credentials.user.id, credentials.passwordHash, password);
    const now = this.#now();
    const refresh = this.#newRefreshToken(now);
    const session = await this.#sessions.create(
      credentials.user.id,
      { id: this.#ids.next(), deviceName, userAgent: device.userAgent ?? null, expiresAt: refresh.record.expiresAt },
      refresh.record,
    );
    return this.#authResult(credentials.user, session, refresh.token);
  }

  /**
   * Exchanges a refresh token for the next one and a fresh access token.
   * A token exchanged before ends its session: someone else holds a copy.
   * @throws UNAUTHENTICATED (reason SESSION_ENDED) for an unknown, expired, ended or reused token.
   */
  async refresh(refreshToken: string): Promise<AuthResult> {
    if (refreshToken.length === 0 || refreshToken.length > 256)
      throw tokenRefused('Invalid refresh token.', 'SESSION_ENDED');
    const now = this.#now();
    const next = this.#newRefreshToken(now);
    const rotated = await this.#sessions.rotate(
      hashRefreshToken(refreshToken),
      next.record,
      now,
      next.record.expiresAt,
    );
    if (!rotated.ok) {
      if (rotated.reason === 'REUSED') {
        log.warn('a refresh token was used twice: its session was ended', {});
        // The session ended in the store; every process must stop accepting its access tokens now.
        await this.#endedSessions(await this.#sessionOf(refreshToken));
        throw tokenRefused(
          'This refresh token was already used, so the session has ended; log in again.',
          'SESSION_ENDED',
        );
      }
      throw tokenRefused('The session has ended; log in again.', 'SESSION_ENDED');
    }
    return this.#authResult(rotated.user, rotated.session, next.token);
  }

  /** The viewer's going sessions, most recently used first. */
  sessions(viewer: Viewer | null): Promise<SessionRecord[]> {
    return this.#sessions.active(requireViewer(viewer).id, this.#now());
  }

  /** Ends the viewer's own session (this device). */
  async logout(viewer: Viewer | null): Promise<boolean> {
    const { id, sessionId } = requireViewer(viewer);
    await this.#sessions.end(id, sessionId, 'LOGOUT', this.#now());
    await this.#endedSessions([sessionId]);
    return true;
  }

  /** Ends every session of the viewer, this one included. */
  async logoutEverywhere(viewer: Viewer | null): Promise<boolean> {
    const ended = await this.#sessions.endAll(requireViewer(viewer).id, 'LOGOUT_EVERYWHERE', this.#now());
    await this.#endedSessions(ended);
    return true;
  }

  /** Ends one of the viewer's sessions. @throws NOT_FOUND for one that is not theirs or has ended. */
  async endSession(viewer: Viewer | null, sessionId: string): Promise<boolean> {
    const { id } = requireViewer(viewer);
    if (!(await this.#sessions.end(id, sessionId, 'ENDED_BY_USER', this.#now()))) throw notFound('The session');
    await this.#endedSessions([sessionId]);
    return true;
  }

  /**
   * Sets a new password after checking the current one, and ends every
   * other session of the viewer: whoever may have learnt the old password is
   * logged out, this device stays in.
   * @throws UNAUTHENTICATED for a wrong current password (nothing changes); BAD_USER_INPUT for an invalid new one.
   */
  async changePassword(viewer: Viewer | null, input: ChangePasswordInput): Promise<boolean> {
    const { id, sessionId } = requireViewer(viewer);
    const parsed = ZChangePasswordInputSchema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    const stored = await this.#users.passwordHash(id);
    if (!stored) throw tokenRefused('The session has ended; log in again.', 'SESSION_ENDED');
    if (!(await this.#passwords.verify(parsed.data.currentPassword, stored)).ok)
      throw unauthenticated('The current password is not right.');
    const replaced = await this.#users.replacePasswordHash(
      id,
      stored,
      await this.#passwords.hash(parsed.data.newPassword),
    );
    // Another device changed it between our read and write: let the user try again against the new one.
    if (!replaced) throw unauthenticated('The current password is not right.');
    await this.#endedSessions(await this.#sessions.endAll(id, 'PASSWORD_CHANGED', this.#now(), sessionId));
    return true;
  }

  /** Verifies the viewer's password (before deleting the account, say). */
  async checkPassword(viewer: Viewer, password: string): Promise<boolean> {
    const stored = await this.#users.passwordHash(viewer.id);
    return stored !== null && password.length <= PASSWORD_MAX && (await this.#passwords.verify(password, stored)).ok;
  }

  async #rehash(userId: string, stored: string, password: string): Promise<void> {
    try {
      await this.#users.replacePasswordHash(userId, stored, await this.#passwords.hash(password));
    } catch (error) {
      // The login itself succeeded; the next one tries again.
      log.warn('could not re-hash a password', { error: String(error) });
    }
  }

  /** Makes every process refuse the access tokens of sessions that just ended, and every gateway end their streams. */
  async #endedSessions(sessionIds: readonly string[]): Promise<void> {
    await announceEndedSessions({ cache: this.#cache, pubsub: this.#pubsub }, sessionIds);
  }

  async #sessionOf(refreshToken: string): Promise<string[]> {
    const id = await this.#sessions.sessionOfToken(hashRefreshToken(refreshToken));
    return id ? [id] : [];
  }

  #newRefreshToken(now: Date): { token: string; record: NewRefreshToken } {
    const token = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url');
    return {
      token,
      record: {
        id: this.#ids.next(),
        tokenHash: hashRefreshToken(token),
        expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_MS),
      },
    };
  }

  async #authResult(user: UserRecord, session: SessionRecord, refreshToken: string): Promise<AuthResult> {
    const access = await this.#tokens.issueAccessToken({ id: user.id, username: user.username, sessionId: session.id });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      session: { ...session, current: true },
      user,
    };
  }
}

function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw unauthenticated();
  return viewer;
}
