/**
 * The distributed message path under load and failure, against real Kafka,
 * Cassandra, Postgres and Redis: two gateway instances, separate subgraph and
 * consumer processes (tests/src/kit/topology.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import pg from 'pg';
import { gqlOk, Subscription, wsClient } from '../kit/client.ts';
import { directChat, registerUser, sendText, type TestUser } from '../kit/seed.ts';
import { cassandraContactPoints, startDistributed, type Distributed } from '../kit/topology.ts';

const COUNT = 1_000;

describe('backplane: Kafka log, consumer processes, Cassandra history', () => {
  let topology: Distributed;
  let ann: TestUser;
  let bob: TestUser;
  let chatId: string;

  before(async () => {
    topology = await startDistributed({ backplane: { consumers: 2 } });
    [ann, bob] = await Promise.all([registerUser(topology.gatewayB.url, 'ann'), registerUser(topology.gatewayB.url, 'bob')]);
    chatId = await directChat(topology.gatewayB.url, ann, bob);
  });
  after(() => topology?.stop());

  it(`delivers ${COUNT} messages sent through B to a subscriber on A in order, exactly once, while the consumers are killed and replaced`, async () => {
    const client = wsClient(topology.gatewayA.url, bob.token);
    const subscription = new Subscription(client, 'subscription ($chatId: ID) { messageAdded(chatId: $chatId) { id text } }', { chatId });
    try {
      // Prove the subscription live with a first message.
      const acknowledged: string[] = [(await sendText(topology.gatewayB.url, ann, chatId, 'message 0', 'bp-0')).id];
      await subscription.waitFor(1, 30_000);

      for (let n = 1; n < COUNT; n++) {
        if (n === Math.floor(COUNT / 2)) {
          // SIGKILL every pipeline consumer mid-stream (whichever owns this chat's partition
          // dies), then start a fresh one: it resumes from the last committed offsets.
          for (const consumer of topology.consumers) consumer.child.kill('SIGKILL');
          await topology.addConsumer();
        }
        acknowledged.push((await sendText(topology.gatewayB.url, ann, chatId, `message ${n}`, `bp-${n}`)).id);
      }

      const events = await subscription.waitFor(COUNT, 120_000);
      const texts = events.map((event) => (event.data!.messageAdded as { text: string }).text);
      assert.deepEqual(texts, Array.from({ length: COUNT }, (_, n) => `message ${n}`), 'in order, no gap, no duplicate');
      assert.deepEqual(
        events.map((event) => (event.data!.messageAdded as { id: string }).id),
        acknowledged,
      );

      // Cassandra holds every acknowledged message exactly once, numbered 1..COUNT.
      const store = new cassandra.Client({ contactPoints: cassandraContactPoints().split(','), localDataCenter: 'datacenter1' });
      try {
        const rows = await store.execute(`SELECT seq, id FROM ${topology.env.CASSANDRA_KEYSPACE}.messages_by_id`, [], { fetchSize: 5_000 });
        const ids = rows.rows.map((row) => row.get('id').toString());
        assert.equal(ids.length, COUNT);
        assert.deepEqual(new Set(ids), new Set(acknowledged));
        const seqs = rows.rows.map((row) => Number(row.get('seq').toString())).sort((a, b) => a - b);
        assert.deepEqual(seqs, Array.from({ length: COUNT }, (_, n) => n + 1));
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
      assert.deepEqual(page.messages.edges.map((edge: any) => edge.node.text), [`message ${COUNT - 1}`, `message ${COUNT - 2}`, `message ${COUNT - 3}`]);
      assert.equal(page.chat.unreadCount, COUNT);
    } finally {
      subscription.stop();
      await client.dispose();
    }
  });
});
