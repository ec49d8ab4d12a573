/** Who may look users up, and how. */
import {
  badInput,
  conflict,
  decodeCursor,
  fromZodError,
  notFound,
  encodeCursor,
  pageSize,
  parseId,
  requireId,
  toConnection,
  unauthenticated,
  apiError,
  type Connection,
  type RateLimiter,
  type Viewer,
} from '@chat/common';
import type DataLoader from 'dataloader';
import { z } from 'zod';
import type { GroupAddPolicy, UserRecord, UserStore } from '../store/user-store.ts';
import { USERNAME_MAX, USERNAME_MIN, ZRegisterInputSchema } from './auth-service.ts';
import { refuse } from '../errors.ts';

export const MAX_SEARCH_LENGTH = 64;
/** Shorter searches (after trimming) find nobody, so that no one can list every user. */
export const MIN_SEARCH_LENGTH = 2;
/** The window of the per-user search limit (SEARCH_RATE_LIMIT searches in it). */
export const SEARCH_WINDOW_MS = 10_000;

/** The same rules as at registration, each field optional; at least one of them. */
export const ZUpdateProfileInputSchema = z
  .object({
    version: z.number().int().min(1, 'must be the version you read'),
    displayName: ZRegisterInputSchema.shape.displayName.optional(),
    username: ZRegisterInputSchema.shape.username.optional(),
    groupAddPolicy: z.enum(['EVERYONE', 'CONNECTIONS', 'NOBODY']).optional(),
  })
  .refine(
    (input) => input.displayName !== undefined || input.username !== undefined || input.groupAddPolicy !== undefined,
    'give displayName, username, groupAddPolicy or several',
  );

/** As GraphQL passes it: an absent field may also be null. */
export interface UpdateProfileInput {
  version: number;
  displayName?: string | null;
  username?: string | null;
  groupAddPolicy?: GroupAddPolicy | null;
}

export interface UsersArgs {
  search?: string | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}

/**
 * The username inside a `users` cursor: one as stored (lower case, the
 * registration alphabet). @throws BAD_USER_INPUT for a cursor this API did
 * not issue, before it reaches the database (which cannot compare a NUL).
 */
const USERNAME_IN_CURSOR = new RegExp(`^[a-z0-9_]{${USERNAME_MIN},${USERNAME_MAX}}$`);

function usernameOf(cursor: string): string {
  const [username = ''] = decodeCursor(cursor, 1);
  if (!USERNAME_IN_CURSOR.test(username)) throw badInput('Invalid cursor.', { argument: 'after' });
  return username;
}

/** One per operation: its DataLoader batches by-ID look-ups (read through the entity cache). */
export class UserService {
  readonly #loader: DataLoader<string, UserRecord | null>;

  constructor(
    private readonly viewer: Viewer | null,
    private readonly store: UserStore,
    private readonly search: { limits: RateLimiter; perWindow: number },
  ) {
    this.#loader = store.loader();
  }

  #requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  /** Null for an ID that is not well formed or names no user. */
  #load(id: string): Promise<UserRecord | null> {
    const parsed = parseId(id);
    return parsed === undefined ? Promise.resolve(null) : this.#loader.load(parsed.toString());
  }

  /** The viewer, or null for an anonymous caller (or an account that no longer exists). */
  me(): Promise<UserRecord | null> {
    return this.viewer ? this.#load(this.viewer.id) : Promise.resolve(null);
  }

  /** @throws UNAUTHENTICATED without a viewer; BAD_USER_INPUT for a malformed ID. */
  user(id: string): Promise<UserRecord | null> {
    this.#requireViewer();
    return this.#loader.load(requireId(id, 'id').toString());
  }

  /** The entity resolver: other subgraphs' references, which need a viewer as `user(id)` does. */
  byReference(id: string): Promise<UserRecord | null> {
    this.#requireViewer();
    return this.#load(id);
  }

  /** @throws UNAUTHENTICATED without a viewer; BAD_USER_INPUT for a bad `search`, `first` or `after`. */
  async users({ search, first, after }: UsersArgs): Promise<Connection<UserRecord>> {
    const viewer = this.#requireViewer();
    const take = pageSize(first);
    const text = search?.trim() ?? '';
    if (text.length > MAX_SEARCH_LENGTH) {
      throw badInput(`search must be at most ${MAX_SEARCH_LENGTH} characters.`, { argument: 'search' });
    }
    const afterUsername = after === null || after === undefined ? undefined : usernameOf(after);
    if (text.length < MIN_SEARCH_LENGTH)
      return toConnection(
        [],
        take,
        (row: UserRecord) => row.username,
        (row) => row,
      );
    // Searching walks indexes of every user: limited per user, in every process alike.
    const decision = await this.search.limits.hit(`user-search:${viewer.id}`, this.search.perWindow, SEARCH_WINDOW_MS);
    if (!decision.allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      throw apiError('RATE_LIMITED', `Too many searches; try again in ${retryAfterSeconds} s.`, { retryAfterSeconds });
    }
    const rows = await this.store.search({ search: text, afterUsername, take: take + 1 });
    return toConnection(
      rows,
      take,
      (row) => encodeCursor([row.username]),
      (row) => row,
    );
  }

  /** `value` for the owner of `user`, null for anyone else: email, phone and version are the owner's. */
  ownerOnly<T>(user: UserRecord, value: T): T | null {
    return this.viewer?.id === user.id ? value : null;
  }

  /**
   * @throws CONFLICT when the profile changed since `input.version` was read
   * (nothing is changed), BAD_USER_INPUT for invalid fields or a taken username.
   */
  /**
   * Sets (or, with null, removes) the viewer's avatar.
   * @throws BAD_USER_INPUT (reason MEDIA_NOT_READY) unless `mediaId` is the viewer's READY upload of purpose AVATAR.
   */
  async setAvatar(mediaId: string | null | undefined): Promise<UserRecord> {
    const viewer = this.#requireViewer();
    if (mediaId != null && !/^\d{1,20}$/.test(mediaId))
      throw badInput('mediaId is not a media ID.', { argument: 'mediaId' });
    const user = await this.store.setAvatar(viewer.id, mediaId ?? null);
    if (!user)
      throw refuse('MEDIA_NOT_READY', 'Use one of your own avatar uploads once it is READY.', { argument: 'mediaId' });
    return user;
  }

  async updateProfile(input: UpdateProfileInput): Promise<UserRecord> {
    const viewer = this.#requireViewer();
    const parsed = ZUpdateProfileInputSchema.safeParse({
      version: input.version,
      // GraphQL null means "leave as is", like an omitted field.
      displayName: input.displayName ?? undefined,
      username: input.username ?? undefined,
      groupAddPolicy: input.groupAddPolicy ?? undefined,
    });
    if (!parsed.success) throw fromZodError(parsed.error);
    const { version, ...changes } = parsed.data;
    const result = await this.store.updateProfile(viewer.id, version, changes);
    if (result.ok) return result.user;
    if (result.reason === 'USERNAME_TAKEN')
      throw refuse('USERNAME_TAKEN', 'That username is taken.', { argument: 'input.username' });
    if (result.reason === 'NOT_FOUND') throw notFound('User');
    throw conflict('The profile changed since you read it: read it again (me { version }) and retry.');
  }
}
