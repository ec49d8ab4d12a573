/**
 * The foundation's end-to-end suite, run against several topologies: a
 * newcomer's flow (register, open a chat, subscribe, send, read history) and
 * the refusals, all through the gateway over real HTTP and WebSocket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gql, gqlOk, Subscription, wsClient } from '../kit/client.ts';
import { EVENT_WAIT_MS, warmUp } from '../kit/readiness.ts';
import { connectAll, directChat, registerUser, sendText, type TestUser } from '../kit/seed.ts';

export interface Topology {
  /** Where clients send mutations. */
  sendUrl: string;
  /** Where clients subscribe: another gateway process in the distributed topologies. */
  subscribeUrl: string;
  stop(): Promise<void>;
}

const MESSAGE_ADDED = `subscription ($chatId: ID) {
  messageAdded(chatId: $chatId) {
    id text clientMessageId createdAt
    sender { id username displayName presence { status lastSeenAt } }
    chat { id kind title unreadCount members { role user { id displayName } } }
  }
}`;

/**
 * Sends warm-up messages until the subscription delivers one: proof that it
 * is live end to end. @returns how many warm-up messages were sent.
 */
async function untilLive(subscription: Subscription, send: (n: number) => Promise<unknown>): Promise<number> {
  return warmUp(send, (ms) => subscription.waitFor(1, ms), { stop: () => subscription.error !== undefined });
}

