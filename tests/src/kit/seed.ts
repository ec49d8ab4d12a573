/**
 * Seed builders: each test makes its own users and chats, so suites need no
 * cleanup. They go through the public API (what these tests test); what they
 * send (usernames, passwords, display names, message keys) comes from the
 * factories the unit kit and the benchmarks use too (`@chat/common/testing`).
 */
import { testClientMessageId, testDisplayName, testPassword, testUsername, uniqueTag } from '@chat/common/testing';
import { gql, gqlOk } from './client.ts';

/** Numbers display names, so that two users registered with one name tell apart in a test's output. */
let counter = 0;

export interface TestUser {
  id: string;
  username: string;
  displayName: string;
  password: string;
  token: string;
}

/**
 * Registers a user whose username starts with `name` (whole, up to 16
 * characters) and is unique among every run on the database, and whose
 * display name is `name` capitalised and numbered (`Ann 3`).
 */
export async function registerUser(url: string, name = 'user'): Promise<TestUser> {
  counter += 1;
  const username = testUsername(name, uniqueTag());
  const password = testPassword(username);
  const displayName = testDisplayName(`${name[0]?.toUpperCase()}${name.slice(1)}`, counter);
  const data = await gqlOk<{ register: { accessToken: string; user: { id: string } } }>(
    url,
    `mutation ($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id username displayName } } }`,
    { input: { username, password, displayName } },
  );
  return {
    id: data.register.user.id,
    username,
    displayName,
    password,
    token: data.register.accessToken,
  };
}

export async function directChat(url: string, from: TestUser, to: TestUser): Promise<string> {
  const data = await gqlOk<{ createDirectChat: { id: string } }>(
    url,
    'mutation ($userId: ID!) { createDirectChat(userId: $userId) { id } }',
    { userId: to.id },
    from.token,
  );
  return data.createDirectChat.id;
}

export async function sendText(
  url: string,
  user: TestUser,
  chatId: string,
  text: string,
  clientMessageId = testClientMessageId('c', uniqueTag()),
) {
  const data = await gqlOk<{ sendMessage: { id: string; text: string } }>(
    url,
    'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id text clientMessageId } }',
    { input: { chatId, text, clientMessageId } },
    user.token,
  );
  return data.sendMessage;
}

/**
 * Connects `from` and `to` (one invites, the other accepts; already connected
 * is fine): connections add each other to groups at once, where anyone else
 * only sends an invitation (docs/GROUPS.md).
 */
export async function connect(url: string, from: TestUser, to: TestUser): Promise<void> {
  const invited = await gql<{ inviteConnection: { status: string } }>(
    url,
    'mutation ($u: ID!) { inviteConnection(userId: $u) { status } }',
    { u: to.id },
    from.token,
  );
  const refusal = invited.errors?.[0]?.extensions?.reason;
  if (invited.errors && refusal !== 'ALREADY') throw new Error(`connect: ${JSON.stringify(invited.errors)}`);
  if (invited.data?.inviteConnection.status === 'CONNECTED') return;
  const accepted = await gql(
    url,
    'mutation ($u: ID!) { acceptConnection(userId: $u) { status } }',
    { u: from.id },
    to.token,
  );
  // NO_INVITATION: ALREADY meant connected, not invited.
  if (accepted.errors && accepted.errors[0]?.extensions?.reason !== 'NO_INVITATION')
    throw new Error(`connect: ${JSON.stringify(accepted.errors)}`);
}

/** Connects `owner` with each of `members` (see `connect`), so that they can be added to the owner's groups. */
export async function connectAll(url: string, owner: TestUser, members: readonly TestUser[]): Promise<void> {
  for (const member of members) await connect(url, owner, member);
}

/**
 * Sets `user`'s groupAddPolicy to EVERYONE: anyone may add them to a group
 * at once, without connecting (which would also widen who sees their presence).
 */
export async function openToGroups(url: string, user: TestUser): Promise<void> {
  const { me } = await gqlOk<{ me: { version: number } }>(url, '{ me { version } }', {}, user.token);
  await gqlOk(
    url,
    'mutation ($i: UpdateProfileInput!) { updateProfile(input: $i) { id } }',
    { i: { version: me.version, groupAddPolicy: 'EVERYONE' } },
    user.token,
  );
}
