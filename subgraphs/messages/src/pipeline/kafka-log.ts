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
import { Kafka, logLevel, Partitioners, type Consumer, type Producer, type SASLOptions } from 'kafkajs';
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
  /** SASL authentication (KAFKA_SASL_MECHANISM, KAFKA_USERNAME, KAFKA_PASSWORD). @default none */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /**
   * TLS to the brokers (KAFKA_TLS), verifying their certificates against `ca`
   * (PEM, from KAFKA_CA_FILE) or, without it, the system's CAs. @default plaintext
   */
  tls?: { ca?: string };
}

export const messagesTopic = (prefix: string) => `${prefix}.messages`;

/** At most this many messages, and about this many bytes, per produce request (brokers refuse batches over 1 MiB by default). */
const MAX_BATCH_MESSAGES = 500;
const MAX_BATCH_BYTES = 512 * 1024;

interface QueuedAppend {
  key: string;
  value: string;
  settle: (error?: Error) => void;
}
export const pipelineGroup = (prefix: string) => `${prefix}.message-pipeline`;

function kafkaClient(settings: KafkaSettings): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    // Sound: kafkajs types the same three mechanisms as one object type each.
    sasl: settings.sasl as SASLOptions | undefined,
    ssl: settings.tls ? { rejectUnauthorized: true, ...(settings.tls.ca ? { ca: [settings.tls.ca] } : {}) } : undefined,
    logLevel: logLevel.ERROR,
    // kafkajs logs retried, transient conditions ("the coordinator is loading") as errors: warnings here.
    logCreator:
      () =>
      ({ level, log: entry }) => {
        if (level <= logLevel.ERROR)
          log.warn('kafka', { message: entry.message, broker: entry.broker, error: entry.error });
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
  readonly #queue: QueuedAppend[] = [];
  /** The loop sending the queue, while it runs. */
  #sending: Promise<void> | undefined;
  /** Produce requests made, for tests and benchmarks. */
  requests = 0;

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
   * @returns nothing: a consumer places the message after this resolves
   */
  async append(message: PendingMessage): Promise<undefined> {
    try {
      await this.#ready;
      await new Promise<void>((resolve, reject) => {
        this.#queue.push({
          key: message.chatId,
          value: JSON.stringify(message),
          settle: (error) => (error ? reject(error) : resolve()),
        });
        this.#sending ??= this.#sendQueued();
      });
    } catch (error) {
      log.warn('the message log did not acknowledge', { messageId: message.id, error });
      throw apiError('UNAVAILABLE', 'The message could not be sent right now; retry with the same clientMessageId.', {
        retryable: true,
      });
    }
  }

  /**
   * Sends the queue, one request at a time, each holding what queued up
   * meanwhile; never throws. Clears `#sending` in the same step that finds
   * the queue empty, so an append never waits on a loop that has ended.
   */
  async #sendQueued(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        let count = 0;
        let bytes = 0;
        while (
          count < this.#queue.length &&
          count < MAX_BATCH_MESSAGES &&
          (count === 0 || bytes + this.#queue[count]!.value.length <= MAX_BATCH_BYTES)
        ) {
          bytes += this.#queue[count]!.value.length;
          count++;
        }
        const batch = this.#queue.splice(0, count);
        try {
          this.requests++;
          await this.#producer.send({
            topic: this.#topic,
            acks: -1,
            messages: batch.map(({ key, value }) => ({ key, value })),
          });
          for (const append of batch) append.settle();
        } catch (error) {
          for (const append of batch)
            append.settle(error instanceof Error ? error : new Error('the produce request failed', { cause: error }));
        }
      }
    } finally {
      this.#sending = undefined;
    }
  }

  async close(): Promise<void> {
    await this.#ready.catch(() => {});
    await this.#sending; // appends already queued are sent (or refused) first
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
    const candidates = groups
      .map((group) => group.groupId)
      .filter((id) => id.startsWith(`${settings.topicPrefix}.`) && !keep.includes(id));
    if (candidates.length === 0) return [];
    const described = await admin.describeGroups(candidates);
    const empty = described.groups
      .filter((group) => group.state === 'Empty' || group.state === 'Dead')
      .map((group) => group.groupId);
    if (empty.length > 0) await admin.deleteGroups(empty);
    return empty;
  } finally {
    await admin.disconnect();
  }
}

const JANITOR_INTERVAL_MS = 5 * 60_000;

/** How long after a crash kafkajs would not restart from the consumer is rebuilt. */
const RELAUNCH_DELAY_MS = 1_000;

/**
 * Runs the pipeline as a member of the consumer group until `stop()`.
 *
 * kafkajs restarts its consumer after retriable errors only; some errors a
 * broker restart can produce are not retriable, and the consumer would then
 * stay down for good, leaving acknowledged messages unplaced. So a crash
 * kafkajs does not restart from rebuilds the consumer here, after a pause.
 */
export async function startMessageConsumer(
  settings: KafkaSettings,
  pipeline: Pick<MessagePipeline, 'process'>,
): Promise<{ stop(): Promise<void> }> {
  const kafka = kafkaClient(settings);
  await ensureTopic(kafka, settings);
  let stopped = false;
  let current: Consumer | undefined;
  let relaunch: NodeJS.Timeout | undefined;

  const launch = async (): Promise<void> => {
    const consumer: Consumer = kafka.consumer({
      groupId: pipelineGroup(settings.topicPrefix),
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 10_000,
      // Bounds how long disconnect() waits for an idle fetch; data is returned as soon as it arrives.
      maxWaitTimeInMs: 1_000,
      allowAutoTopicCreation: false,
    });
    current = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || stopped) return;
      log.error('message consumer crashed and kafkajs will not restart it; rebuilding it', {
        error: String(payload.error),
      });
      relaunch = setTimeout(() => {
        consumer
          .disconnect()
          .catch(() => undefined)
          .then(() => (stopped ? undefined : launch()))
          .catch((error: unknown) =>
            log.error('could not rebuild the message consumer; retrying', { error: String(error) }),
          );
      }, RELAUNCH_DELAY_MS);
    });
    try {
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
            log.error('message pipeline failed; the message will be processed again', {
              partition,
              offset: message.offset,
              error,
            });
            throw error;
          }
        },
      });
    } catch (error) {
      if (stopped || current !== consumer) return;
      // Rebuilding (Kafka still away): try again shortly, as a crash would.
      log.warn('message consumer could not start; retrying', { error: String(error) });
      await consumer.disconnect().catch(() => undefined);
      relaunch = setTimeout(() => void launch().catch(() => undefined), RELAUNCH_DELAY_MS);
      return;
    }
    log.info('message consumer running', { group: pipelineGroup(settings.topicPrefix) });
  };

  await launch();
  const janitor = setInterval(() => {
    deleteEmptyGroups(settings, [pipelineGroup(settings.topicPrefix)]).then(
      (deleted) => deleted.length > 0 && log.info('deleted empty consumer groups', { deleted }),
      (error: unknown) => log.warn('could not clean up empty consumer groups', { error }),
    );
  }, JANITOR_INTERVAL_MS);
  janitor.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(janitor);
      clearTimeout(relaunch);
      await current?.disconnect();
    },
  };
}
