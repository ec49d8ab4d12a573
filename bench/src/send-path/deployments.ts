/**
 * The two deployments the send-path scenario sends to, started once per
 * scenario run, each on stores of its own made for the run and removed
 * afterwards (also on Ctrl-C):
 *
 * - `kafka+cassandra` (the distributed mode): a gateway process
 *   (`gateway/src/main.ts`, every subgraph mounted in it) with
 *   `DATABASE_URL` (a fresh database), `REDIS_URL`, `KAFKA_BROKERS` (a
 *   topic prefix of the run's own: topic `<prefix>.messages`, default 8
 *   partitions) and `CASSANDRA_CONTACT_POINTS` (a keyspace of the run's own),
 *   `MESSAGE_CONSUMER=off`; and one dedicated consumer process
 *   (`subgraphs/messages/src/consumer-main.ts`, `npm run consumer`) running
 *   the message pipeline (place in Postgres, store in Cassandra, announce
 *   through Redis), as README's "message path" draws it.
 * - `postgres` (the baseline): the same gateway with `DATABASE_URL` (a fresh
 *   database) and `REDIS_URL` only: the in-process log runs the pipeline
 *   inside `sendMessage`, history in Postgres.
 *
 * Both: NODE_ENV=development, secrets generated for the run (the tokens of
 * the seeded users are signed with them), a DATA_DIR of their own, rate
 * limits at their production defaults counted in Redis under a
 * `LIMITS_KEY_PREFIX` of their own, except WS_MAX_CONNECTIONS_PER_IP (every
 * subscriber connects from 127.0.0.1). Nothing else of a deployment is taken
 * from the caller's environment.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueTag } from '@chat/common/testing';
import { waitUntilReady } from '@chat/tests/kit/readiness';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { INSPECT } from '../fanout/processes.ts';
import { seedPopulation, type Population } from '../fanout/seed.ts';
import { cassandraClient, dropKeyspace, keyspaceReady } from '../history/cassandra.ts';
import { cleanUpOnSignal, LOCAL_ONLY_ENV, startNode, type NodeProcess } from '../processes.ts';
import { senderCount, type SendPathSettings } from './settings.ts';

export type VariantId = 'kafka+cassandra' | 'postgres';
export const VARIANT_IDS: readonly VariantId[] = ['kafka+cassandra', 'postgres'];

/** Two members per chat: every user sends, the second member of each chat also watches it. */
export const CHAT_SIZE = 2;

export interface Deployment {
  variant: VariantId;
  population: Population;
  gateway: NodeProcess;
  /** The message-pipeline consumer (Kafka only). */
  consumer?: NodeProcess;
}

export interface Deployments {
  byVariant: Record<VariantId, Deployment>;
  /** Names of what the run made, for the report. */
  names: { databases: string[]; keyspace: string; topic: string; group: string };
  seedSeconds: number;
  /** Stops every process and drops every database, keyspace, topic and group made. Idempotent. */
  dispose(): Promise<void>;
}

