/**
 * Permissions of the messages subgraph: a rule for every field, a logged-in
 * viewer for every root field, and a member of the chat for every root field
 * naming one (`chatId`, `input.chatId`), refused before the resolver runs and
 * as the services refuse (NOT_FOUND, for a chat the viewer is not in as
 * for one that does not exist); subscriptions refused
 * when they open; resolvers' own errors passed through unchanged. Membership
 * is looked up once per operation, rule and service together, and afresh in
 * the next one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyPermissions, buildFederatedSchema, executeSubgraph, subscribeSubgraph } from '@chat/common';
import {
  codeOf,
  createSubgraphTestkit,
  describePermissionCoverage,
  errorOf,
  plain,
  type SubgraphTestkit,
  type TestUser,
} from '@chat/common/testing';
import type { PrismaClient } from '@chat/prisma';
import type { ExecutionResult } from 'graphql';
import { createMessagesSubgraph, typeDefs } from './index.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';

const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }';
const HISTORY = 'query ($chatId: ID!) { messages(chatId: $chatId) { edges { node { id } } } }';
const EVENTS =
  'subscription ($chatId: ID, $after: String) { chatEvents(chatId: $chatId, after: $after) { __typename } }';
/** A chat the viewer is not in answers as one that does not exist. */
const NOT_A_MEMBER = { message: 'Chat was not found.', extensions: { code: 'NOT_FOUND' } };

