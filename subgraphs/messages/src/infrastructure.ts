/**
 * Chooses the message storage and log from configuration: Postgres history
 * and the in-process log (embedded mode), or Cassandra history and the Kafka
 * log (distributed mode, `CASSANDRA_CONTACT_POINTS` and `KAFKA_BROKERS`).
 * Everything above these interfaces is the same in both modes.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { ConfigError, Topics, type Runtime, type RuntimeEnv } from '@chat/common';
import { MemberCache } from './pipeline/member-cache.ts';
import { InProcessMessageLog, type MessageLog } from './pipeline/message-log.ts';
import { MessagePipeline } from './pipeline/message-pipeline.ts';
import { KafkaMessageLog, startMessageConsumer, type KafkaSettings } from './pipeline/kafka-log.ts';
import { CassandraMessageStore } from './store/cassandra-message-store.ts';
import { MembershipStore } from './store/membership-store.ts';
import { PrismaMessageStore, type MessageStore } from './store/message-store.ts';
import { ChatSequencer } from './store/sequencer.ts';

const list = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);

export function kafkaSettings(runtime: Runtime): KafkaSettings | undefined {
  const { env } = runtime.config;
  if (!env.KAFKA_BROKERS) return undefined;
  return {
    brokers: list(env.KAFKA_BROKERS),
    topicPrefix: env.KAFKA_TOPIC_PREFIX,
    partitions: env.KAFKA_PARTITIONS,
    replicationFactor: env.KAFKA_REPLICATION_FACTOR,
    clientId: `chat-${hostname()}-${process.pid}`,
    sasl: env.KAFKA_SASL_MECHANISM
      ? {
          mechanism: env.KAFKA_SASL_MECHANISM,
          username: required(env, 'KAFKA_USERNAME', 'KAFKA_SASL_MECHANISM'),
          password: required(env, 'KAFKA_PASSWORD', 'KAFKA_SASL_MECHANISM'),
        }
      : undefined,
    tls: env.KAFKA_TLS === 'on' ? { ca: readCaFile('KAFKA_CA_FILE', env.KAFKA_CA_FILE) } : undefined,
  };
}

export function openMessageStore(runtime: Runtime): MessageStore {
  const { env } = runtime.config;
  if (!env.CASSANDRA_CONTACT_POINTS) return new PrismaMessageStore(runtime.db.prisma);
  return new CassandraMessageStore({
    contactPoints: list(env.CASSANDRA_CONTACT_POINTS),
    localDataCenter: env.CASSANDRA_LOCAL_DC,
    keyspace: env.CASSANDRA_KEYSPACE,
    replicationFactor: env.CASSANDRA_REPLICATION_FACTOR,
    credentials:
      env.CASSANDRA_USERNAME || env.CASSANDRA_PASSWORD
        ? {
            username: required(env, 'CASSANDRA_USERNAME', 'CASSANDRA_PASSWORD'),
            password: required(env, 'CASSANDRA_PASSWORD', 'CASSANDRA_USERNAME'),
          }
        : undefined,
    tls: env.CASSANDRA_TLS === 'on' ? { ca: readCaFile('CASSANDRA_CA_FILE', env.CASSANDRA_CA_FILE) } : undefined,
  });
}

/** A credential the store's other settings ask for (storeCredentialProblems reports its absence at boot). */
function required(env: RuntimeEnv, name: 'KAFKA_USERNAME' | 'KAFKA_PASSWORD' | 'CASSANDRA_USERNAME' | 'CASSANDRA_PASSWORD', askedBy: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`Invalid configuration:\n  ${name}: required with ${askedBy}`);
  return value;
}

/** The CA certificates (PEM) to trust, read once at start; unset: the system's. */
function readCaFile(name: 'KAFKA_CA_FILE' | 'CASSANDRA_CA_FILE', file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  ${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/**
 * The pipeline that places, stores and announces messages, with its member
 * cache, which drops a chat's entry when its membership changes (the
 * `membersChanged` topic). `close` stops listening.
 */
export function createMessagePipeline(runtime: Runtime, store: MessageStore): MessagePipeline & { close(): Promise<void> } {
  const membership = new MembershipStore(runtime.db.prisma);
  const members = new MemberCache({ load: (chatId) => membership.memberIds(chatId) });
  const listening = runtime.pubsub.subscribe(Topics.membersChanged, (event: { chatId?: string }) => members.invalidate(event.chatId), {});
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
export function openMessageInfrastructure(runtime: Runtime, { consume }: { consume: boolean }): MessageInfrastructure {
  const store = openMessageStore(runtime);
  const kafka = kafkaSettings(runtime);
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