/**
 * Polls until `done` accepts the result of `read`. In the distributed mode a
 * sent message is acknowledged once the log has it, and reaches history a
 * moment later; tests wait for that instead of sleeping.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = EVENT_WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${ms} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const hasNoStack = (errors: unknown) => {
  const text = JSON.stringify(errors);
  assert.doesNotMatch(text, /\bat .+\.(ts|js):\d+/);
  assert.doesNotMatch(text, /stacktrace/i);
};

export function chatFlowSuite(name: string, start: () => Promise<Topology>): void {
  describe(name, () => {
    let topology: Topology;
    let ann: TestUser;
    let bob: TestUser;
    let eve: TestUser;
    let chatId: string;

    before(async () => {
      topology = await start();
      [ann, bob, eve] = await Promise.all([
        registerUser(topology.sendUrl, 'ann'),
        registerUser(topology.sendUrl, 'bob'),
        registerUser(topology.sendUrl, 'eve'),
      ]);
      chatId = await directChat(topology.sendUrl, ann, bob);
    });
    after(() => topology?.stop());

    it('delivers a sent message on a federated subscription, with fields from users, presence and chats', async () => {
      await gqlOk(topology.sendUrl, 'mutation { setPresence(status: BUSY) { id } }', {}, ann.token);
      const client = wsClient(topology.subscribeUrl, bob.token);
      const subscription = new Subscription(client, MESSAGE_ADDED, { chatId });
      try {
        const warmUps = await untilLive(subscription, (n) => sendText(topology.sendUrl, ann, chatId, `warm-up ${n}`));
        const sent = await sendText(topology.sendUrl, ann, chatId, 'Hello, Bob!', 'hello-1');
        const event = await subscription.waitForMatch((e: any) => e.data?.messageAdded.clientMessageId === 'hello-1');
        assert.equal(event.errors, undefined);
        const message = event.data!.messageAdded as any;
        assert.equal(message.id, sent.id);
        assert.equal(message.text, 'Hello, Bob!');
        assert.equal(message.clientMessageId, 'hello-1');
        assert.match(message.createdAt, /^\d{4}-\d\d-\d\dT/);
        assert.deepEqual(
          { id: message.sender.id, username: message.sender.username, displayName: message.sender.displayName },
          { id: ann.id, username: ann.username, displayName: ann.displayName },
        );
        assert.equal(message.sender.presence.status, 'BUSY');
        assert.ok(message.sender.presence.lastSeenAt);
        assert.equal(message.chat.id, chatId);
        assert.equal(message.chat.kind, 'DIRECT');
        assert.equal(message.chat.title, null);
        assert.equal(message.chat.unreadCount, warmUps + 1, 'unread count is the subscriber’s');
        assert.deepEqual(message.chat.members.map((member: any) => member.user.id).sort(), [ann.id, bob.id].sort());
        assert.ok(message.chat.members.every((member: any) => member.user.displayName));

        // Entities are fetched per event: a presence change shows on the next one.
        await gqlOk(topology.sendUrl, 'mutation { setPresence(status: AWAY) { id } }', {}, ann.token);
        await sendText(topology.sendUrl, ann, chatId, 'Still there?');
        const next = (await subscription.waitForMatch((e: any) => e.data?.messageAdded.text === 'Still there?')).data!
          .messageAdded as any;
        assert.equal(next.text, 'Still there?');
        assert.equal(next.sender.presence.status, 'AWAY');
      } finally {
        subscription.stop();
        await client.dispose();
      }
    });

    it('delivers to a subscription without chatId (every chat of the viewer), the sender’s own included', async () => {
      const client = wsClient(topology.subscribeUrl, ann.token);
      const subscription = new Subscription(client, 'subscription { messageAdded { text chat { id } sender { id } } }');
      try {
        await untilLive(subscription, (n) => sendText(topology.sendUrl, bob, chatId, `warm-up all ${n}`));
        await sendText(topology.sendUrl, ann, chatId, 'from me');
        const event = (await subscription.waitForMatch((e: any) => e.data?.messageAdded.text === 'from me')).data!
          .messageAdded as any;
        assert.deepEqual(event, { text: 'from me', chat: { id: chatId }, sender: { id: ann.id } });
      } finally {
        subscription.stop();
        await client.dispose();
      }
    });

    it('resumes a subscription after a cursor: replays what the client missed, then continues live', async () => {
      const query = `subscription ($chatId: ID, $after: String) { messageAdded(chatId: $chatId, after: $after) { text cursor } }`;
      const first = wsClient(topology.subscribeUrl, bob.token);
      const live = new Subscription(first, query, { chatId });
      try {
        await untilLive(live, (n) => sendText(topology.sendUrl, ann, chatId, `resume warm-up ${n}`));
      } finally {
        live.stop();
        await first.dispose();
      }
      const seen = live.events.map((e: any) => e.data.messageAdded.text);
      const cursor = (live.events.at(-1)!.data!.messageAdded as any).cursor;
      assert.ok(cursor);
      // Offline: two messages go by.
      await sendText(topology.sendUrl, ann, chatId, 'missed 1');
      await sendText(topology.sendUrl, ann, chatId, 'missed 2');

      const second = wsClient(topology.subscribeUrl, bob.token);
      const resumed = new Subscription(second, query, { chatId, after: cursor });
      try {
        await resumed.waitForMatch((e: any) => e.data?.messageAdded.text === 'missed 2');
        await sendText(topology.sendUrl, ann, chatId, 'live again');
        await resumed.waitForMatch((e: any) => e.data?.messageAdded.text === 'live again');
        const texts = resumed.events.map((e: any) => e.data.messageAdded.text);
        assert.deepEqual(texts.slice(texts.indexOf('missed 1')), ['missed 1', 'missed 2', 'live again']);
        assert.deepEqual(
          texts.filter((text: string) => seen.includes(text)),
          [],
          'nothing up to the cursor is replayed',
        );
      } finally {
        resumed.stop();
        await second.dispose();
      }
    });

    it('returns history newest first, with pagination', async () => {
      const texts = ['one', 'two', 'three'];
      for (const text of texts) await sendText(topology.sendUrl, bob, chatId, `history ${text}`);
      const query = `query ($chatId: ID!, $before: String) {
        messages(chatId: $chatId, first: 2, before: $before) {
          edges { cursor node { text sender { displayName } } } pageInfo { hasNextPage endCursor }
        }
      }`;
      const first = await eventually(
        () => gqlOk<any>(topology.subscribeUrl, query, { chatId }, ann.token),
        (page) => page.messages.edges[0]?.node.text === 'history three',
      );
      assert.deepEqual(
        first.messages.edges.map((edge: any) => edge.node.text),
        ['history three', 'history two'],
      );
      assert.equal(first.messages.edges[0].node.sender.displayName, bob.displayName);
      assert.equal(first.messages.pageInfo.hasNextPage, true);
      const second = await gqlOk<any>(
        topology.subscribeUrl,
        query,
        { chatId, before: first.messages.pageInfo.endCursor },
        ann.token,
      );
      assert.equal(second.messages.edges[0].node.text, 'history one');
    });

    it('stores one message for the same clientMessageId sent twice', async () => {
      const firstSend = await sendText(topology.sendUrl, ann, chatId, 'exactly once', 'idem-1');
      const retry = await sendText(topology.subscribeUrl, ann, chatId, 'exactly once', 'idem-1');
      assert.equal(retry.id, firstSend.id);
      // A later message in the same chat is placed after both attempts: once it is in history, so is everything before it.
      await sendText(topology.sendUrl, ann, chatId, 'after the retry', 'idem-marker');
      const history = await eventually(
        () =>
          gqlOk<any>(
            topology.sendUrl,
            'query ($chatId: ID!) { messages(chatId: $chatId, first: 100) { edges { node { id clientMessageId } } } }',
            { chatId },
            bob.token,
          ),
        (page) => page.messages.edges[0]?.node.clientMessageId === 'idem-marker',
      );
      const copies = history.messages.edges.filter((edge: any) => edge.node.clientMessageId === 'idem-1');
      assert.equal(copies.length, 1);
    });

    it('refuses a non-member as for an unknown chat: send, history, chat and subscribe', async () => {
      const send = await gql(
        topology.sendUrl,
        'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
        { input: { chatId, text: 'let me in', clientMessageId: 'intruder-1' } },
        eve.token,
      );
      assert.equal(send.errors?.[0]?.extensions?.code, 'NOT_FOUND');
      const history = await gql(
        topology.sendUrl,
        'query ($chatId: ID!) { messages(chatId: $chatId) { edges { cursor } } }',
        { chatId },
        eve.token,
      );
      assert.equal(history.errors?.[0]?.extensions?.code, 'NOT_FOUND');
      const chat = await gql(topology.sendUrl, 'query ($id: ID!) { chat(id: $id) { id } }', { id: chatId }, eve.token);
      assert.equal(chat.errors?.[0]?.extensions?.code, 'NOT_FOUND');

      const client = wsClient(topology.subscribeUrl, eve.token);
      const subscription = new Subscription(client, MESSAGE_ADDED, { chatId });
      try {
        await subscription.done;
        const refusal = subscription.events[0]?.errors ?? (subscription.error as any);
        assert.equal(JSON.stringify(refusal).includes('NOT_FOUND'), true, JSON.stringify(refusal));
      } finally {
        subscription.stop();
        await client.dispose();
      }
      const unchanged = await gqlOk<any>(
        topology.sendUrl,
        'query ($chatId: ID!) { messages(chatId: $chatId, first: 100) { edges { node { clientMessageId } } } }',
        { chatId },
        ann.token,
      );
      assert.ok(!unchanged.messages.edges.some((edge: any) => edge.node.clientMessageId === 'intruder-1'));
    });

    it('refuses bad input with a code, without a stack trace, and changes nothing', async () => {
      const duplicate = await gql(
        topology.sendUrl,
        'mutation ($input: RegisterInput!) { register(input: $input) { accessToken } }',
        {
          input: { username: ann.username.toUpperCase(), password: 'another-password', displayName: 'Impostor' },
        },
      );
      assert.equal(duplicate.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      hasNoStack(duplicate.errors);

      const wrongPassword = await gql(
        topology.sendUrl,
        'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
        {
          input: { username: ann.username, password: 'not-the-password' },
        },
      );
      assert.equal(wrongPassword.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      const rightPassword = await gqlOk<any>(
        topology.sendUrl,
        'mutation ($input: LoginInput!) { login(input: $input) { user { id } } }',
        {
          input: { username: ann.username, password: ann.password },
        },
      );
      assert.equal(rightPassword.login.user.id, ann.id);

      const send = (text: string, key: string) =>
        gql(
          topology.sendUrl,
          'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
          { input: { chatId, text, clientMessageId: key } },
          ann.token,
        );
      for (const [text, key] of [
        ['', 'empty-1'],
        ['   ', 'blank-1'],
        ['x'.repeat(4_001), 'long-1'],
      ] as const) {
        const result = await send(text, key);
        assert.equal(result.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `text of ${text.length} characters`);
        hasNoStack(result.errors);
      }
      // A body beyond the gateway's limit is refused before it is read.
      const huge = await send('x'.repeat(10 * 1024 * 1024), 'huge-1');
      assert.equal(huge.errors?.[0]?.extensions?.code, 'PAYLOAD_TOO_LARGE');

      const malformed = await gql(topology.sendUrl, 'query { chat(id: "not-an-id") { id } }', {}, ann.token);
      assert.equal(malformed.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      const missing = await gql(topology.sendUrl, 'query { chat(id: "123456789") { id } }', {}, ann.token);
      assert.equal(missing.errors?.[0]?.extensions?.code, 'NOT_FOUND');
      const anonymous = await gql(topology.sendUrl, 'query { chats { edges { cursor } } }');
      assert.equal(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      const forged = await gql(topology.sendUrl, 'query { me { id } }', {}, 'forged.token.value');
      assert.equal(forged.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');

      const history = await gqlOk<any>(
        topology.sendUrl,
        'query ($chatId: ID!) { messages(chatId: $chatId, first: 100) { edges { node { clientMessageId } } } }',
        { chatId },
        ann.token,
      );
      const keys = new Set(history.messages.edges.map((edge: any) => edge.node.clientMessageId));
      for (const key of ['empty-1', 'blank-1', 'long-1', 'huge-1']) assert.equal(keys.has(key), false);
    });

    it('lists the viewer’s chats with the last message and unread count', async () => {
      const carol = await registerUser(topology.sendUrl, 'carol');
      await connectAll(topology.sendUrl, ann, [bob, carol]);
      const group = await gqlOk<any>(
        topology.sendUrl,
        'mutation ($input: CreateGroupChatInput!) { createGroupChat(input: $input) { id title kind members { role user { id } } } }',
        { input: { title: 'Weekend plans', memberIds: [bob.id, carol.id] } },
        ann.token,
      );
      assert.equal(group.createGroupChat.kind, 'GROUP');
      await sendText(topology.sendUrl, carol, group.createGroupChat.id, 'Hiking?');
      const again = await directChat(topology.sendUrl, bob, ann);
      assert.equal(again, chatId, 'the same pair gets the same direct chat');

      const chats = await eventually(
        () =>
          gqlOk<any>(
            topology.subscribeUrl,
            'query { chats(first: 10) { edges { node { id title unreadCount lastMessage { text sender { displayName } } } } } }',
            {},
            bob.token,
          ),
        (list) => list.chats.edges[0]?.node.lastMessage?.text === 'Hiking?',
      );
      const first = chats.chats.edges[0].node;
      assert.equal(first.id, group.createGroupChat.id, 'most recently active first');
      assert.equal(first.unreadCount, 1);
      assert.deepEqual(first.lastMessage, { text: 'Hiking?', sender: { displayName: carol.displayName } });
    });
  });
}
