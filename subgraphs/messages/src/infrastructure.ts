/**
 * Chooses the message storage and log from configuration: Postgres history
 * and the in-process log (embedded mode), or Cassandra history and the Kafka
 * log (distributed mode, `CASSANDRA_CONTACT_POINTS` and `KAFKA_BROKERS`).
 * Everything above these interfaces is the same in both modes.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError, Topics, type CassandraConfig, type KafkaConfig, type Runtime } from '@chat/common';
import type { MessageStoreConfig } from './env.ts';
import { MemberCache } from './pipeline/member-cache.ts';
import { InProcessMessageLog, type MessageLog } from './pipeline/message-log.ts';
import { MessagePipeline } from './pipeline/message-pipeline.ts';
import { KafkaMessageLog, startMessageConsumer, type KafkaSettings } from './pipeline/kafka-log.ts';
import { CassandraMessageStore } from './store/cassandra-message-store.ts';
import { MembershipStore } from './store/membership-store.ts';
import { PrismaMessageStore, type MessageStore } from './store/message-store.ts';
import { ChatSequencer } from './store/sequencer.ts';

/** The Kafka client's settings for the `kafka` config (its credentials checked by the model at boot). */
export function kafkaSettings(kafka: NonNullable<KafkaConfig>): KafkaSettings {
  return {
    brokers: kafka.brokers,
    topicPrefix: kafka.topicPrefix,
    partitions: kafka.partitions,
    replicationFactor: kafka.replicationFactor,
    clientId: `chat-${hostname()}-${process.pid}`,
    sasl: kafka.sasl ?? undefined,
    tls: kafka.tls ? { ca: readCaFile('KAFKA_CA_FILE', kafka.tls.caFile) } : undefined,
  };
}

/** Message history: Cassandra with a `cassandra` config, else Postgres. */
export function openMessageStore(runtime: Runtime, cassandra: CassandraConfig): MessageStore {
  if (!cassandra) return new PrismaMessageStore(runtime.db.prisma);
  return new CassandraMessageStore({
    ...cassandra,
    credentials: cassandra.credentials ?? undefined,
    tls: cassandra.tls ? { ca: readCaFile('CASSANDRA_CA_FILE', cassandra.tls.caFile) } : undefined,
  });
}

/** The CA certificates (PEM) to trust, read once at start; unset: the system's. */
function readCaFile(name: 'KAFKA_CA_FILE' | 'CASSANDRA_CA_FILE', file: string | null): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `Invalid configuration:\n  ${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
}

/**
 * The pipeline that places, stores and announces messages, with its member
 * cache, which drops a chat's entry when its membership changes (the
 * `membersChanged` topic). `close` stops listening.
 */
export function createMessagePipeline(
  runtime: Runtime,
  store: MessageStore,
): MessagePipeline & { close(): Promise<void> } {
  const membership = new MembershipStore(runtime.db.prisma);
  const members = new MemberCache({ load: (chatId) => membership.memberIds(chatId) });
  const listening = runtime.pubsub.subscribe(
    Topics.membersChanged,
    (event: { chatId?: string }) => members.invalidate(event.chatId),
    {},
  );
  const pipeline = new MessagePipeline(new ChatSequencer(runtime.db.prisma), store, members, runtime.pubsub);
  return Object.assign(pipeline, {
    close: async () => runtime.pubsub.unsubscribe(await listening),
  });
}

export interface MessageInfrastructure {
  store: MessageStore;
  messageLog: MessageLog;
  close(): Promise<void>;
}

/**
 * Opens history and log. With Kafka, this process also joins the pipeline's
 * consumer group unless `consume` is false (dedicated consumer processes).
 */
export function openMessageInfrastructure(
  runtime: Runtime,
  config: MessageStoreConfig,
  { consume }: { consume: boolean },
): MessageInfrastructure {
  const store = openMessageStore(runtime, config.cassandra);
  const kafka = config.kafka ? kafkaSettings(config.kafka) : undefined;
  if (!kafka) {
    const pipeline = createMessagePipeline(runtime, store);
    const messageLog = new InProcessMessageLog(pipeline);
    return {
      store,
      messageLog,
      close: async () => {
        await messageLog.close();
        await pipeline.close();
        await store.close();
      },
    };
  }
  const messageLog = new KafkaMessageLog(kafka);
  const pipeline = consume ? createMessagePipeline(runtime, store) : undefined;
  const consumer = pipeline ? startMessageConsumer(kafka, pipeline) : undefined;
  return {
    store,
    messageLog,
    close: async () => {
      await (await consumer?.catch(() => undefined))?.stop();
      await pipeline?.close();
      await messageLog.close();
      await store.close();
    },
  };
}
