/** The consumer-group janitor against a real Kafka broker. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deleteEmptyGroups } from '@chat/subgraph-messages';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaBrokers } from '../kit/topology.ts';

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
      const settings = { brokers: kafkaBrokers().split(','), topicPrefix: prefix, partitions: 1, replicationFactor: 1, clientId: 'janitor-test' };
      const deleted = await deleteEmptyGroups(settings, [`${prefix}.message-pipeline`]);
      assert.deepEqual(deleted, [`${prefix}.abandoned`]);
      const left = (await admin.listGroups()).groups.map((group) => group.groupId);
      assert.ok(left.includes(`${prefix}.message-pipeline`) && left.includes(`${prefix}.busy`) && left.includes(`${other}.abandoned`));
      assert.ok(!left.includes(`${prefix}.abandoned`));
    } finally {
      await Promise.all([active.disconnect(), stillRunning.disconnect()]);
      await admin.deleteGroups([`${prefix}.message-pipeline`, `${prefix}.busy`, `${other}.abandoned`]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    }
  });
});
