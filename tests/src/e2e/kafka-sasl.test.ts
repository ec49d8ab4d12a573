/**
 * The message log on a Kafka broker that requires SASL/PLAIN (a broker of
 * the test's own): the product configured by KAFKA_SASL_MECHANISM,
 * KAFKA_USERNAME and KAFKA_PASSWORD sends and delivers through it, and the
 * broker refuses a wrong password and a client without credentials.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { KafkaMessageLog, startMessageConsumer } from '@chat/subgraph-messages';
import { Subscription, wsClient } from '../kit/client.ts';
import { startKafka } from '../kit/launcher.ts';
import { directChat, registerUser, sendText } from '../kit/seed.ts';
import { startEmbedded, type Embedded } from '../kit/topology.ts';

describe('Kafka with SASL/PLAIN', () => {
  const account = { username: 'chat', password: randomBytes(18).toString('base64url') };
  const prefix = `sasl${Date.now().toString(36)}`;
  let broker: Awaited<ReturnType<typeof startKafka>>;
  let gateway: Embedded;

  before(async () => {
    broker = await startKafka({ sasl: account });
    gateway = await startEmbedded({
      KAFKA_BROKERS: broker.brokers,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_USERNAME: account.username,
      KAFKA_PASSWORD: account.password,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '1',
    });
  });
  after(async () => {
    await gateway?.stop();
    await broker?.remove();
  });

  it('carries messages with the credentials: sendMessage is acknowledged by Kafka and delivered to a subscriber', async () => {
    const [ann, bob] = await Promise.all([registerUser(gateway.url, 'ann'), registerUser(gateway.url, 'bob')]);
    const chatId = await directChat(gateway.url, ann, bob);
    const client = wsClient(gateway.url, bob.token);
    const subscription = new Subscription(
      client,
      'subscription ($chatId: ID) { messageAdded(chatId: $chatId) { id text } }',
      { chatId },
    );
    try {
      let live = false;
      for (let n = 1; n <= 50 && !live; n++) {
        await sendText(gateway.url, ann, chatId, `warm-up ${n}`);
        live = await subscription.waitFor(1, 500).then(
          () => true,
          () => false,
        );
      }
      assert.ok(live, 'the subscription never became live');
      const sent = await sendText(gateway.url, ann, chatId, 'through SASL');
      const event = await subscription.waitForMatch((e: any) => e.data?.messageAdded.text === 'through SASL');
      assert.deepEqual(event.data!.messageAdded, { id: sent.id, text: 'through SASL' });
    } finally {
      subscription.stop();
      await client.dispose();
    }
    assert.ok(!gateway.gateway.output().includes(account.password), 'the password appears in the output');
  });

  it('is refused with a wrong password, and without credentials', async () => {
    const settings = {
      brokers: [broker.brokers],
      topicPrefix: `${prefix}x`,
      partitions: 1,
      replicationFactor: 1,
      clientId: 'sasl-test',
    };
    const wrong = new KafkaMessageLog({
      ...settings,
      sasl: { mechanism: 'plain', username: account.username, password: 'not-the-password' },
    });
    await assert.rejects(wrong.ready(), /SASL PLAIN authentication failed/);
    const message = {
      id: '1',
      chatId: '1',
      senderId: '1',
      text: 'hi',
      clientMessageId: 'k',
      createdAt: new Date().toISOString(),
    };
    await assert.rejects(wrong.append(message), (error: any) => error.extensions?.code === 'UNAVAILABLE');
    await wrong.close();
    await assert.rejects(
      startMessageConsumer(
        { ...settings, sasl: { mechanism: 'plain', username: 'nobody', password: account.password } },
        { process: async () => null },
      ),
      /SASL PLAIN authentication failed/,
    );
    // A client that does not authenticate is disconnected at its first request.
    const anonymous = new KafkaMessageLog(settings);
    await assert.rejects(anonymous.ready(), /Closed connection/);
    await anonymous.close();
  });
});