describe('messages permissions', () => {
  let kit: SubgraphTestkit<ReturnType<typeof createMessagesSubgraph>>;
  let users: Record<'ann' | 'bob' | 'eve', TestUser>;
  const ids = { ann: '301', bob: '302', eve: '303' } as const;
  let chatId: string;
  let keys = 0;

  const run = (query: string, variables: Record<string, unknown> = {}, as: keyof typeof users | null = null) =>
    kit.run(query, variables, as && users[as]);
  const send = (as: keyof typeof users | null, text: string, chat = chatId) =>
    run(SEND, { input: { chatId: chat, text, clientMessageId: `perm-${++keys}` } }, as);
  const subscribe = (query: string, variables: Record<string, unknown>, as: keyof typeof users | null) =>
    kit.subscribe(query, variables, as && users[as]);
  const storedCount = () => kit.runtime.db.prisma.message.count({ where: { chatId: BigInt(chatId) } });

  before(async () => {
    kit = await createSubgraphTestkit(createMessagesSubgraph);
    users = await kit.seed.users(ids);
    chatId = await kit.seed.chat({ title: 'Trip', createdBy: users.ann, members: [users.bob] });
  });
  after(() => kit.close());

  describePermissionCoverage({
    typeDefs,
    resolvers,
    permissions,
    anonymous: ['Query._service'],
    membership: { rule: 'messages.isChatMember' },
  });

  it('refuses an anonymous caller with UNAUTHENTICATED, subscriptions when they open', async () => {
    assert.equal(codeOf(await send(null, 'hi')), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run(HISTORY, { chatId })), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run('mutation { editMessage(id: "1", text: "x") { id } }')), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run(`mutation { setTyping(chatId: "${chatId}", typing: true) }`)), 'UNAUTHENTICATED');
    const entities = await run('query ($r: [_Any!]!) { _entities(representations: $r) { ... on Message { id } } }', {
      r: [{ __typename: 'Message', id: '1' }],
    });
    assert.deepEqual([codeOf(entities), entities.data], ['UNAUTHENTICATED', null]);
    for (const variables of [{}, { chatId }]) {
      const stream = await subscribe(EVENTS, variables, null);
      assert.ok(!(Symbol.asyncIterator in stream), JSON.stringify(variables));
      assert.equal(codeOf(stream), 'UNAUTHENTICATED');
    }
    assert.equal(await storedCount(), 0);
  });

  it('refuses a non-member exactly as an unknown chat (NOT_FOUND), as the services do, storing nothing', async () => {
    assert.deepEqual(errorOf(await send('eve', 'let me in')), NOT_A_MEMBER);
    assert.deepEqual(errorOf(await run(HISTORY, { chatId }, 'eve')), NOT_A_MEMBER);
    assert.deepEqual(
      errorOf(await run('mutation ($c: ID!) { setTyping(chatId: $c, typing: true) }', { c: chatId }, 'eve')),
      NOT_A_MEMBER,
    );
    assert.deepEqual(
      errorOf(
        await run('mutation ($c: ID!) { markSeen(chatId: $c, upToMessageId: "1") { seenAt } }', { c: chatId }, 'eve'),
      ),
      NOT_A_MEMBER,
    );
    const stream = await subscribe(EVENTS, { chatId }, 'eve');
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.deepEqual(errorOf(stream), NOT_A_MEMBER);
    assert.equal(await storedCount(), 0);

    const notFound = { message: 'Chat was not found.', extensions: { code: 'NOT_FOUND' } };
    assert.deepEqual(errorOf(await run(HISTORY, { chatId: '123456789' }, 'eve')), notFound);
    assert.deepEqual(errorOf(await send('eve', 'hello?', '123456789')), notFound);

    assert.equal((await send('ann', 'Hi Bob')).errors, undefined, 'open to members');
    const history = await run(HISTORY, { chatId }, 'bob');
    assert.equal((plain(history.data) as { messages: { edges: unknown[] } }).messages.edges.length, 1);
  });

  it('refuses a non-member before the resolver runs, and before a subscription opens', async () => {
    const called: string[] = [];
    const spy = (name: string) => () => {
      called.push(name);
      throw new Error(`${name} ran`);
    };
    const spied = buildFederatedSchema(typeDefs, {
      ...resolvers,
      Query: { ...resolvers.Query, messages: spy('messages') },
      Mutation: { ...resolvers.Mutation, sendMessage: spy('sendMessage'), setTyping: spy('setTyping') },
      Subscription: {
        ...resolvers.Subscription,
        chatEvents: { subscribe: spy('chatEvents'), resolve: (event: unknown) => event },
      },
    });
    const guarded = { ...kit.subgraph, schema: applyPermissions(spied, permissions) };
    const eve = users.eve.viewer;
    const codes = [
      codeOf(await executeSubgraph(guarded, { query: HISTORY, variables: { chatId }, viewer: eve })),
      codeOf(
        await executeSubgraph(guarded, {
          query: SEND,
          variables: { input: { chatId, text: 'x', clientMessageId: 'spy-1' } },
          viewer: eve,
        }),
      ),
      codeOf(
        await executeSubgraph(guarded, {
          query: `mutation { setTyping(chatId: "${chatId}", typing: true) }`,
          viewer: eve,
        }),
      ),
      codeOf(
        (await subscribeSubgraph(guarded, { query: EVENTS, variables: { chatId }, viewer: eve })) as ExecutionResult,
      ),
    ];
    assert.deepEqual(codes, ['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND']);
    assert.deepEqual(called, []);
    const member = await executeSubgraph(guarded, { query: HISTORY, variables: { chatId }, viewer: users.bob.viewer });
    assert.deepEqual(
      [codeOf(member), called],
      ['INTERNAL_SERVER_ERROR', ['messages']],
      'a member reaches the resolver',
    );
  });

  it("passes a resolver's own errors through unchanged", async () => {
    assert.deepEqual(errorOf(await run(HISTORY, { chatId: 'not-an-id' }, 'eve')), {
      message: 'chatId is not a valid ID.',
      extensions: { argument: 'chatId', code: 'BAD_USER_INPUT' },
    });
    assert.equal(codeOf(await send('ann', '   ')), 'BAD_USER_INPUT');
    const sent = await send('ann', 'Mine');
    const messageId = (plain(sent.data) as { sendMessage: { id: string } }).sendMessage.id;
    assert.deepEqual(
      errorOf(
        await run(
          'mutation ($id: ID!) { editMessage(id: $id, text: "Bob was here") { id } }',
          { id: messageId },
          'bob',
        ),
      ),
      {
        message: 'Only the sender may edit a message.',
        extensions: { code: 'FORBIDDEN' },
      },
    );
    const stream = await subscribe(EVENTS, { after: 'x' }, 'ann');
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.deepEqual(errorOf(stream), {
      message: 'after needs chatId: a cursor is a position in one chat.',
      extensions: { argument: 'after', code: 'BAD_USER_INPUT' },
    });
  });

  it('looks membership up once per operation, in one statement, shared by the rule and the services', async () => {
    // Every Prisma operation of the subgraph, named by model, or by the verb and tables of a raw statement (one SQL
    // statement each; a model read with a relation would be two).
    const operations: string[] = [];
    const counted = kit.runtime.db.prisma.$extends({
      query: {
        $allOperations({ model, operation, args, query }) {
          const sql = model ? '' : ((args as { strings?: string[] }).strings ?? []).join('?');
          const tables = [...new Set(sql.match(/\b(chats|chat_members|blocks)\b/g) ?? [])].join('+');
          operations.push(model ? `${model}.${operation}` : `${operation}(${sql.trim().split(/\s/)[0]} ${tables})`);
          return query(args);
        },
      },
    }) as unknown as PrismaClient;
    const observed = createMessagesSubgraph({ ...kit.runtime, db: { ...kit.runtime.db, prisma: counted } });
    const LOOKUP = '$queryRaw(SELECT chats+chat_members)';
    // The page touches the membership tables only to check access; sending also places the message (in-process pipeline).
    const membershipReads = () => operations.filter((name) => /^Chat(Member)?\.|chats|chat_members/.test(name));
    const accessChecks = () => operations.filter((name) => name.startsWith('Chat.') || name === LOOKUP);
    try {
      for (let i = 0; i < 3; i++) assert.equal((await send('ann', `page ${i}`)).errors, undefined);
      const page = `query ($chatId: ID!, $before: String) {
        messages(chatId: $chatId, first: 2, before: $before) {
          edges { cursor node { id text createdAt kind editedAt deletedAt clientMessageId sender { id } } }
          pageInfo { hasNextPage endCursor }
        }
      }`;
      let before: string | null = null;
      for (let i = 0; i < 2; i++) {
        operations.length = 0;
        const result = await executeSubgraph(observed, {
          query: page,
          variables: { chatId, before },
          viewer: users.bob.viewer,
        });
        assert.equal(result.errors, undefined, JSON.stringify(result.errors));
        before = (plain(result.data) as { messages: { pageInfo: { endCursor: string } } }).messages.pageInfo.endCursor;
        assert.deepEqual(membershipReads(), [LOOKUP], 'one membership statement per page');
        assert.equal(
          operations.length,
          3,
          `the membership, the page and the viewer's hidden messages: ${operations.join(', ')}`,
        );
      }

      operations.length = 0;
      const sent = await executeSubgraph(observed, {
        query: SEND,
        variables: { input: { chatId, text: 'counted', clientMessageId: `perm-${++keys}` } },
        viewer: users.ann.viewer,
      });
      assert.equal(sent.errors, undefined, JSON.stringify(sent.errors));
      assert.deepEqual(accessChecks(), [LOOKUP], 'one membership statement per send');

      operations.length = 0;
      assert.deepEqual(
        errorOf(await executeSubgraph(observed, { query: HISTORY, variables: { chatId }, viewer: users.eve.viewer })),
        NOT_A_MEMBER,
      );
      assert.deepEqual(membershipReads(), [LOOKUP], 'one for a refusal too');
    } finally {
      await observed.close?.();
    }
  });

  it('sees a change of membership in the next operation', async () => {
    const eve = () => run(HISTORY, { chatId }, 'eve');
    const member = { chatId_userId: { chatId: BigInt(chatId), userId: BigInt(ids.eve) } };
    assert.deepEqual(errorOf(await eve()), NOT_A_MEMBER);
    await kit.runtime.db.prisma.chatMember.create({ data: member.chatId_userId });
    try {
      assert.equal((await eve()).errors, undefined, 'a member now');
    } finally {
      await kit.runtime.db.prisma.chatMember.delete({ where: member });
    }
    assert.deepEqual(errorOf(await eve()), NOT_A_MEMBER);
  });
});
