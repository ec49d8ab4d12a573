import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Runtime } from '@chat/common';
import { codeOf, createSubgraphTestkit, plain, type SubgraphTestkit, type TestUser } from '@chat/common/testing';
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
  let kit: SubgraphTestkit<ReturnType<typeof createMessagesSubgraph>>;
  /** The kit's runtime: tests read and arrange the database directly. */
  let runtime: Runtime;
  const ids = { ann: '101', bob: '102', eve: '103' } as const;
  let users: Record<keyof typeof ids, TestUser>;
  /** Pub/sub listeners currently registered, to check that closed subscriptions remove theirs. */
  const listeners = new Set<number>();
  let keySequence = 0;

  const key = () => `key-${++keySequence}`;

  /** Keeps `listeners` up to date as the subgraph subscribes to and leaves topics. */
  function trackListeners(pubsub: Runtime['pubsub']): void {
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
  }

  async function send(as: TestUser, chatId: string, text: string, clientMessageId = key()): Promise<SentMessage> {
    return (await kit.ok<{ sendMessage: SentMessage }>(SEND, { input: { chatId, text, clientMessageId } }, as))
      .sendMessage;
  }

  async function subscribe(as: TestUser, chatId?: string): Promise<Stream> {
    const stream = await kit.subscribe(ADDED, { chatId }, as);
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

  /** A group of `members`, the first its creator. */
  const createChat = (members: readonly [TestUser, ...TestUser[]]) => kit.seed.chat({ createdBy: members[0], members });

  async function addMember(chatId: string, member: TestUser): Promise<void> {
    await runtime.db.prisma.chatMember.create({ data: { chatId: BigInt(chatId), userId: BigInt(member.id) } });
  }

  const storedCount = (chatId: string) => runtime.db.prisma.message.count({ where: { chatId: BigInt(chatId) } });

  before(async () => {
    kit = await createSubgraphTestkit((runtime) => {
      trackListeners(runtime.pubsub);
      return createMessagesSubgraph(runtime);
    });
    runtime = kit.runtime;
    users = await kit.seed.users(ids);
  });
  after(() => kit.close());

  it('refuses an anonymous caller everywhere', async () => {
    const chatId = await createChat([users.ann, users.bob]);
    assert.equal(
      codeOf(await kit.run(SEND, { input: { chatId, text: 'hi', clientMessageId: key() } })),
      'UNAUTHENTICATED',
    );
    assert.equal(codeOf(await kit.run(HISTORY, { chatId })), 'UNAUTHENTICATED');
    assert.equal(codeOf(await kit.run(ENTITIES, { r: [{ __typename: 'Message', id: '1' }] })), 'UNAUTHENTICATED');
    const stream = await kit.subscribe(ADDED, { chatId });
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.equal(codeOf(stream), 'UNAUTHENTICATED');
    assert.equal(await storedCount(chatId), 0);
  });

  it('sends messages and pages through the history, newest first', async () => {
    const chatId = await createChat([users.ann, users.bob]);
    const first = await send(users.ann, chatId, '  hello  ');
    assert.equal(first.text, 'hello');
    assert.deepEqual(first.chat, { id: chatId });
    assert.deepEqual(first.sender, { id: ids.ann });
    assert.ok(!Number.isNaN(Date.parse(first.createdAt)));
    const second = await send(users.bob, chatId, 'hi ann');
    const third = await send(users.ann, chatId, 'how are you?');

    interface History {
      messages: {
        edges: { cursor: string; node: { id: string; text: string; sender: { id: string } } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    }
    const { messages: connection1 } = await kit.ok<History>(HISTORY, { chatId, first: 2 }, users.bob);
    assert.deepEqual(
      connection1.edges.map((edge) => edge.node),
      [
        { id: third.id, text: 'how are you?', sender: { id: ids.ann } },
        { id: second.id, text: 'hi ann', sender: { id: ids.bob } },
      ],
    );
    assert.equal(connection1.pageInfo.hasNextPage, true);
    assert.equal(connection1.pageInfo.endCursor, connection1.edges[1]?.cursor);

    const { messages: connection2 } = await kit.ok<History>(
      HISTORY,
      { chatId, first: 2, before: connection1.pageInfo.endCursor },
      users.ann,
    );
    assert.deepEqual(
      connection2.edges.map((edge) => edge.node),
      [{ id: first.id, text: 'hello', sender: { id: ids.ann } }],
    );
    assert.deepEqual(connection2.pageInfo, { hasNextPage: false, endCursor: connection2.edges[0]?.cursor });

    const all = await kit.ok<History>(HISTORY, { chatId }, users.ann);
    assert.deepEqual(
      all.messages.edges.map((edge) => edge.node.id),
      [third.id, second.id, first.id],
    );
  });

  it('refuses malformed history arguments and unknown chats', async () => {
    const chatId = await createChat([users.ann]);
    assert.equal(codeOf(await kit.run(HISTORY, { chatId: 'abc' }, users.ann)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await kit.run(HISTORY, { chatId, first: 0 }, users.ann)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await kit.run(HISTORY, { chatId, first: 101 }, users.ann)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await kit.run(HISTORY, { chatId, before: 'not-a-cursor' }, users.ann)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await kit.run(HISTORY, { chatId, before: '' }, users.ann)), 'BAD_USER_INPUT');
    const foreignCursor = Buffer.from(JSON.stringify(['abc'])).toString('base64url');
    assert.equal(codeOf(await kit.run(HISTORY, { chatId, before: foreignCursor }, users.ann)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await kit.run(HISTORY, { chatId: '999999999' }, users.ann)), 'NOT_FOUND');
    assert.equal(
      codeOf(await kit.run(SEND, { input: { chatId: '999999999', text: 'x', clientMessageId: key() } }, users.ann)),
      'NOT_FOUND',
    );
    assert.equal(
      codeOf(await kit.run(SEND, { input: { chatId: 'abc', text: 'x', clientMessageId: key() } }, users.ann)),
      'BAD_USER_INPUT',
    );
  });

  it('updates unread counts and the chat’s last message in the same write', async () => {
    const chatId = await createChat([users.ann, users.bob, users.eve]);
    await send(users.ann, chatId, 'one');
    const last = await send(users.bob, chatId, 'two');
    const members = await runtime.db.prisma.chatMember.findMany({
      where: { chatId: BigInt(chatId) },
      orderBy: { userId: 'asc' },
    });
    assert.deepEqual(
      members.map((member) => [member.userId.toString(), member.unreadCount]),
      [
        [ids.ann, 1],
        [ids.bob, 1],
        [ids.eve, 2],
      ],
    );
    const chat = await runtime.db.prisma.chat.findUniqueOrThrow({ where: { id: BigInt(chatId) } });
    assert.equal(chat.lastMessageId?.toString(), last.id);
    assert.equal(chat.lastActivityAt.toISOString(), last.createdAt);
  });

  it('stores and announces one message when the same clientMessageId is sent twice', async () => {
    const chatId = await createChat([users.ann, users.bob]);
    const stream = await subscribe(users.bob, chatId);
    const event = stream.next();
    const first = await send(users.ann, chatId, 'once', 'retry-1');
    const again = await send(users.ann, chatId, 'once (retried)', 'retry-1');
    assert.deepEqual(again, first);
    assert.equal(await storedCount(chatId), 1);
    assert.deepEqual(await nextMessage(event), {
      id: first.id,
      text: 'once',
      chat: { id: chatId },
      sender: { id: ids.ann },
    });

    // The retry published nothing: the next event is the next new message.
    const following = stream.next();
    const other = await send(users.ann, chatId, 'second');
    assert.equal(((await nextMessage(following)) as { id: string }).id, other.id);
    await stream.return?.();

    const bob = await runtime.db.prisma.chatMember.findUniqueOrThrow({
      where: { chatId_userId: { chatId: BigInt(chatId), userId: BigInt(ids.bob) } },
    });
    assert.equal(bob.unreadCount, 2);
  });

  it('acknowledges a send with its cursor (the embedded mode places it first), a retry too', async () => {
    const chatId = await createChat([users.ann, users.bob]);
    const ACK = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id cursor } }';
    const input = { chatId, text: 'placed', clientMessageId: 'cursor-1' };
    const sent = (await kit.ok<{ sendMessage: { id: string; cursor: string | null } }>(ACK, { input }, users.ann))
      .sendMessage;
    const page = await kit.ok<{ messages: { edges: { cursor: string; node: { id: string } }[] } }>(
      HISTORY,
      { chatId, first: 1 },
      users.ann,
    );
    assert.ok(sent.cursor);
    assert.deepEqual([page.messages.edges[0]?.cursor, page.messages.edges[0]?.node.id], [sent.cursor, sent.id]);
    const retried = await kit.ok<{ sendMessage: unknown }>(ACK, { input }, users.ann);
    assert.deepEqual(retried.sendMessage, sent);
  });

  it('refuses a clientMessageId reused for another chat', async () => {
    const chatA = await createChat([users.ann, users.bob]);
    const chatB = await createChat([users.ann, users.bob]);
    await send(users.ann, chatA, 'in A', 'shared-key');
    const result = await kit.run(
      SEND,
      { input: { chatId: chatB, text: 'in B', clientMessageId: 'shared-key' } },
      users.ann,
    );
    assert.equal(codeOf(result), 'BAD_USER_INPUT');
    assert.equal(result.errors?.[0]?.extensions.reason, 'CLIENT_MESSAGE_ID_REUSED');
    assert.equal(await storedCount(chatB), 0);
    // The key is per sender: someone else may use it.
    await send(users.bob, chatB, 'in B', 'shared-key');
  });

  it('stores one message for concurrent duplicate sends', async () => {
    const chatId = await createChat([users.ann, users.bob]);
    const stream = await subscribe(users.bob, chatId);
    const event = stream.next();
    await settle();
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        kit.run(SEND, { input: { chatId, text: 'race', clientMessageId: 'concurrent-1' } }, users.ann),
      ),
    );
    for (const result of results) assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const messageIds = new Set(results.map((result) => (result.data?.sendMessage as { id: string }).id));
    assert.equal(messageIds.size, 1);
    assert.equal(await storedCount(chatId), 1);
    const bob = await runtime.db.prisma.chatMember.findUniqueOrThrow({
      where: { chatId_userId: { chatId: BigInt(chatId), userId: BigInt(ids.bob) } },
    });
    assert.equal(bob.unreadCount, 1);

    assert.equal(((await nextMessage(event)) as { id: string }).id, [...messageIds][0]);
    const following = stream.next();
    const other = await send(users.ann, chatId, 'after the race');
    assert.equal(((await nextMessage(following)) as { id: string }).id, other.id);
    await stream.return?.();
  });

  it('the pipeline places a redelivered message once: one seq, one history row, one unread increment', async () => {
    const chatId = await createChat([users.ann, users.bob]);
    const pipeline = createMessagePipeline(runtime, new PrismaMessageStore(runtime.db.prisma));
    const message: PendingMessage = {
      id: runtime.ids.next().toString(),
      chatId,
      senderId: ids.ann,
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
      where: { chatId_userId: { chatId: BigInt(chatId), userId: BigInt(ids.bob) } },
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
    const chatId = await createChat([users.bob, users.eve]);
    const sent = await kit.run(SEND, { input: { chatId, text: 'let me in', clientMessageId: key() } }, users.ann);
    assert.equal(codeOf(sent), 'NOT_FOUND');
    assert.equal(sent.errors?.[0]?.message, 'Chat was not found.');
    assert.equal(await storedCount(chatId), 0);

    assert.equal(codeOf(await kit.run(HISTORY, { chatId }, users.ann)), 'NOT_FOUND');

    const stream = await kit.subscribe(ADDED, { chatId }, users.ann);
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.equal(codeOf(stream), 'NOT_FOUND');

    const unknown = await kit.subscribe(ADDED, { chatId: '999999999' }, users.ann);
    assert.ok(!(Symbol.asyncIterator in unknown));
    assert.equal(codeOf(unknown), 'NOT_FOUND');

    const malformed = await kit.subscribe(ADDED, { chatId: 'x' }, users.ann);
    assert.ok(!(Symbol.asyncIterator in malformed));
    assert.equal(codeOf(malformed), 'BAD_USER_INPUT');
  });

  it('refuses empty, blank and over-long texts and bad keys, storing nothing', async () => {
    const chatId = await createChat([users.ann, users.bob]);
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
      const result = await kit.run(SEND, { input: { chatId, text, clientMessageId } }, users.ann);
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
    assert.equal((await send(users.ann, chatId, 'a'.repeat(4000))).text.length, 4000);
    assert.equal((await send(users.ann, chatId, `\n  ${'b'.repeat(4000)}  \n`)).text, 'b'.repeat(4000));
    await send(users.ann, chatId, 'ok', `A-z.0_9:${'k'.repeat(56)}`);
  });

  it('keeps bidi controls balanced in sent and edited text, normalises it to NFC and refuses control characters', async () => {
    const chatId = await createChat([users.ann, users.bob]);
    const edit = 'mutation ($id: ID!, $text: String!) { editMessage(id: $id, text: $text) { text } }';
    // An unterminated override is closed at the end of its line; a closer that closes nothing is dropped.
    const sent = await send(users.ann, chatId, 'see invoice\u202Efdp.exe');
    assert.equal(sent.text, 'see invoice\u202Efdp.exe\u202C');
    assert.equal((await send(users.ann, chatId, '\u2067a\nb\u2069c\u202C')).text, '\u2067a\u2069\nbc');
    assert.equal(
      (await send(users.ann, chatId, '\u2067balanced\u2069 Zoe\u0301')).text,
      '\u2067balanced\u2069 Zo\u00E9',
    );
    const edited = await kit.ok<{ editMessage: { text: string } }>(
      edit,
      { id: sent.id, text: 'now \u202Bhidden' },
      users.ann,
    );
    assert.equal(edited.editMessage.text, 'now \u202Bhidden\u202C');
    const stored = await runtime.db.prisma.message.findUniqueOrThrow({ where: { id: BigInt(sent.id) } });
    assert.equal(stored.text, 'now \u202Bhidden\u202C');

    for (const text of ['escape \u001B[2J', 'back\u0008space', 'c1 \u009B']) {
      const refused = await kit.run(SEND, { input: { chatId, text, clientMessageId: key() } }, users.ann);
      assert.equal(refused.errors?.[0]?.extensions.reason, 'INVALID_TEXT', JSON.stringify(text));
      const refusedEdit = await kit.run(edit, { id: sent.id, text }, users.ann);
      assert.equal(refusedEdit.errors?.[0]?.extensions.reason, 'INVALID_TEXT', JSON.stringify(text));
    }
    assert.equal((await send(users.ann, chatId, 'tab\tand\r\nlines')).text, 'tab\tand\r\nlines');
  });

  it('refuses an `around` time the stores cannot hold, and pages around the earliest and latest they can', async () => {
    const chatId = await createChat([users.ann]);
    await send(users.ann, chatId, 'the only message');
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
      const result = await kit.run(around, { chatId, around: value }, users.ann);
      assert.equal(codeOf(result), 'BAD_USER_INPUT', `${value}: ${JSON.stringify(result.errors)}`);
    }
    await kit.ok(around, { chatId, around: '0001-01-01' }, users.ann);
    const latest = await kit.run(around, { chatId, around: '9999-12-31T23:59:59.999Z' }, users.ann);
    assert.deepEqual(plain(latest.data), { messages: { edges: [{ node: { text: 'the only message' } }] } });
  });

  it('messageAdded(chatId) delivers that chat’s messages to members and filters the others', async () => {
    const chatA = await createChat([users.ann, users.bob]);
    const chatB = await createChat([users.ann, users.bob]);
    const annA = await subscribe(users.ann, chatA);
    const bobA = await subscribe(users.bob, chatA);
    const annNext = annA.next();
    const bobNext = bobA.next();
    await settle();
    await send(users.bob, chatB, 'elsewhere');
    const inA = await send(users.bob, chatA, 'here');
    const expected = { id: inA.id, text: 'here', chat: { id: chatA }, sender: { id: ids.bob } };
    // Bob sees his own message too (his other devices).
    assert.deepEqual(await nextMessage(annNext), expected);
    assert.deepEqual(await nextMessage(bobNext), expected);
    await annA.return?.();
    await bobA.return?.();
  });

  it('messageAdded without chatId delivers every chat of the viewer, including chats joined later', async () => {
    const chatA = await createChat([users.ann, users.bob]);
    const chatB = await createChat([users.bob, users.eve]);
    const bobAll = await subscribe(users.bob);
    const annAll = await subscribe(users.ann);
    const bobFirst = bobAll.next();
    const annFirst = annAll.next();
    await settle();

    const inB = await send(users.eve, chatB, 'from eve');
    assert.deepEqual(await nextMessage(bobFirst), {
      id: inB.id,
      text: 'from eve',
      chat: { id: chatB },
      sender: { id: ids.eve },
    });
    const inA = await send(users.ann, chatA, 'from ann');
    assert.equal(((await nextMessage(bobAll.next())) as { id: string }).id, inA.id);
    // Ann is not in chat B: her first event is her own message in chat A.
    assert.equal(((await nextMessage(annFirst)) as { id: string }).id, inA.id);

    const later = await createChat([users.eve]);
    await addMember(later, users.bob);
    const inLater = await send(users.eve, later, 'welcome');
    assert.deepEqual(await nextMessage(bobAll.next()), {
      id: inLater.id,
      text: 'welcome',
      chat: { id: later },
      sender: { id: ids.eve },
    });
    await bobAll.return?.();
    await annAll.return?.();
  });

  it('returning the subscription iterator completes it and removes its listener', async () => {
    const chatId = await createChat([users.ann, users.bob]);
    const baseline = listeners.size;

    const filtered = await subscribe(users.ann, chatId);
    const pending = filtered.next();
    await settle();
    assert.equal(listeners.size, baseline + 1);
    await filtered.return?.();
    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.deepEqual(await filtered.next(), { done: true, value: undefined });
    assert.equal(listeners.size, baseline);

    const unfiltered = await subscribe(users.ann);
    const waiting = unfiltered.next();
    await settle();
    assert.equal(listeners.size, baseline + 1);
    await unfiltered.return?.();
    assert.deepEqual(await waiting, { done: true, value: undefined });
    assert.equal(listeners.size, baseline);

    // Nothing is delivered to, or held for, the closed subscriptions.
    await send(users.bob, chatId, 'anyone?');
    assert.equal(listeners.size, baseline);
  });

  it('resolves Message entities for members, null when unknown or in a chat the viewer is not in', async () => {
    const mine = await createChat([users.ann, users.bob]);
    const theirs = await createChat([users.bob, users.eve]);
    const a = await send(users.bob, mine, 'first');
    const b = await send(users.ann, mine, 'second');
    const c = await send(users.eve, theirs, 'secret');

    const read = await kit.ok(
      ENTITIES,
      {
        r: [
          { __typename: 'Message', id: b.id },
          { __typename: 'Message', id: '999999999' },
          { __typename: 'Message', id: a.id },
          { __typename: 'Message', id: 'nonsense' },
        ],
      },
      users.ann,
    );
    assert.deepEqual(read, {
      _entities: [
        { id: b.id, text: 'second', chat: { id: mine } },
        null,
        { id: a.id, text: 'first', chat: { id: mine } },
        null,
      ],
    });

    const refused = await kit.run(
      ENTITIES,
      {
        r: [
          { __typename: 'Message', id: a.id },
          { __typename: 'Message', id: c.id },
        ],
      },
      users.ann,
    );
    assert.deepEqual(plain(refused.data), { _entities: [{ id: a.id, text: 'first', chat: { id: mine } }, null] });
    assert.equal(refused.errors, undefined, 'as for an unknown ID');
  });
});
