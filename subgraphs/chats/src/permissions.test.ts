/**
 * Permissions of the chats subgraph: a rule for every field, a logged-in
 * viewer for every root field, and a member of the chat for every root field
 * naming one, refused as ChatService refuses (NOT_FOUND, for a chat the
 * viewer is not in as for one that does not exist), while
 * resolvers' own errors pass through unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyPermissions, buildFederatedSchema, executeSubgraph, type Viewer } from '@chat/common';
import {
  codeOf,
  createSubgraphTestkit,
  describePermissionCoverage,
  errorOf,
  plain,
  type SubgraphTestkit,
  type TestUser,
} from '@chat/common/testing';
import { createChatsSubgraph, typeDefs } from './index.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';

describe('chats permissions', () => {
  let kit: SubgraphTestkit<ReturnType<typeof createChatsSubgraph>>;
  let users: Record<'ann' | 'bob' | 'eve', TestUser>;
  const ids = { ann: '201', bob: '202', eve: '203' } as const;
  let chatId: string;

  const run = (query: string, variables: Record<string, unknown> = {}, as: keyof typeof users | null = null) =>
    kit.run(query, variables, as && users[as]);

  before(async () => {
    kit = await createSubgraphTestkit(createChatsSubgraph);
    // EVERYONE: they join groups at once, without the invitations of docs/GROUPS.md.
    users = await kit.seed.users(ids, { groupAddPolicy: 'EVERYONE' });
    const created = await run(
      'mutation ($i: CreateGroupChatInput!) { createGroupChat(input: $i) { id } }',
      { i: { title: 'Trip', memberIds: [ids.bob] } },
      'ann',
    );
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    chatId = (plain(created.data) as { createGroupChat: { id: string } }).createGroupChat.id;
  });
  after(() => kit.close());

  describePermissionCoverage({
    typeDefs,
    resolvers,
    permissions,
    anonymous: ['Query._service'],
    membership: {
      rule: 'chats.isChatMember',
      alsoNamingChat: ['Query.chat'],
      // The invitee is not a member yet: ChatService answers NOT_FOUND unless they hold an invitation.
      unchecked: ['Mutation.acceptGroupInvitation', 'Mutation.declineGroupInvitation'],
    },
  });

  it('refuses an anonymous caller with UNAUTHENTICATED', async () => {
    for (const query of [
      `{ chat(id: "${chatId}") { id } }`,
      '{ chats { edges { cursor } } }',
      'mutation { createGroupChat(input: { title: "t", memberIds: [] }) { id } }',
      `mutation { renameChat(chatId: "${chatId}", title: "Mine") { id } }`,
    ]) {
      assert.equal(codeOf(await run(query)), 'UNAUTHENTICATED', query);
    }
    const entities = await run('query ($r: [_Any!]!) { _entities(representations: $r) { ... on Chat { id } } }', {
      r: [{ __typename: 'Chat', id: chatId }],
    });
    assert.deepEqual([codeOf(entities), entities.data], ['UNAUTHENTICATED', null]);
  });

  it('refuses a non-member exactly as an unknown chat (NOT_FOUND), as ChatService does, changing nothing', async () => {
    const notAMember = { message: 'Chat was not found.', extensions: { code: 'NOT_FOUND' } };
    assert.deepEqual(
      errorOf(await run('query ($id: ID!) { chat(id: $id) { id title } }', { id: chatId }, 'eve')),
      notAMember,
    );
    assert.deepEqual(
      errorOf(
        await run('mutation ($c: ID!) { renameChat(chatId: $c, title: "Hijacked") { id } }', { c: chatId }, 'eve'),
      ),
      notAMember,
    );
    assert.deepEqual(
      errorOf(
        await run('mutation ($c: ID!) { addChatMembers(chatId: $c, userIds: ["203"]) { id } }', { c: chatId }, 'eve'),
      ),
      notAMember,
    );
    assert.deepEqual(
      errorOf(await run('mutation ($c: ID!) { leaveChat(chatId: $c) }', { c: chatId }, 'eve')),
      notAMember,
    );

    const notFound = { message: 'Chat was not found.', extensions: { code: 'NOT_FOUND' } };
    assert.deepEqual(errorOf(await run('{ chat(id: "123456789") { id } }', {}, 'eve')), notFound);
    assert.deepEqual(
      errorOf(await run('mutation { renameChat(chatId: "123456789", title: "t") { id } }', {}, 'eve')),
      notFound,
    );

    const chat = await run(
      'query ($id: ID!) { chat(id: $id) { title memberCount viewerRole } }',
      { id: chatId },
      'ann',
    );
    assert.deepEqual(
      plain(chat),
      { data: { chat: { title: 'Trip', memberCount: 2, viewerRole: 'OWNER' } } },
      'unchanged, and open to members',
    );
  });

  it('refuses a non-member before the resolver runs', async () => {
    const called: string[] = [];
    const spy = (name: string) => () => {
      called.push(name);
      throw new Error(`${name} ran`);
    };
    const spied = buildFederatedSchema(typeDefs, {
      ...resolvers,
      Query: { ...resolvers.Query, chat: spy('chat') },
      Mutation: { ...resolvers.Mutation, renameChat: spy('renameChat') },
    });
    const guarded = { ...kit.subgraph, schema: applyPermissions(spied, permissions) };
    const as = async (query: string, viewer: Viewer | null) =>
      codeOf(await executeSubgraph(guarded, { query, variables: { c: chatId }, viewer }));
    assert.equal(await as('query ($c: ID!) { chat(id: $c) { id } }', users.eve.viewer), 'NOT_FOUND');
    assert.equal(
      await as('mutation ($c: ID!) { renameChat(chatId: $c, title: "x") { id } }', users.eve.viewer),
      'NOT_FOUND',
    );
    assert.equal(await as('mutation ($c: ID!) { renameChat(chatId: $c, title: "x") { id } }', null), 'UNAUTHENTICATED');
    assert.deepEqual(called, []);
    assert.equal(
      await as('query ($c: ID!) { chat(id: $c) { id } }', users.ann.viewer),
      'INTERNAL_SERVER_ERROR',
      'a member reaches the resolver',
    );
    assert.deepEqual(called, ['chat']);
  });

  it("passes a resolver's own errors through unchanged: a malformed ID, a member's bad input, a member's lack of role", async () => {
    assert.deepEqual(errorOf(await run('{ chat(id: "not-an-id") { id } }', {}, 'eve')), {
      message: 'id is not a valid ID.',
      extensions: { argument: 'id', code: 'BAD_USER_INPUT' },
    });
    assert.deepEqual(errorOf(await run('mutation { leaveChat(chatId: "not-an-id") }', {}, 'eve')), {
      message: 'chatId is not a valid ID.',
      extensions: { argument: 'chatId', code: 'BAD_USER_INPUT' },
    });
    assert.equal(
      codeOf(await run('mutation ($c: ID!) { renameChat(chatId: $c, title: "") { id } }', { c: chatId }, 'ann')),
      'BAD_USER_INPUT',
    );
    assert.deepEqual(
      errorOf(await run('mutation ($c: ID!) { renameChat(chatId: $c, title: "Bob\'s") { id } }', { c: chatId }, 'bob')),
      {
        message: 'Only the owner and admins may rename the group.',
        extensions: { code: 'FORBIDDEN' },
      },
    );
  });
});
