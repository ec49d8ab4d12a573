/**
 * The messaging suite (messaging.ts) on the embedded default and on the
 * distributed backplane, plus the rules that need a gateway of their own
 * (a short edit window).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import pg from 'pg';
import { gql } from '../kit/client.ts';
import { addMigratedDatabase, freePort, launch, tempDataDir } from '../kit/launcher.ts';
import { directChat, registerUser, sendText } from '../kit/seed.ts';
import { cassandraContactPoints, startDistributed, startEmbedded } from '../kit/topology.ts';
import { messagingSuite, TEST_TYPING_TTL_MS } from './messaging.ts';

const env = { TYPING_TTL_MS: String(TEST_TYPING_TTL_MS) };

messagingSuite('messaging on the embedded default', async () => {
  const gateway = await startEmbedded({ ...env });
  return {
    sendUrl: gateway.url,
    subscribeUrl: gateway.url,
    stop: gateway.stop,
  };
});

messagingSuite(
  'messaging on the distributed backplane (Kafka, Cassandra, consumer processes): act via gateway B, follow via gateway A',
  async () => {
    const topology = await startDistributed({ backplane: { consumers: 1 }, env });
    return {
      sendUrl: topology.gatewayB.url,
      subscribeUrl: topology.gatewayA.url,
      stop: topology.stop,
      storedTexts: async (messageId) => {
        const db = new pg.Client({ connectionString: topology.env.DATABASE_URL });
        const history = new cassandra.Client({
          contactPoints: cassandraContactPoints().split(','),
          localDataCenter: 'datacenter1',
          keyspace: topology.env.CASSANDRA_KEYSPACE,
        });
        try {
          await db.connect();
          const keys = await db.query<{ text: string }>('SELECT text FROM message_keys WHERE message_id = $1', [
            messageId,
          ]);
          const byId = await history.execute(
            'SELECT body, chat_id, seq FROM messages_by_id WHERE id = ?',
            [messageId],
            { prepare: true },
          );
          const row = byId.first();
          const byChat = row
            ? await history.execute(
                'SELECT body FROM messages_by_chat WHERE chat_id = ? AND bucket = ? AND seq = ?',
                [row.get('chat_id'), row.get('seq').shiftRight(12), row.get('seq')],
                { prepare: true },
              )
            : undefined;
          return [
            ...keys.rows.map((r) => r.text),
            ...(row ? [row.get('body') as string] : []),
            ...(byChat?.rows.map((r) => r.get('body') as string) ?? []),
          ];
        } finally {
          await db.end();
          await history.shutdown();
        }
      },
    };
  },
);

describe('messaging rules with a gateway of their own', () => {
  const data = tempDataDir();
  after(() => data.remove());

  it('refuses an edit after the edit window, changing nothing', async () => {
    await addMigratedDatabase(data.path);
    const gateway = await launch(
      'gateway',
      'gateway/src/main.ts',
      { DATA_DIR: data.path, MESSAGE_EDIT_WINDOW_SECONDS: '1' },
      await freePort(),
    );
    try {
      const [ann, bob] = await Promise.all([registerUser(gateway.url, 'ann'), registerUser(gateway.url, 'bob')]);
      const chatId = await directChat(gateway.url, ann, bob);
      const sent = await sendText(gateway.url, ann, chatId, 'too late to fix');
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const late = await gql(
        gateway.url,
        'mutation ($id: ID!) { editMessage(id: $id, text: "fixed") { id } }',
        { id: sent.id },
        ann.token,
      );
      assert.equal(late.errors?.[0]?.extensions?.code, 'FORBIDDEN');
      assert.equal(late.errors?.[0]?.extensions?.reason, 'EDIT_WINDOW_PASSED');
      const history = await gql<any>(
        gateway.url,
        'query ($chatId: ID!) { messages(chatId: $chatId) { edges { node { text editedAt } } } }',
        { chatId },
        ann.token,
      );
      assert.deepEqual(history.data.messages.edges[0].node, { text: 'too late to fix', editedAt: null });
    } finally {
      await gateway.stop();
    }
  });
});
