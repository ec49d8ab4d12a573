/**
 * Seed builders for in-process tests: users and chats written straight to
 * the database (no password hashing, no events), each user with a session
 * and its access token, so a test can act as them at once. What the rows
 * hold (usernames, display names, titles) comes from ./factories.ts, as in
 * the e2e kit and the benchmarks.
 */
import type { Viewer } from '../auth.ts';
import type { Runtime } from '../runtime.ts';
import { testDisplayName, testGroupTitle, testUsername, UNUSABLE_PASSWORD_HASH } from './factories.ts';
import { openTestSession, viewerOf } from './sessions.ts';

/** A seeded user, as a test acts as them. */
export interface TestUser {
  id: string;
  username: string;
  /** `Bearer <access token>` for their session. */
  auth: string;
  /** The viewer the gateway would forward for `auth`. */
  viewer: Viewer;
}

export interface TestUserOptions {
  /** @default the next Snowflake of the runtime */
  id?: string;
  /** @default `name` when `id` is given, otherwise `name_<n>` (`testUsername`, unique in the process) */
  username?: string;
  /** @default `name` */
  displayName?: string;
  /** Who may add them to a group directly. @default CONNECTIONS (the schema's) */
  groupAddPolicy?: 'EVERYONE' | 'CONNECTIONS' | 'NOBODY';
}

export interface TestChatOptions {
  /** @default GROUP */
  kind?: 'GROUP' | 'DIRECT';
  /** @default `chat <id>` for a group, none for a direct chat */
  title?: string | null;
  /** The creator; a member too. */
  createdBy: TestUser | string;
  /** Members besides the creator. */
  members?: readonly (TestUser | string)[];
  /** @default the next Snowflake of the runtime */
  id?: string;
}

let usernames = 0;

const idOf = (user: TestUser | string) => BigInt(typeof user === 'string' ? user : user.id);

/** Inserts a user row and starts a session for them. */
export async function seedUser(runtime: Runtime, name: string, options: TestUserOptions = {}): Promise<TestUser> {
  const id = options.id ?? runtime.ids.next().toString();
  const username = options.username ?? (options.id ? name : testUsername(name, ++usernames));
  await runtime.db.prisma.user.create({
    data: {
      id: BigInt(id),
      username,
      displayName: options.displayName ?? testDisplayName(name),
      passwordHash: UNUSABLE_PASSWORD_HASH,
      ...(options.groupAddPolicy && { groupAddPolicy: options.groupAddPolicy }),
    },
  });
  const auth = await openTestSession(runtime, { id, username });
  const viewer = await viewerOf(runtime, auth);
  if (!viewer) throw new Error(`no viewer for the session of ${username}`);
  return { id, username, auth, viewer };
}

/**
 * Seeds one user per entry of `ids` (`{ ann: '201' }`: username ann, ID 201),
 * in order, with the same options.
 */
export async function seedUsers<Name extends string>(
  runtime: Runtime,
  ids: Readonly<Record<Name, string>>,
  options: Omit<TestUserOptions, 'id' | 'username'> = {},
): Promise<Record<Name, TestUser>> {
  const users = {} as Record<Name, TestUser>;
  for (const [name, id] of Object.entries(ids) as [Name, string][])
    users[name] = await seedUser(runtime, name, { ...options, id });
  return users;
}

/**
 * Inserts a chat row with its members (the creator among them, every one a
 * MEMBER), as the chats subgraph would have left it. A direct chat gets the
 * key of its pair. @returns the chat's ID.
 */
export async function seedChat(runtime: Runtime, options: TestChatOptions): Promise<string> {
  const id = options.id ? BigInt(options.id) : runtime.ids.next();
  const kind = options.kind ?? 'GROUP';
  const userIds = [...new Set([idOf(options.createdBy), ...(options.members ?? []).map(idOf)])];
  const pair = [...userIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  await runtime.db.prisma.chat.create({
    data: {
      id,
      kind,
      title: options.title === undefined ? (kind === 'GROUP' ? testGroupTitle('chat', id) : null) : options.title,
      ...(kind === 'DIRECT' && { directKey: pair.join(':') }),
      createdById: idOf(options.createdBy),
      members: { create: userIds.map((userId) => ({ userId })) },
    },
  });
  return id.toString();
}
