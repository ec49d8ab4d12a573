/**
 * The distributed message path under load and failure, against real Kafka,
 * Cassandra, Postgres and Redis: two gateway instances, separate subgraph and
 * consumer processes (tests/src/kit/topology.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import pg from 'pg';
import { gql, gqlOk, Subscription, wsClient } from '../kit/client.ts';
import { startKafka, startRedis } from '../kit/launcher.ts';
import { warmUp } from '../kit/readiness.ts';
import { eventually } from './chat-flow.ts';
import { directChat, registerUser, sendText, type TestUser } from '../kit/seed.ts';
import { cassandraContactPoints, startDistributed, type Distributed } from '../kit/topology.ts';

const COUNT = 1_000;

/**
 * `bob`'s messages in every chat of his, proven live before a test sends: warm-ups from `carol` go through
 * a chat of their own, so the chat under test holds exactly what the test sends. A first message sent before
 * the gateway has subscribed at the subgraph is not replayed to a subscription without a cursor; on a
 * loaded machine, subscribing took longer than a message's whole path through Kafka, and the test waited on
 * a message that had gone by.
 */
async function subscribeLive(url: string, bob: TestUser, carol: TestUser) {
  const client = wsClient(url, bob.token);
  const subscription = new Subscription(client, 'subscription { messageAdded { id text } }');
  const textOf = (event: (typeof subscription.events)[number]) => (event.data!.messageAdded as { text: string }).text;
  const warmUpChat = await directChat(url, carol, bob);
  await warmUp(
    (n) => sendText(url, carol, warmUpChat, `warm-up ${n}`),
    (ms) => subscription.waitForMatch((event) => textOf(event).startsWith('warm-up'), ms),
  );
  /** The events of the chat under test (every one but the warm-ups). */
  const events = () => subscription.events.filter((event) => !textOf(event).startsWith('warm-up'));
  return {
    subscription,
    events,
    texts: () => events().map(textOf),
    stop: async () => {
      subscription.stop();
      await client.dispose();
    },
  };
}

describe('backplane: Kafka log, consumer processes, Cassandra history', () => {
  let topology: Distributed;
  let ann: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let chatId: string;

  before(async () => {
    topology = await startDistributed({ backplane: { consumers: 2 } });
    [ann, bob, carol] = await Promise.all([
      registerUser(topology.gatewayB.url, 'ann'),
      registerUser(topology.gatewayB.url, 'bob'),
      registerUser(topology.gatewayB.url, 'carol'),
    ]);
    chatId = await directChat(topology.gatewayB.url, ann, bob);
  });
  after(() => topology?.stop());

  it(`delivers ${COUNT} messages sent through B to a subscriber on A in order, exactly once, while the consumers are killed and replaced`, async () => {
    const live = await subscribeLive(topology.gatewayA.url, bob, carol);
    try {
      const acknowledged: string[] = [];
      for (let n = 0; n < COUNT; n++) {
        if (n === Math.floor(COUNT / 2)) {
          // SIGKILL every pipeline consumer mid-stream (whichever owns this chat's partition
          // dies), then start a fresh one: it resumes from the last committed offsets.
          for (const consumer of topology.consumers) consumer.child.kill('SIGKILL');
          await topology.addConsumer();
        }
        acknowledged.push((await sendText(topology.gatewayB.url, ann, chatId, `message ${n}`, `bp-${n}`)).id);
      }

      await live.subscription.waitForMatch(
        (event) => (event.data!.messageAdded as { text: string }).text === `message ${COUNT - 1}`,
        120_000,
      );
      const events = live.events();
      assert.deepEqual(
        live.texts(),
        Array.from({ length: COUNT }, (_, n) => `message ${n}`),
        'in order, no gap, no duplicate',
      );
      assert.deepEqual(
        events.map((event) => (event.data!.messageAdded as { id: string }).id),
        acknowledged,
      );

      // Cassandra holds every acknowledged message exactly once, numbered 1..COUNT.
      const store = new cassandra.Client({
        contactPoints: cassandraContactPoints().split(','),
        localDataCenter: 'datacenter1',
      });
      try {
        const all = await store.execute(
          `SELECT seq, id, chat_id FROM ${topology.env.CASSANDRA_KEYSPACE}.messages_by_id`,
          [],
          { fetchSize: 5_000 },
        );
        // The warm-ups are in a chat of their own.
        const rows = all.rows.filter((row) => row.get('chat_id').toString() === chatId);
        const ids = rows.map((row) => row.get('id').toString());
        assert.equal(ids.length, COUNT);
        assert.deepEqual(new Set(ids), new Set(acknowledged));
        const seqs = rows.map((row) => Number(row.get('seq').toString())).sort((a, b) => a - b);
        assert.deepEqual(
          seqs,
          Array.from({ length: COUNT }, (_, n) => n + 1),
        );
      } finally {
        await store.shutdown();
      }

      // Unread counts are exact: Bob has every message unread, Ann (the sender) none.
      const db = new pg.Client({ connectionString: topology.env.DATABASE_URL });
      await db.connect();
      try {
        const { rows } = await db.query<{ user_id: string; unread_count: number }>(
          'SELECT user_id::text, unread_count FROM chat_members WHERE chat_id = $1',
          [chatId],
        );
        const unread = Object.fromEntries(rows.map((row) => [row.user_id, row.unread_count]));
        assert.deepEqual(unread, { [ann.id]: 0, [bob.id]: COUNT });
      } finally {
        await db.end();
      }

      // And the API agrees: history from Cassandra, the unread count from Postgres.
      const page = await gqlOk<any>(
        topology.gatewayA.url,
        'query ($chatId: ID!) { messages(chatId: $chatId, first: 3) { edges { node { text } } } chat(id: $chatId) { unreadCount } }',
        { chatId },
        bob.token,
      );
      assert.deepEqual(
        page.messages.edges.map((edge: any) => edge.node.text),
        [`message ${COUNT - 1}`, `message ${COUNT - 2}`, `message ${COUNT - 3}`],
      );
      assert.equal(page.chat.unreadCount, COUNT);
    } finally {
      await live.stop();
    }
  });
});

