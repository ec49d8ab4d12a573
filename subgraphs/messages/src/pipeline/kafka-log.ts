/**
 * The distributed mode's message log: Kafka. `append` produces the message
 * to the messages topic, keyed (and so partitioned) by chat ID, with an
 * idempotent producer and acks from all in-sync replicas; it resolves only
 * when Kafka has acknowledged, and sendMessage acknowledges only then.
 *
 * The consumer group `<prefix>.message-pipeline` runs the MessagePipeline on
 * every message, one partition at a time in offset order, so each chat's
 * messages are processed in the order they were acknowledged. Offsets are
 * committed after a message is processed: a consumer that dies re-reads from
 * its last commit, and the pipeline's idempotence absorbs the repeats.
 */
import { apiError, log } from '@chat/common';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import type { PendingMessage } from '../store/message-store.ts';
import type { MessageLog } from './message-log.ts';
import type { MessagePipeline } from './message-pipeline.ts';

export interface KafkaSettings {
  brokers: string[];
  topicPrefix: string;
  partitions: number;
  replicationFactor: number;
  /** Identifies this process to the brokers. */
  clientId: string;
}

export const messagesTopic = (prefix: string) => `${prefix}.messages`;
export const pipelineGroup = (prefix: string) => `${prefix}.message-pipeline`;

function kafkaClient(settings: KafkaSettings): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: logLevel.ERROR,
    // kafkajs logs retried, transient conditions ("the coordinator is loading") as errors: warnings here.
    logCreator: () => ({ level, log: entry }) => {
      if (level <= logLevel.ERROR) log.warn('kafka', { message: entry.message, broker: entry.broker, error: entry.error });
    },
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    connectionTimeout: 3_000,
  });
}

/** Creates the messages topic when it does not exist yet. */
async function ensureTopic(kafka: Kafka, settings: KafkaSettings): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topic = messagesTopic(settings.topicPrefix);
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: settings.partitions, replicationFactor: settings.replicationFactor }],
      });
    }
  } finally {
    await admin.disconnect();
  }
}

export class KafkaMessageLog implements MessageLog {
  readonly #kafka: Kafka;
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #ready: Promise<void>;

  constructor(settings: KafkaSettings) {
    this.#kafka = kafkaClient(settings);
    this.#topic = messagesTopic(settings.topicPrefix);
    this.#producer = this.#kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // murmur2 on the key, as Java clients do: a chat maps to the same partition whoever produces.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.#ready = this.#connect(settings);
    this.#ready.catch(() => {}); // surfaced by the first append
  }

  async #connect(settings: KafkaSettings): Promise<void> {
    await ensureTopic(this.#kafka, settings);
    await this.#producer.connect();
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * @throws UNAVAILABLE (retryable) when Kafka did not acknowledge: the
   * message may or may not have been written, and the client retries with the
   * same clientMessageId, which makes the retry safe either way.
   */
  async append(message: PendingMessage): Promise<void> {
    try {
      await this.#ready;
      await this.#producer.send({
        topic: this.#topic,
        acks: -1,
        messages: [{ key: message.chatId, value: JSON.stringify(message) }],
      });
    } catch (error) {
      log.warn('the message log did not acknowledge', { messageId: message.id, error });
      throw apiError('UNAVAILABLE', 'The message could not be sent right now; retry with the same clientMessageId.', { retryable: true });
    }
  }

  async close(): Promise<void> {
    await this.#ready.catch(() => {});
    await this.#producer.disconnect();
  }
}

/**
 * Deletes the consumer groups under this deployment's prefix that have no
 * member left, except `keep`. The system itself creates no group per
 * instance (live fan-out is Redis), but a group whose consumers are gone for
 * good (a renamed group, an abandoned deployment sharing the prefix) would
 * otherwise stay in the cluster forever.
 * @returns the deleted group IDs.
 */
export async function deleteEmptyGroups(settings: KafkaSettings, keep: readonly string[]): Promise<string[]> {
  const admin = kafkaClient(settings).admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    const candidates = groups.map((group) => group.groupId).filter((id) => id.startsWith(`${settings.topicPrefix}.`) && !keep.includes(id));
    if (candidates.length === 0) return [];
    const described = await admin.describeGroups(candidates);
    const empty = described.groups.filter((group) => group.state === 'Empty' || group.state === 'Dead').map((group) => group.groupId);
    if (empty.length > 0) await admin.deleteGroups(empty);
    return empty;
  } finally {
    await admin.disconnect();
  }
}

const JANITOR_INTERVAL_MS = 5 * 60_000;

/** Runs the pipeline as a member of the consumer group until `stop()`. */
export async function startMessageConsumer(settings: KafkaSettings, pipeline: MessagePipeline): Promise<{ stop(): Promise<void> }> {
  const kafka = kafkaClient(settings);
  await ensureTopic(kafka, settings);
  const consumer: Consumer = kafka.consumer({
    groupId: pipelineGroup(settings.topicPrefix),
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    rebalanceTimeout: 10_000,
    // Bounds how long disconnect() waits for an idle fetch; data is returned as soon as it arrives.
    maxWaitTimeInMs: 1_000,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  await consumer.subscribe({ topic: messagesTopic(settings.topicPrefix), fromBeginning: true });
  await consumer.run({
    autoCommit: true,
    partitionsConsumedConcurrently: Math.min(settings.partitions, 4),
    eachMessage: async ({ message, partition }) => {
      if (!message.value) return;
      const pending = JSON.parse(message.value.toString('utf8')) as PendingMessage;
      try {
        await pipeline.process(pending);
      } catch (error) {
        log.error('message pipeline failed; the message will be processed again', { partition, offset: message.offset, error });
        throw error;
      }
    },
  });
  log.info('message consumer running', { group: pipelineGroup(settings.topicPrefix) });
  const janitor = setInterval(() => {
    deleteEmptyGroups(settings, [pipelineGroup(settings.topicPrefix)]).then(
      (deleted) => deleted.length > 0 && log.info('deleted empty consumer groups', { deleted }),
      (error: unknown) => log.warn('could not clean up empty consumer groups', { error }),
    );
  }, JANITOR_INTERVAL_MS);
  janitor.unref();
  return {
    stop: async () => {
      clearInterval(janitor);
      await consumer.disconnect();
    },
  };
}