export async function startDeployments(
  settings: SendPathSettings,
  progress: (message: string) => void,
): Promise<Deployments> {
  const prefix = `bench_send_${uniqueTag()}`;
  const topic = `${prefix}.messages`;
  const group = `${prefix}.message-pipeline`;
  const databaseOf: Record<VariantId, string> = { 'kafka+cassandra': `${prefix}_kc`, postgres: `${prefix}_pg` };
  const root = mkdtempSync(join(tmpdir(), 'chat-bench-send-path-'));
  const cassandra = cassandraClient(settings.cassandraContactPoints);
  const admin: Admin = new Kafka({
    clientId: 'chat-bench-send-path',
    brokers: settings.kafkaBrokers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  const populations = new Map<VariantId, Population>();
  const processes: NodeProcess[] = [];

  const cleanUp = async () => {
    // The consumer leaves its group before the group can be deleted.
    await Promise.all(processes.map((child) => child.stop()));
    const problems: string[] = [];
    const attempt = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        problems.push(`${what}: ${(error as Error).message}`);
      }
    };
    await Promise.all(
      [...populations.values()].map((population) => attempt('dropping a database', () => population.drop())),
    );
    await attempt(`deleting the consumer group ${group}`, async () => {
      // A group that never had a member does not exist ("Dead"): nothing to delete.
      const { groups } = await admin.describeGroups([group]);
      if (groups[0] && groups[0].state !== 'Dead') await admin.deleteGroups([group]);
    });
    await attempt(`deleting the topic ${topic}`, async () => {
      if ((await admin.listTopics()).includes(topic)) await admin.deleteTopics({ topics: [topic] });
    });
    await attempt(`dropping the keyspace ${prefix}`, () => dropKeyspace(cassandra, prefix));
    rmSync(root, { recursive: true, force: true });
    await admin.disconnect().catch(() => undefined);
    await cassandra.shutdown().catch(() => undefined);
    if (problems.length > 0) throw new Error(`cleaning up left things behind:\n  ${problems.join('\n  ')}`);
  };
  // Also on Ctrl-C or a CI timeout: stop and drop what was made.
  const dispose = cleanUpOnSignal(
    cleanUp,
    progress,
    'stopping the deployments and dropping their databases, keyspace and topic',
  );

  const start = async (
    name: string,
    entry: string,
    env: Record<string, string>,
    options: { isReady?: () => Promise<boolean> } = {},
  ) => {
    const child = await startNode(name, entry, {
      ...(options.isReady ? { isReady: options.isReady } : {}),
      env: { ...LOCAL_ONLY_ENV, ...(settings.profileDir ? { NODE_OPTIONS: INSPECT } : {}), ...env },
    });
    processes.push(child);
    return child;
  };

  try {
    await cassandra.connect().catch((error: unknown) => {
      throw new Error(
        `Cassandra at ${settings.cassandraContactPoints} does not answer (npm run services:up): ${(error as Error).message}`,
      );
    });
    await admin.connect().catch((error: unknown) => {
      throw new Error(
        `Kafka at ${settings.kafkaBrokers} does not answer (npm run services:up): ${(error as Error).message}`,
      );
    });

    const users = senderCount(settings.rates);
    const seedStarted = performance.now();
    for (const variant of VARIANT_IDS) {
      populations.set(
        variant,
        await seedPopulation({
          adminUrl: settings.postgresUrl,
          userCount: users,
          chatSize: CHAT_SIZE,
          name: databaseOf[variant],
        }),
      );
    }
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    progress(
      `seeded ${users} users in ${users / CHAT_SIZE} chats of ${CHAT_SIZE}, twice (a database per deployment), in ${seedSeconds.toFixed(1)} s`,
    );

    const baseEnv = (variant: VariantId, short: string): Record<string, string> => {
      const population = populations.get(variant)!;
      const dataDir = join(root, short);
      mkdirSync(dataDir, { recursive: true });
      return {
        ...population.secrets,
        NODE_ENV: 'development',
        DATA_DIR: dataDir,
        DATABASE_URL: population.url,
        REDIS_URL: settings.redisUrl,
        LIMITS_KEY_PREFIX: `${prefix}_${short}`,
        WS_MAX_CONNECTIONS_PER_IP: 'off',
      };
    };
    const postgresGateway = await start('gateway (postgres)', 'gateway/src/main.ts', baseEnv('postgres', 'pg'));

    const distributedEnv = {
      ...baseEnv('kafka+cassandra', 'kc'),
      KAFKA_BROKERS: settings.kafkaBrokers,
      KAFKA_TOPIC_PREFIX: prefix,
      CASSANDRA_CONTACT_POINTS: settings.cassandraContactPoints,
      CASSANDRA_KEYSPACE: prefix,
    };
    const distributedGateway = await start('gateway (kafka+cassandra)', 'gateway/src/main.ts', {
      ...distributedEnv,
      MESSAGE_CONSUMER: 'off',
    });
    // The gateway creates the keyspace and the topic as it starts; the consumer would race it for both.
    const created = async () => (await keyspaceReady(cassandra, prefix)) && (await admin.listTopics()).includes(topic);
    await waitUntilReady(created, {
      what: `the keyspace ${prefix} and the topic ${topic} of the distributed gateway`,
      gone: distributedGateway.exited,
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}:\n${distributedGateway.output()}`);
    });
    const consumer = await start(
      'consumer (kafka+cassandra)',
      'subgraphs/messages/src/consumer-main.ts',
      distributedEnv,
      {
        isReady: async () => {
          try {
            const { groups } = await admin.describeGroups([group]);
            return groups[0]?.state === 'Stable' && groups[0].members.length > 0;
          } catch {
            return false;
          }
        },
      },
    );

    return {
      byVariant: {
        'kafka+cassandra': {
          variant: 'kafka+cassandra',
          population: populations.get('kafka+cassandra')!,
          gateway: distributedGateway,
          consumer,
        },
        postgres: { variant: 'postgres', population: populations.get('postgres')!, gateway: postgresGateway },
      },
      names: { databases: Object.values(databaseOf), keyspace: prefix, topic, group },
      seedSeconds,
      dispose,
    };
  } catch (error) {
    await dispose().catch((cleanup: unknown) =>
      progress(`cleaning up after a failed setup failed too: ${String(cleanup)}`),
    );
    throw error;
  }
}
