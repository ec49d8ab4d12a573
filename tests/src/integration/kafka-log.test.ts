/** The Kafka message log's producer side, against a real broker. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KafkaMessageLog, startMessageConsumer, type PendingMessage } from '@chat/subgraph-messages';
import { dropMessageLog, kafkaBrokers } from '../kit/topology.ts';

describe('KafkaMessageLog', () => {
  it('batches appends made while a request is in flight, acknowledging each and keeping every chat in order', async () => {
    const prefix = `batch${Date.now().toString(36)}`;
    const settings = {
      brokers: kafkaBrokers().split(','),
      topicPrefix: prefix,
      partitions: 2,
      replicationFactor: 1,
      clientId: 'batch-test',
    };
    const count = 300;
    const chats = ['11', '12', '13', '14', '15'];
    const consumed = new Map<string, string[]>(chats.map((chat) => [chat, []]));
    let total = 0;
    let allConsumed!: () => void;
    const done = new Promise<void>((resolve) => (allConsumed = resolve));
    const consumer = await startMessageConsumer(settings, {
      process: async (message: PendingMessage) => {
        consumed.get(message.chatId)!.push(message.id);
        if (++total === count) allConsumed();
        return null;
      },
    });
    const log = new KafkaMessageLog(settings);
    try {
      await log.ready();
      const messages = Array.from({ length: count }, (_, i) => ({
        id: String(1000 + i),
        chatId: chats[i % chats.length]!,
        senderId: '1',
        text: `message ${i}`,
        clientMessageId: `k${i}`,
        createdAt: new Date().toISOString(),
      }));
      // All at once, as concurrent sendMessage calls would: each promise resolves once Kafka has its message.
      await Promise.all(messages.map((message) => log.append(message)));
      assert.ok(log.requests < count / 5, `${log.requests} produce requests for ${count} appends: not batched`);

      const timeout = new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`consumed ${total} of ${count}`)), 45_000).unref(),
      );
      await Promise.race([done, timeout]);
      for (const chat of chats) {
        assert.deepEqual(
          consumed.get(chat),
          messages.filter((message) => message.chatId === chat).map((message) => message.id),
          `chat ${chat} in append order`,
        );
      }
    } finally {
      await log.close();
      await consumer.stop();
      await dropMessageLog(prefix);
    }
  });
});
