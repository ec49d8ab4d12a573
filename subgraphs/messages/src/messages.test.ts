import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { executeSubgraph, subscribeSubgraph, type Runtime } from '@chat/common';
import { codeOf, createMemoryRuntime, openTestSession, plain, viewerOf } from '@chat/common/testing';
import type { ExecutionResult } from 'graphql';
import { createMessagePipeline, createMessagesSubgraph } from './index.ts';
import { PrismaMessageStore, type PendingMessage } from './store/message-store.ts';

type Stream = AsyncIterableIterator<ExecutionResult>;

interface SentMessage {
  id: string;
  text: string;
  clientMessageId: string;
  createdAt: string;
  chat: { id: string };
  sender: { id: string };
}

const SEND = `mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) { id text clientMessageId createdAt chat { id } sender { id } }
}`;
const HISTORY = `query ($chatId: ID!, $first: Int, $before: String) {
  messages(chatId: $chatId, first: $first, before: $before) {
    edges { cursor node { id text sender { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const ADDED = 'subscription ($chatId: ID) { messageAdded(chatId: $chatId) { id text chat { id } sender { id } } }';
const ENTITIES = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Message { id text chat { id } } } }';

describe('messages subgraph (in-process)', () => {
  let runtime: Runtime;
  let subgraph: ReturnType<typeof createMessagesSubgraph>;
  const auth: Record<'ann' | 'bob' | 'eve', string> = { ann: '', bob: '', eve: '' };
  const userIds = { ann: '101', bob: '102', eve: '103' } as const;
  /** Pub/sub listeners currently registered, to check that closed subscriptions remove theirs. */
  const listeners = new Set<number>();
  let keySequence = 0;

  const key = () => `key-${++keySequence}`;

  const run = async (who: keyof typeof auth | null, query: string, variables?: Record<string, unknown>) =>
    executeSubgraph(subgraph, { query, variables, viewer: await viewerOf(runtime, who ? auth[who] : null) });

  async function send(
    who: keyof typeof auth,
    chatId: string,
    text: string,
    clientMessageId = key(),
  ): Promise<SentMessage> {
    const result = await run(who, SEND, { input: { chatId, text, clientMessageId } });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return plain(result.data?.sendMessage) as SentMessage;
  }

  async function subscribe(who: keyof typeof auth, chatId?: string): Promise<Stream> {
    const stream = await subscribeSubgraph(subgraph, {
      query: ADDED,
      variables: { chatId },
      viewer: await viewerOf(runtime, auth[who]),
    });
    assert.ok(Symbol.asyncIterator in stream, JSON.stringify(stream));
    return stream;
  }

  /** The next event's message, failing instead of hanging when none comes. */
  async function nextMessage(pending: Promise<IteratorResult<ExecutionResult>>): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('no event within 2s')), 2000);
    });
    try {
      const step = await Promise.race([pending, timeout]);
      assert.equal(step.done, false);
      assert.equal(step.value.errors, undefined);
      return plain(step.value.data?.messageAdded);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lets a freshly started `next()` register its pub/sub listener. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

  async function createChat(members: readonly (keyof typeof userIds)[]): Promise<string> {
    const id = runtime.ids.next();
    await runtime.db.prisma.chat.create({
      data: {
        id,
        kind: 'GROUP',
        title: `chat ${id}`,
        createdById: BigInt(userIds[members[0] ?? 'ann']),
        members: { create: members.map((member) => ({ userId: BigInt(userIds[member]) })) },
      },
    });
    return id.toString();
  }

  async function addMember(chatId: string, member: keyof typeof userIds): Promise<void> {
    await runtime.db.prisma.chatMember.create({ data: { chatId: BigInt(chatId), userId: BigInt(userIds[member]) } });
  }

  const storedCount = (chatId: string) => runtime.db.prisma.message.count({ where: { chatId: BigInt(chatId) } });

  before(async () => {
    runtime = await createMemoryRuntime();
    const { pubsub } = runtime;
    const subscribeTopic = pubsub.subscribe.bind(pubsub);
    const unsubscribeTopic = pubsub.unsubscribe.bind(pubsub);
    pubsub.subscribe = async (topic, onMessage, options) => {
      const id = await subscribeTopic(topic, onMessage, options);
      listeners.add(id);
      return id;
    };
    pubsub.unsubscribe = (id: number) => {
      listeners.delete(id);
      return unsubscribeTopic(id);
    };
    subgraph = createMessagesSubgraph(runtime);
    for (const [username, id] of Object.entries(userIds) as [keyof typeof userIds, string][]) {
      await runtime.db.prisma.user.create({
        data: { id: BigInt(id), username, displayName: username, passwordHash: 'scrypt$test' },
      });
      auth[username] = await openTestSession(runtime, { id, username });
    }
  });
  after(() => runtime.close());

  it('refuses an anonymous caller everywhere', async () => {
    const chatId = await createChat(['ann', 'bob']);
    assert.equal(
      codeOf(await run(null, SEND, { input: { chatId, text: 'hi', clientMessageId: key() } })),
      'UNAUTHENTICATED',
    );
    assert.equal(codeOf(await run(null, HISTORY, { chatId })), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run(null, ENTITIES, { r: [{ __typename: 'Message', id: '1' }] })), 'UNAUTHENTICATED');
    const stream = await subscribeSubgraph(subgraph, { query: ADDED, variables: { chatId }, viewer: null });
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.equal(codeOf(stream), 'UNAUTHENTICATED');
    assert.equal(await storedCount(chatId), 0);
  });

  it('sends messages and pages through the history, newest first', async () => {
    const chatId = await createChat(['ann', 'bob']);
    const first = await send('ann', chatId, '  hello  ');
    assert.equal(first.text, 'hello');
    assert.deepEqual(first.chat, { id: chatId });
    assert.deepEqual(first.sender, { id: userIds.ann });
    assert.ok(!Number.isNaN(Date.parse(first.createdAt)));
    const second = await send('bob', chatId, 'hi ann');
    const third = await send('ann', chatId, 'how are you?');

    const page1 = await run('bob', HISTORY, { chatId, first: 2 });
    assert.equal(page1.errors, undefined);
    const connection1 = plain(page1.data?.messages) as {
      edges: { cursor: string; node: { id: string; text: string; sender: { id: string } } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string };
    };
    assert.deepEqual(
      connection1.edges.map((edge) => edge.node),
      [
        { id: third.id, text: 'how are you?', sender: { id: userIds.ann } },
        { id: second.id, text: 'hi ann', sender: { id: userIds.bob } },
      ],
    );
    assert.equal(connection1.pageInfo.hasNextPage, true);
    assert.equal(connection1.pageInfo.endCursor, connection1.edges[1]?.cursor);

    const page2 = await run('ann', HISTORY, { chatId, first: 2, before: connection1.pageInfo.endCursor });
    assert.equal(page2.errors, undefined);
    const connection2 = plain(page2.data?.messages) as typeof connection1;
    assert.deepEqual(
      connection2.edges.map((edge) => edge.node),
      [{ id: first.id, text: 'hello', sender: { id: userIds.ann } }],
    );
    assert.deepEqual(connection2.pageInfo, { hasNextPage: false, endCursor: connection2.edges[0]?.cursor });

    const all = await run('ann', HISTORY, { chatId });
    assert.deepEqual(
      (plain(all.data?.messages) as { edges: { node: { id: string } }[] }).edges.map((edge) => edge.node.id),
      [third.id, second.id, first.id],
    );
  });

  it('refuses malformed history arguments and unknown chats', async () => {
    const chatId = await createChat(['ann']);
    assert.equal(codeOf(await run('ann', HISTORY, { chatId: 'abc' })), 'BAD_USER_INPUT');
    assert.equal(codeOf(await run('ann', HISTORY, { chatId, first: 0 })), 'BAD_USER_INPUT');
    assert.equal(codeOf(await run('ann', HISTORY, { chatId, first: 101 })), 'BAD_USER_INPUT');
    assert.equal(codeOf(await run('ann', HISTORY, { chatId, before: 'not-a-cursor' })), 'BAD_USER_INPUT');
    assert.equal(codeOf(await run('ann', HISTORY, { chatId, before: '' })), 'BAD_USER_INPUT');
    const foreignCursor = Buffer.from(JSON.stringify(['abc'])).toString('base64url');
    assert.equal(codeOf(await run('ann', HISTORY, { chatId, before: foreignCursor })), 'BAD_USER_INPUT');
    assert.equal(codeOf(await run('ann', HISTORY, { chatId: '999999999' })), 'NOT_FOUND');
    assert.equal(
      codeOf(await run('ann', SEND, { input: { chatId: '999999999', text: 'x', clientMessageId: key() } })),
      'NOT_FOUND',
    );
    assert.equal(
      codeOf(await run('ann', SEND, { input: { chatId: 'abc', text: 'x', clientMessageId: key() } })),
      'BAD_USER_INPUT',
    );
  });

  it('updates unread counts and the chat’s last message in the same write', async () => {
    const chatId = await createChat(['ann', 'bob', 'eve']);
    await send('ann', chatId, 'one');
    const last = await send('bob', chatId, 'two');
    const members = await runtime.db.prisma.chatMember.findMany({
      where: { chatId: BigInt(chatId) },
      orderBy: { userId: 'asc' },
    });
    assert.deepEqual(
      members.map((member) => [member.userId.toString(), member.unreadCount]),
      [
        [userIds.ann, 1],
        [userIds.bob, 1],
        [userIds.eve, 2],
      ],
    );
    const chat = await runtime.db.prisma.chat.findUniqueOrThrow({ where: { id: BigInt(chatId) } });
    assert.equal(chat.lastMessageId?.toString(), last.id);
    assert.equal(chat.lastActivityAt.toISOString(), last.createdAt);
  });

  it('stores and announces one message when the same clientMessageId is sent twice', async () => {
    const chatId = await createChat(['ann', 'bob']);
    const stream = await subscribe('bob', chatId);
    const event = stream.next();
    const first = await send('ann', chatId, 'once', 'retry-1');
    const again = await send('ann', chatId, 'once (retried)', 'retry-1');
    assert.deepEqual(again, first);
    assert.equal(await storedCount(chatId), 1);
    assert.deepEqual(await nextMessage(event), {
      id: first.id,
      text: 'once',
      chat: { id: chatId },
      sender: { id: userIds.ann },
    });

    // The retry published nothing: the next event is the next new message.
    const following = stream.next();
    const other = await send('ann', chatId, 'second');
    assert.equal(((await nextMessage(following)) as { id: string }).id, other.id);
    await stream.return?.();

    const bob = await runtime.db.prisma.chatMember.findUniqueOrThrow({
      where: { chatId_userId: { chatId: BigInt(chatId), userId: BigInt(userIds.bob) } },
    });
    assert.equal(bob.unreadCount, 2);
  });

  it('refuses a clientMessageId reused for another chat', async () => {
    const chatA = await createChat(['ann', 'bob']);
    const chatB = await createChat(['ann', 'bob']);
    await send('ann', chatA, 'in A', 'shared-key');
    const result = await run('ann', SEND, { input: { chatId: chatB, text: 'in B', clientMessageId: 'shared-key' } });
    assert.equal(codeOf(result), 'BAD_USER_INPUT');
    assert.equal(result.errors?.[0]?.extensions.reason, 'CLIENT_MESSAGE_ID_REUSED');
    assert.equal(await storedCount(chatB), 0);
    // The key is per sender: someone else may use it.
    await send('bob', chatB, 'in B', 'shared-key');
  });

  it('stores one message for concurrent duplicate sends', async () => {
    const chatId = await createChat(['ann', 'bob']);
    const stream = await subscribe('bob', chatId);
    const event = stream.next();
    await settle();
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        run('ann', SEND, { input: { chatId, text: 'race', clientMessageId: 'concurrent-1' } }),
      ),
    );
    for (const result of results) assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const ids = new Set(results.map((result) => (result.data?.sendMessage as { id: string }).id));
    assert.equal(ids.size, 1);
    assert.equal(await storedCount(chatId), 1);
    const bob = await runtime.db.prisma.chatMember.findUniqueOrThrow({
      where: { chatId_userId: { chatId: BigInt(chatId), userId: BigInt(userIds.bob) } },
    });
    assert.equal(bob.unreadCount, 1);

    assert.equal(((await nextMessage(event)) as { id: string }).id, [...ids][0]);
    const following = stream.next();
    const other = await send('ann', chatId, 'after the race');
    assert.equal(((await nextMessage(following)) as { id: string }).id, other.id);
    await stream.return?.();
  });

  it('the pipeline places a redelivered message once: one seq, one history row, one unread increment', async () => {
    const chatId = await createChat(['ann', 'bob']);
    const pipeline = createMessagePipeline(runtime, new PrismaMessageStore(runtime.db.prisma));
    const message: PendingMessage = {
      id: runtime.ids.next().toString(),
      chatId,
      senderId: userIds.ann,
      text: 'delivered at least once',
      clientMessageId: 'redelivered',
      createdAt: new Date().toISOString(),
    };
    const first = await pipeline.process(message);
    const again = await pipeline.process(message);
    const raced = await Promise.all([pipeline.process(message), pipeline.process(message)]);
    assert.equal(first?.seq, '1');
    assert.deepEqual([again, ...raced], [first, first, first]);
    assert.equal(await storedCount(chatId), 1);
    const chat = await runtime.db.prisma.chat.findUniqueOrThrow({ where: { id: BigInt(chatId) } });
    assert.equal(chat.lastMessageId?.toString(), message.id);
    assert.equal(chat.lastSeq, 1n);
    const bob = await runtime.db.prisma.chatMember.findUniqueOrThrow({
      where: { chatId_userId: { chatId: BigInt(chatId), userId: BigInt(userIds.bob) } },
    });
    assert.equal(bob.unreadCount, 1);

    // Concurrent first deliveries of different messages get distinct, gapless numbers.
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        pipeline.process({ ...message, id: runtime.ids.next().toString(), clientMessageId: `burst-${n}` }),
      ),
    );
    assert.deepEqual(
      burst.map((placed) => Number(placed?.seq)).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, n) => n + 2),
    );
  });

  it('refuses a non-member as for an unknown chat: send, history and subscribe', async () => {
    const chatId = await createChat(['bob', 'eve']);
    const sent = await run('ann', SEND, { input: { chatId, text: 'let me in', clientMessageId: key() } });
    assert.equal(codeOf(sent), 'NOT_FOUND');
    assert.equal(sent.errors?.[0]?.message, 'Chat was not found.');
    assert.equal(await storedCount(chatId), 0);

    assert.equal(codeOf(await run('ann', HISTORY, { chatId })), 'NOT_FOUND');

    const stream = await subscribeSubgraph(subgraph, {
      query: ADDED,
      variables: { chatId },
      viewer: await viewerOf(runtime, auth.ann),
    });
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.equal(codeOf(stream), 'NOT_FOUND');

    const unknown = await subscribeSubgraph(subgraph, {
      query: ADDED,
      variables: { chatId: '999999999' },
      viewer: await viewerOf(runtime, auth.ann),
    });
    assert.ok(!(Symbol.asyncIterator in unknown));
    assert.equal(codeOf(unknown), 'NOT_FOUND');

    const malformed = await subscribeSubgraph(subgraph, {
      query: ADDED,
      variables: { chatId: 'x' },
      viewer: await viewerOf(runtime, auth.ann),
    });
    assert.ok(!(Symbol.asyncIterator in malformed));
    assert.equal(codeOf(malformed), 'BAD_USER_INPUT');
  });

  it('refuses empty, blank and over-long texts and bad keys, storing nothing', async () => {
    const chatId = await createChat(['ann', 'bob']);
    const refused: [string, string][] = [
      ['', key()],
      ['   \n\t  ', key()],
      ['a'.repeat(4001), key()],
      [` ${'a'.repeat(4001)} `, key()],
      ['x'.repeat(10 * 1024 * 1024), key()],
      ['nul \u0000 inside', key()],
      ['fine', ''],
      ['fine', 'k'.repeat(65)],
      ['fine', 'has space'],
      ['fine', 'slash/ed'],
    ];
    for (const [text, clientMessageId] of refused) {
      const result = await run('ann', SEND, { input: { chatId, text, clientMessageId } });
      assert.equal(codeOf(result), 'BAD_USER_INPUT', `text of ${text.length} chars, key ${clientMessageId}`);
      assert.equal(result.errors?.[0]?.extensions.stacktrace, undefined);
    }
    assert.equal(await storedCount(chatId), 0);
    const chat = await runtime.db.prisma.chat.findUniqueOrThrow({ where: { id: BigInt(chatId) } });
    assert.equal(chat.lastMessageId, null);
    const unread = await runtime.db.prisma.chatMember.findMany({ where: { chatId: BigInt(chatId) } });
    assert.deepEqual(
      unread.map((member) => member.unreadCount),
      [0, 0],
    );

    // The limits are inclusive, and surrounding whitespace does not count.
    assert.equal((await send('ann', chatId, 'a'.repeat(4000))).text.length, 4000);
    assert.equal((await send('ann', chatId, `\n  ${'b'.repeat(4000)}  \n`)).text, 'b'.repeat(4000));
    await send('ann', chatId, 'ok', `A-z.0_9:${'k'.repeat(56)}`);
  });

  it('keeps bidi controls balanced in sent and edited text, normalises it to NFC and refuses control characters', async () => {
    const chatId = await createChat(['ann', 'bob']);
    const edit = 'mutation ($id: ID!, $text: String!) { editMessage(id: $id, text: $text) { text } }';
    // An unterminated override is closed at the end of its line; a closer that closes nothing is dropped.
    const sent = await send('ann', chatId, 'see invoice\u202Efdp.exe');
    assert.equal(sent.text, 'see invoice\u202Efdp.exe\u202C');
    assert.equal((await send('ann', chatId, '\u2067a\nb\u2069c\u202C')).text, '\u2067a\u2069\nbc');
    assert.equal((await send('ann', chatId, '\u2067balanced\u2069 Zoe\u0301')).text, '\u2067balanced\u2069 Zo\u00E9');
    const edited = await run('ann', edit, { id: sent.id, text: 'now \u202Bhidden' });
    assert.equal(edited.errors, undefined, JSON.stringify(edited.errors));
    assert.equal((plain(edited.data) as { editMessage: { text: string } }).editMessage.text, 'now \u202Bhidden\u202C');
    const stored = await runtime.db.prisma.message.findUniqueOrThrow({ where: { id: BigInt(sent.id) } });
    assert.equal(stored.text, 'now \u202Bhidden\u202C');

    for (const text of ['escape \u001B[2J', 'back\u0008space', 'c1 \u009B']) {
      const refused = await run('ann', SEND, { input: { chatId, text, clientMessageId: key() } });
      assert.equal(refused.errors?.[0]?.extensions.reason, 'INVALID_TEXT', JSON.stringify(text));
      const refusedEdit = await run('ann', edit, { id: sent.id, text });
      assert.equal(refusedEdit.errors?.[0]?.extensions.reason, 'INVALID_TEXT', JSON.stringify(text));
    }
    assert.equal((await send('ann', chatId, 'tab\tand\r\nlines')).text, 'tab\tand\r\nlines');
  });

  it('refuses an `around` time the stores cannot hold, and pages around the earliest and latest they can', async () => {
    const chatId = await createChat(['ann']);
    await send('ann', chatId, 'the only message');
    const around =
      'query ($chatId: ID!, $around: String) { messages(chatId: $chatId, around: $around) { edges { node { text } } } }';
    for (const value of [
      '0000-01-01',
      '0000-12-31T23:59:59Z',
      '-271821-04-19',
      '+275760-09-13',
      '+999999-01-01',
      '10000-01-01',
      '2026-02-30',
      '',
      'garbage',
    ]) {
      const result = await run('ann', around, { chatId, around: value });
      assert.equal(codeOf(result), 'BAD_USER_INPUT', `${value}: ${JSON.stringify(result.errors)}`);
    }
    const earliest = await run('ann', around, { chatId, around: '0001-01-01' });
    assert.equal(earliest.errors, undefined, JSON.stringify(earliest.errors));
    const latest = await run('ann', around, { chatId, around: '9999-12-31T23:59:59.999Z' });
    assert.deepEqual(plain(latest.data), { messages: { edges: [{ node: { text: 'the only message' } }] } });
  });

  it('messageAdded(chatId) delivers that chat’s messages to members and filters the others', async () => {
    const chatA = await createChat(['ann', 'bob']);
    const chatB = await createChat(['ann', 'bob']);
    const annA = await subscribe('ann', chatA);
    const bobA = await subscribe('bob', chatA);
    const annNext = annA.next();
    const bobNext = bobA.next();
    await settle();
    await send('bob', chatB, 'elsewhere');
    const inA = await send('bob', chatA, 'here');
    const expected = { id: inA.id, text: 'here', chat: { id: chatA }, sender: { id: userIds.bob } };
    // Bob sees his own message too (his other devices).
    assert.deepEqual(await nextMessage(annNext), expected);
    assert.deepEqual(await nextMessage(bobNext), expected);
    await annA.return?.();
    await bobA.return?.();
  });

  it('messageAdded without chatId delivers every chat of the viewer, including chats joined later', async () => {
    const chatA = await createChat(['ann', 'bob']);
    const chatB = await createChat(['bob', 'eve']);
    const bobAll = await subscribe('bob');
    const annAll = await subscribe('ann');
    const bobFirst = bobAll.next();
    const annFirst = annAll.next();
    await settle();

    const inB = await send('eve', chatB, 'from eve');
    assert.deepEqual(await nextMessage(bobFirst), {
      id: inB.id,
      text: 'from eve',
      chat: { id: chatB },
      sender: { id: userIds.eve },
    });
    const inA = await send('ann', chatA, 'from ann');
    assert.equal(((await nextMessage(bobAll.next())) as { id: string }).id, inA.id);
    // Ann is not in chat B: her first event is her own message in chat A.
    assert.equal(((await nextMessage(annFirst)) as { id: string }).id, inA.id);

    const later = await createChat(['eve']);
    await addMember(later, 'bob');
    const inLater = await send('eve', later, 'welcome');
    assert.deepEqual(await nextMessage(bobAll.next()), {
      id: inLater.id,
      text: 'welcome',
      chat: { id: later },
      sender: { id: userIds.eve },
    });
    await bobAll.return?.();
    await annAll.return?.();
  });

  it('returning the subscription iterator completes it and removes its listener', async () => {
    const chatId = await createChat(['ann', 'bob']);
    const baseline = listeners.size;

    const filtered = await subscribe('ann', chatId);
    const pending = filtered.next();
    await settle();
    assert.equal(listeners.size, baseline + 1);
    await filtered.return?.();
    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.deepEqual(await filtered.next(), { done: true, value: undefined });
    assert.equal(listeners.size, baseline);

    const unfiltered = await subscribe('ann');
    const waiting = unfiltered.next();
    await settle();
    assert.equal(listeners.size, baseline + 1);
    await unfiltered.return?.();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    assert.equal(listeners.size, baseline);

    // Nothing is delivered to, or held for, the closed subscriptions.
    await send('bob', chatId, 'anyone?');
    assert.equal(listeners.size, baseline);
  });

  it('resolves Message entities for members, null when unknown or in a chat the viewer is not in', async () => {
    const mine = await createChat(['ann', 'bob']);
    const theirs = await createChat(['bob', 'eve']);
    const a = await send('bob', mine, 'first');
    const b = await send('ann', mine, 'second');
    const c = await send('eve', theirs, 'secret');

    const read = await run('ann', ENTITIES, {
      r: [
        { __typename: 'Message', id: b.id },
        { __typename: 'Message', id: '999999999' },
        { __typename: 'Message', id: a.id },
        { __typename: 'Message', id: 'nonsense' },
      ],
    });
    assert.equal(read.errors, undefined);
    assert.deepEqual(plain(read.data), {
      _entities: [
        { id: b.id, text: 'second', chat: { id: mine } },
        null,
        { id: a.id, text: 'first', chat: { id: mine } },
        null,
      ],
    });

    const refused = await run('ann', ENTITIES, {
      r: [
        { __typename: 'Message', id: a.id },
        { __typename: 'Message', id: c.id },
      ],
    });
    assert.deepEqual(plain(refused.data), { _entities: [{ id: a.id, text: 'first', chat: { id: mine } }, null] });
    assert.equal(refused.errors, undefined, 'as for an unknown ID');
  });
});
