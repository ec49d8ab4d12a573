/** Accounts and credentials: registration, login, and the tokens both hand out. */
import { createHash, randomBytes } from 'node:crypto';
import { badInput, fromZodError, unauthenticated, type Snowflake, type TokenService } from '@chat/common';
import { z } from 'zod';
import type { NewRefreshToken, UserRecord, UserStore } from '../store/user-store.ts';
import { hashPassword, verifyPassword } from './password.ts';

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
export const DISPLAY_NAME_MAX = 64;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60 * 1000;
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
  displayName: z
    .string()
    .trim()
    .min(1, `must be 1 to ${DISPLAY_NAME_MAX} characters`)
    .max(DISPLAY_NAME_MAX, `must be 1 to ${DISPLAY_NAME_MAX} characters`)
    .regex(/^\P{Cc}*$/u, 'must not contain control characters'),
});

export type RegisterInput = z.input<typeof ZRegisterInputSchema>;

/** Only the shape is checked: whether such a user exists is for the credentials check to say. */
export const ZLoginInputSchema = z.object({
  username: z.string().trim().min(1, 'must not be empty').max(USERNAME_MAX, `must be at most ${USERNAME_MAX} characters`).toLowerCase(),
  password: z.string().min(1, 'must not be empty').max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`),
});

export type LoginInput = z.input<typeof ZLoginInputSchema>;

export interface AuthResult {
  accessToken: string;
  refreshToken: string;
  user: UserRecord;
}

/** The one refusal for a taken username, whether found by the check or by the unique index. */
export const usernameTaken = () => badInput('That username is taken.', { reason: 'USERNAME_TAKEN' });

/** Refresh tokens are stored only as this hash. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class AuthService {
  /**
   * A hash of a random password with the current parameters: login checks an
   * unknown username against it, so that it costs the same scrypt as a known one.
   */
  readonly #dummyHash: Promise<string>;

  constructor(
    private readonly store: UserStore,
    private readonly ids: Snowflake,
    private readonly tokens: TokenService,
  ) {
    this.#dummyHash = hashPassword(randomBytes(32).toString('base64url'));
    // Awaited by login; a failure surfaces there, not as an unhandled rejection.
    this.#dummyHash.catch(() => {});
  }

  /** @throws BAD_USER_INPUT listing every invalid field, or with reason USERNAME_TAKEN. */
  async register(input: RegisterInput): Promise<AuthResult> {
    const parsed = ZRegisterInputSchema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    const { username, password, displayName } = parsed.data;
    // A cheap early answer; the unique index below is what makes it race-free.
    if (await this.store.usernameExists(username)) throw usernameTaken();
    const passwordHash = await hashPassword(password);
    const refresh = this.#newRefreshToken();
    const created = await this.store.createWithRefreshToken({ id: this.ids.next(), username, displayName, passwordHash }, refresh.record);
    if (!created.ok) throw usernameTaken();
    return this.#authResult(created.user, refresh.token);
  }

  /** @throws UNAUTHENTICATED, the same for an unknown username and a wrong password; BAD_USER_INPUT for empty or oversized fields. */
  async login(input: LoginInput): Promise<AuthResult> {
    const parsed = ZLoginInputSchema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    const { username, password } = parsed.data;
    const credentials = await this.store.findCredentials(username);
    if (!credentials) {
      await verifyPassword(password, await this.#dummyHash);
      throw unauthenticated(INVALID_CREDENTIALS);
    }
    if (!(await verifyPassword(password, credentials.passwordHash))) throw unauthenticated(INVALID_CREDENTIALS);
    const refresh = this.#newRefreshToken();
    await this.store.addRefreshToken(credentials.user.id, refresh.record);
    return this.#authResult(credentials.user, refresh.token);
  }

  #newRefreshToken(): { token: string; record: NewRefreshToken } {
    const token = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url');
    return {
      token,
      record: { id: this.ids.next(), tokenHash: hashRefreshToken(token), expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_MS) },
    };
  }

  async #authResult(user: UserRecord, refreshToken: string): Promise<AuthResult> {
    const accessToken = await this.tokens.issueAccessToken({ id: user.id, username: user.username });
    return { accessToken, refreshToken, user };
  }
}
