/** The message consumer's supervision and the consumer-group janitor, against a real Kafka broker. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deleteEmptyGroups, KafkaMessageLog, startMessageConsumer, type PendingMessage } from '@chat/subgraph-messages';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { dropMessageLog, kafkaBrokers } from '../kit/topology.ts';

describe('deleteEmptyGroups', () => {
  it('deletes the empty groups under the prefix, and only those', async () => {
    const prefix = `jan${Date.now().toString(36)}`;
    const other = `${prefix}x`;
    const kafka = new Kafka({ brokers: kafkaBrokers().split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topic = `${prefix}.t`;
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    /** Joins a group and, unless `stay`, leaves it: a group with no member is Empty. */
    const join = async (groupId: string, stay = false) => {
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async () => {} });
      await joined;
      if (!stay) await consumer.disconnect();
      return consumer;
    };
    const active = await join(`${prefix}.message-pipeline`, true);
    const stillRunning = await join(`${prefix}.busy`, true);
    try {
      await join(`${prefix}.abandoned`);
      await join(`${other}.abandoned`);
      const settings = {
        brokers: kafkaBrokers().split(','),
        topicPrefix: prefix,
        partitions: 1,
        replicationFactor: 1,
        clientId: 'janitor-test',
      };
      const deleted = await deleteEmptyGroups(settings, [`${prefix}.message-pipeline`]);
      assert.deepEqual(deleted, [`${prefix}.abandoned`]);
      const left = (await admin.listGroups()).groups.map((group) => group.groupId);
      assert.ok(
        left.includes(`${prefix}.message-pipeline`) &&
          left.includes(`${prefix}.busy`) &&
          left.includes(`${other}.abandoned`),
      );
      assert.ok(!left.includes(`${prefix}.abandoned`));
    } finally {
      await Promise.all([active.disconnect(), stillRunning.disconnect()]);
      await admin
        .deleteGroups([`${prefix}.message-pipeline`, `${prefix}.busy`, `${other}.abandoned`])
        .catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    }
  });
});

describe('startMessageConsumer', () => {
  it('rebuilds a consumer that crashed with an error kafkajs will not restart from, and the message is processed', async () => {
    const prefix = `sup${Date.now().toString(36)}`;
    const settings = {
      brokers: kafkaBrokers().split(','),
      topicPrefix: prefix,
      partitions: 1,
      replicationFactor: 1,
      clientId: 'supervision-test',
    };
    const processed: string[] = [];
    let failures = 0;
    let delivered!: () => void;
    const done = new Promise<void>((resolve) => (delivered = resolve));
    const consumer = await startMessageConsumer(settings, {
      process: async (message: PendingMessage) => {
        if (failures === 0) {
          failures += 1;
          // What kafkajs does not restart from (an UNKNOWN_MEMBER_ID after a broker restart is one).
          throw new kafkajs.KafkaJSNonRetriableError('simulated non-retriable failure');
        }
        processed.push(message.id);
        delivered();
        return null;
      },
    });
    const log = new KafkaMessageLog(settings);
    try {
      const message = {
        id: '42',
        chatId: '7',
        senderId: '1',
        text: 'hi',
        clientMessageId: 'k',
        createdAt: new Date().toISOString(),
      };
      await log.append(message);
      const timeout = new Promise((_, reject) =>
        setTimeout(
          () => reject(new Error('the message was never processed: the consumer stayed down')),
          45_000,
        ).unref(),
      );
      await Promise.race([done, timeout]);
      assert.equal(failures, 1);
      assert.deepEqual(processed, ['42']);
    } finally {
      await log.close();
      await consumer.stop();
      await dropMessageLog(prefix);
    }
  });
});
