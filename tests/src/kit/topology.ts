/**
 * Distributed topologies for end-to-end tests: two gateway processes sharing
 * every store. Gateway A mounts the subgraphs in-process; gateway B reaches
 * the four subgraphs as their own processes (HTTP for queries, graphql-ws for
 * subscriptions). With `backplane`, messages go through Kafka to dedicated
 * consumer processes and history lives in Cassandra; each topology gets its
 * own Postgres database, Kafka topic prefix and Cassandra keyspace.
 */
import cassandra from 'cassandra-driver';
import { Kafka, logLevel } from 'kafkajs';
import {
  createTestDatabase,
  freePort,
  launch,
  migratedDataDir,
  tempDataDir,
  testRedisUrl,
  TEST_SECRETS,
  type Process,
} from './launcher.ts';

export interface DistributedOptions {
  /** Kafka log, Cassandra history and this many dedicated consumer processes. */
  backplane?: { consumers: number };
  /** A Redis of the test's own (to restart it, say). @default the shared test Redis */
  redisUrl?: string;
  /**
   * A database of the test's own (on a password-protected server, say), left
   * in place by `stop`. @default a fresh database on the shared test Postgres, dropped by `stop`
   */
  databaseUrl?: string;
  /** A Kafka of the test's own. @default the shared test broker */
  brokers?: string;
  /** More environment for every process (shorter timeouts, say). */
  env?: Record<string, string>;
}

export interface Distributed {
  gatewayA: Process;
  gatewayB: Process;
  consumers: Process[];
  /** Where each subgraph process serves, by name (users, chats, messages, presence). */
  subgraphUrls: Record<string, string>;
  env: Record<string, string>;
  /** Starts one more consumer process (after one was killed, say). */
  addConsumer(): Promise<Process>;
  stop(): Promise<void>;
}

export const kafkaBrokers = () => process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092';
export const cassandraContactPoints = () => process.env.TEST_CASSANDRA_CONTACT_POINTS ?? '127.0.0.1:9042';

export async function startDistributed({
  backplane,
  redisUrl = testRedisUrl(),
  databaseUrl,
  brokers = kafkaBrokers(),
  env: extraEnv = {},
}: DistributedOptions = {}): Promise<Distributed> {
  const database = databaseUrl ? { url: databaseUrl, drop: async () => {} } : await createTestDatabase();
  const data = tempDataDir();
  const unique = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    ...TEST_SECRETS,
    DATA_DIR: data.path,
    ...(backplane
      ? {
          KAFKA_BROKERS: brokers,
          KAFKA_TOPIC_PREFIX: unique,
          KAFKA_PARTITIONS: '4',
          CASSANDRA_CONTACT_POINTS: cassandraContactPoints(),
          CASSANDRA_KEYSPACE: unique,
          MESSAGE_CONSUMER: 'off',
        }
      : {}),
    ...extraEnv,
  };
  const processes: Process[] = [];
  const consumers: Process[] = [];
  let consumerCount = 0;
  const addConsumer = async () => {
    consumerCount += 1;
    const consumer = await launch(`consumer-${consumerCount}`, 'subgraphs/messages/src/consumer-main.ts', env, 0);
    consumers.push(consumer);
    processes.push(consumer);
    return consumer;
  };
  const stop = async () => {
    await Promise.all(processes.map((process) => process.stop()));
    await database.drop();
    if (backplane) await dropBackplane(unique, brokers);
    data.remove();
  };
  try {
    const subgraphUrls: Record<string, string> = {};
    const byName: Record<string, string> = {};
    const subgraphs = await Promise.all(
      (['users', 'chats', 'messages', 'presence', 'media'] as const).map(async (name) =>
        launch(name, `subgraphs/${name}/src/main.ts`, env, await freePort()),
      ),
    );
    for (const subgraph of subgraphs) {
      processes.push(subgraph);
      subgraphUrls[`SUBGRAPH_${subgraph.name.toUpperCase()}_URL`] = subgraph.url;
      byName[subgraph.name] = subgraph.url;
    }
    const [gatewayA, gatewayB] = await Promise.all([
      launch('gateway-a', 'gateway/src/main.ts', env, await freePort()),
      launch('gateway-b', 'gateway/src/main.ts', { ...env, ...subgraphUrls }, await freePort()),
    ]);
    processes.push(gatewayA, gatewayB);
    for (let i = 0; i < (backplane?.consumers ?? 0); i++) await addConsumer();
    return { gatewayA, gatewayB, consumers, subgraphUrls: byName, env, addConsumer, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Deletes the message log's topic and the pipeline's consumer group under `prefix`, where they exist. */
export async function dropMessageLog(prefix: string, brokers = kafkaBrokers()): Promise<void> {
  const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.deleteGroups([`${prefix}.message-pipeline`]).catch(() => undefined);
    await admin.deleteTopics({ topics: [`${prefix}.messages`] }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** Removes what a backplane topology created: its topic, consumer group and keyspace. */
async function dropBackplane(prefix: string, brokers: string): Promise<void> {
  await dropMessageLog(prefix, brokers);
  const client = new cassandra.Client({
    contactPoints: cassandraContactPoints().split(','),
    localDataCenter: 'datacenter1',
  });
  try {
    await client.execute(`DROP KEYSPACE IF EXISTS ${prefix}`);
  } finally {
    await client.shutdown();
  }
}

export interface Embedded {
  url: string;
  /** The gateway's DATA_DIR (its database, signing key and development outbox). */
  dataDir: string;
  gateway: Process;
  /** Stops the gateway and removes its data. */
  stop(): Promise<void>;
}

/**
 * The embedded default: one gateway process with every subgraph in-process and its data in a directory of its own,
 * its database created and migrated beforehand (`migratedDataDir`).
 */
export async function startEmbedded(env: Record<string, string> = {}): Promise<Embedded> {
  const data = await migratedDataDir();
  const started = launch('gateway', 'gateway/src/main.ts', { DATA_DIR: data.path, ...env }, await freePort());
  const gateway = await started.catch((error: unknown) => {
    data.remove();
    throw error;
  });
  return {
    url: gateway.url,
    dataDir: data.path,
    gateway,
    stop: async () => {
      await gateway.stop();
      data.remove();
    },
  };
}