describe('backplane: a Redis restart under a live subscription', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let topology: Distributed;
  let ann: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let chatId: string;

  before(async () => {
    redis = await startRedis();
    topology = await startDistributed({ backplane: { consumers: 1 }, redisUrl: redis.url });
    [ann, bob, carol] = await Promise.all([
      registerUser(topology.gatewayB.url, 'ann'),
      registerUser(topology.gatewayB.url, 'bob'),
      registerUser(topology.gatewayB.url, 'carol'),
    ]);
    chatId = await directChat(topology.gatewayB.url, ann, bob);
  });
  after(async () => {
    await topology?.stop();
    await redis?.stop();
  });

  it('keeps the subscriber: it reconnects, catches up, and ends with no gap and no duplicate', async () => {
    const live = await subscribeLive(topology.gatewayA.url, bob, carol);
    const { subscription, texts } = live;
    try {
      const sent: string[] = [];
      const send = async (text: string) => {
        await sendText(topology.gatewayB.url, ann, chatId, text, `redis-${text.replace(' ', '-')}`);
        sent.push(text);
      };
      await send('before 1');
      await subscription.waitForMatch((event) => (event.data!.messageAdded as { text: string }).text === 'before 1');
      await send('before 2');

      await redis.stop();
      // Kafka acknowledges while Redis is down; the pipeline announces once it is back.
      for (const n of [1, 2, 3]) await send(`during ${n}`);
      await redis.start();
      for (const n of [1, 2, 3]) await send(`after ${n}`);

      await eventually(
        async () => texts(),
        (received) => received.includes('after 3'),
        60_000,
      );
      assert.deepEqual(texts(), sent);
      assert.equal(subscription.error, undefined, 'the client’s socket was never dropped');
    } finally {
      await live.stop();
    }
  });
});

describe('backplane: a Kafka restart between sends', () => {
  let broker: Awaited<ReturnType<typeof startKafka>>;
  let topology: Distributed;
  let ann: TestUser;
  let bob: TestUser;
  let chatId: string;

  before(async () => {
    broker = await startKafka();
    topology = await startDistributed({ backplane: { consumers: 1 }, brokers: broker.brokers });
    [ann, bob] = await Promise.all([
      registerUser(topology.gatewayB.url, 'ann'),
      registerUser(topology.gatewayB.url, 'bob'),
    ]);
    chatId = await directChat(topology.gatewayB.url, ann, bob);
  });
  after(async () => {
    await broker?.up(); // the topology's clean-up talks to it
    await topology?.stop();
    await broker?.remove();
  });

  it('either acknowledges a message (never lost after) or refuses it with a retryable error', async () => {
    const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }';
    const acknowledged = new Map<string, string>();
    const refused: string[] = [];
    const attempt = async (key: string) => {
      const result = await gql<{ sendMessage: { id: string } }>(
        topology.gatewayB.url,
        SEND,
        { input: { chatId, text: key, clientMessageId: key } },
        ann.token,
      );
      if (result.data?.sendMessage) {
        acknowledged.set(key, result.data.sendMessage.id);
      } else {
        const error = result.errors?.[0];
        assert.equal(error?.extensions?.code, 'UNAVAILABLE', JSON.stringify(result.errors));
        assert.equal(error?.extensions?.retryable, true);
        assert.doesNotMatch(JSON.stringify(result.errors), /\bat .+\.(ts|js):\d+/);
        refused.push(key);
      }
    };
    for (let n = 1; n <= 3; n++) await attempt(`k-before-${n}`);
    await broker.down();
    for (let n = 1; n <= 2; n++) await attempt(`k-down-${n}`);
    await broker.up();
    for (let n = 1; n <= 3; n++) await attempt(`k-after-${n}`);
    assert.ok(refused.length >= 1, 'a send while Kafka is down is refused, not hung or lost');

    // The client retries refused sends with the same key, as the error says.
    for (const key of refused.splice(0)) {
      await eventually(
        async () => {
          await attempt(key);
          return acknowledged.has(key);
        },
        (done) => done,
        60_000,
      );
    }

    const history = await eventually(
      () =>
        gqlOk<any>(
          topology.gatewayA.url,
          'query ($chatId: ID!) { messages(chatId: $chatId, first: 100) { edges { node { id text } } } }',
          { chatId },
          bob.token,
        ),
      (page) => page.messages.edges.length >= acknowledged.size,
      60_000,
    );
    const stored = history.messages.edges.map((edge: any) => edge.node);
    assert.deepEqual(
      new Set(stored.map((node: any) => node.id)),
      new Set(acknowledged.values()),
      'every acknowledged message is stored',
    );
    assert.equal(stored.length, acknowledged.size, 'and stored once');
  });
});
