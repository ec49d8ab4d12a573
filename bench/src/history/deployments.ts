/**
 * The three deployments the history scenario reads from, each a real
 * gateway process (`gateway/src/main.ts`, every subgraph mounted in it) over
 * its own seeded stores:
 *
 * - `postgres`: relational data and history in a Postgres database of its own;
 * - `cassandra`: relational data in a Postgres database of its own, history in
 *   a Cassandra keyspace of its own (`CASSANDRA_CONTACT_POINTS`);
 * - `pglite`: the embedded default, everything in PGlite under `DATA_DIR`.
 *
 * With `keep`, names are fixed per size and a manifest records a completed
 * seeding, so the next run reuses the data instead of seeding it again.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { generateSecrets } from '@chat/common';
import { uniqueTag } from '@chat/common/testing';
import { waitUntilReady } from '@chat/tests/kit/readiness';
import { cleanUpOnSignal, startNode, type NodeProcess } from '../processes.ts';
import {
  cassandraClient,
  dropKeyspace,
  keyspaceReady,
  seedCassandra,
  tableSizes,
  tracePage,
  waitForCompactions,
} from './cassandra.ts';
import { PostgresDatabase, seedEmbedded } from './databases.ts';
import { historyDataset, type HistoryDataset } from './dataset.ts';
import { PAGE_SIZE } from './reader.ts';
import type { HistorySettings } from './settings.ts';

export type StorageMode = 'postgres' | 'cassandra' | 'pglite';
export const STORAGE_MODES: readonly StorageMode[] = ['postgres', 'cassandra', 'pglite'];

export interface Deployment {
  mode: StorageMode;
  gateway: NodeProcess;
  /** Seconds it took to seed this deployment's stores (when reused: when they were seeded). */
  seedSeconds: number;
}

export interface Deployments {
  data: HistoryDataset;
  byMode: Record<StorageMode, Deployment>;
  /** What the stores hold on disk, for the report. */
  describe(): Promise<string>;
  /** The Postgres plan and the Cassandra trace of one page read at `beforeSeq`. */
  explain(beforeSeq: number): Promise<string>;
  /** Stops the gateways and, unless kept, drops every database, keyspace and directory. */
  dispose(): Promise<void>;
}

/** The statement `PrismaMessageStore.page` makes, as Postgres logged it from the gateway (Prisma 7.10). */
const PRISMA_PAGE_SQL =
  'SELECT "public"."messages"."id", "public"."messages"."chat_id", "public"."messages"."seq", "public"."messages"."sender_id", ' +
  '"public"."messages"."client_message_id", "public"."messages"."text", "public"."messages"."created_at", "public"."messages"."kind"::text, ' +
  '"public"."messages"."system", "public"."messages"."edited_at", "public"."messages"."deleted_at", "public"."messages"."version" ' +
  'FROM "public"."messages" WHERE ("public"."messages"."chat_id" = $1 AND "public"."messages"."seq" < $2) ' +
  'ORDER BY "public"."messages"."seq" DESC LIMIT $3 OFFSET $4';

interface Manifest {
  messages: number;
  dataset: Record<keyof HistoryDataset, string | number>;
  seedSeconds: Record<StorageMode, number>;
}

const toManifest = (data: HistoryDataset) =>
  Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, typeof value === 'bigint' ? value.toString() : value]),
  ) as Manifest['dataset'];
const fromManifest = (stored: Manifest['dataset']): HistoryDataset => ({
  messages: Number(stored.messages),
  firstAtMs: Number(stored.firstAtMs),
  intervalMs: Number(stored.intervalMs),
  chatId: BigInt(stored.chatId),
  readerId: BigInt(stored.readerId),
  otherId: BigInt(stored.otherId),
  sessionId: BigInt(stored.sessionId),
  readerUsername: String(stored.readerUsername),
  otherUsername: String(stored.otherUsername),
});

/** Seeds (or, kept, reuses) the three deployments and starts their gateways. Cleans up after itself when anything fails. */
export async function startDeployments(
  settings: HistorySettings,
  secrets: ReturnType<typeof generateSecrets>,
  progress: (message: string) => void,
): Promise<Deployments> {
  const { messages, keep } = settings;
  const suffix = keep ? String(messages) : uniqueTag();
  const root = keep
    ? join(tmpdir(), `chat-bench-history-${messages}`)
    : mkdtempSync(join(tmpdir(), 'chat-bench-history-'));
  mkdirSync(root, { recursive: true });
  const manifestFile = join(root, 'manifest.json');
  const postgres = new PostgresDatabase(settings.postgresUrl, `bench_history_${suffix}_pg`);
  const relational = new PostgresDatabase(settings.postgresUrl, `bench_history_${suffix}_cs`);
  const keyspace = `bench_history_${suffix}`;
  const pgliteDir = join(root, 'pglite-data');
  const client = cassandraClient(settings.cassandraContactPoints);
  const gateways: NodeProcess[] = [];
  const gatewayDirs: string[] = [];

  const dropAll = async () => {
    await Promise.all([postgres.drop(), relational.drop()]);
    await dropKeyspace(client, keyspace);
    rmSync(root, { recursive: true, force: true });
  };
  // Also on Ctrl-C or a CI timeout: stop and drop what was made.
  const dispose = cleanUpOnSignal(
    async () => {
      await Promise.all(gateways.map((gateway) => gateway.stop()));
      try {
        if (!keep) await dropAll();
      } finally {
        for (const dir of gatewayDirs) rmSync(dir, { recursive: true, force: true });
        await client.shutdown();
      }
    },
    progress,
    'stopping the gateways and dropping the seeded data',
  );

  const startGateway = async (mode: StorageMode, env: Record<string, string>) => {
    const dataDir = mode === 'pglite' ? pgliteDir : join(root, `gateway-${mode}`);
    if (mode !== 'pglite') gatewayDirs.push(dataDir);
    const gateway = await startNode(`gateway (${mode})`, 'gateway/src/main.ts', {
      env: {
        ...secrets,
        NODE_ENV: 'development',
        DATA_DIR: dataDir,
        // 300 operations a minute per user would throttle one reader; no other limit applies to this query.
        RATE_LIMIT_GENERAL: 'off',
        ...env,
      },
    });
    gateways.push(gateway);
    return gateway;
  };
  const serverEnv: Record<string, string> = settings.redisUrl ? { REDIS_URL: settings.redisUrl } : {};
  const cassandraEnv = { CASSANDRA_CONTACT_POINTS: settings.cassandraContactPoints, CASSANDRA_KEYSPACE: keyspace };

  try {
    await client.connect().catch((error: unknown) => {
      throw new Error(
        `Cassandra at ${settings.cassandraContactPoints} does not answer (npm run services:up): ${(error as Error).message}`,
      );
    });
    const manifest =
      keep && existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest) : undefined;
    let data: HistoryDataset;
    let seedSeconds: Record<StorageMode, number>;
    let cassandraGateway: NodeProcess;
    const reusable =
      manifest?.messages === messages &&
      (await postgres.exists()) &&
      (await relational.exists()) &&
      (await keyspaceReady(client, keyspace)) &&
      existsSync(pgliteDir);
    if (manifest && reusable) {
      progress(`reusing the seeded chat of ${messages.toLocaleString('en-US')} messages (${root}; BENCH_HISTORY_KEEP)`);
      data = fromManifest(manifest.dataset);
      seedSeconds = manifest.seedSeconds;
      cassandraGateway = await startGateway('cassandra', {
        ...serverEnv,
        DATABASE_URL: relational.url,
        ...cassandraEnv,
      });
    } else {
      if (keep) await dropAll(); // a seeding that never completed
      mkdirSync(root, { recursive: true });
      data = historyDataset(messages, suffix);
      const timed = async (mode: StorageMode, work: () => Promise<void>) => {
        progress(`seeding ${mode}: ${messages.toLocaleString('en-US')} messages`);
        const started = performance.now();
        await work();
        const seconds = (performance.now() - started) / 1000;
        progress(`seeded ${mode} in ${seconds.toFixed(1)} s`);
        return seconds;
      };
      const postgresSeconds = await timed('postgres', async () => {
        await postgres.create();
        await postgres.seed(data, { withHistory: true, progress });
      });
      let started: NodeProcess | undefined;
      const cassandraSeconds = await timed('cassandra', async () => {
        await relational.create();
        await relational.seed(data, { withHistory: false, progress });
        // The messages subgraph creates its keyspace and tables at start: seed exactly those.
        started = await startGateway('cassandra', { ...serverEnv, DATABASE_URL: relational.url, ...cassandraEnv });
        const gateway = started;
        await waitUntilReady(() => keyspaceReady(client, keyspace), {
          what: `the keyspace ${keyspace} of the Cassandra gateway`,
          gone: gateway.exited,
        }).catch((error: unknown) => {
          throw new Error(`${String(error)}:\n${gateway.output()}`);
        });
        const cassandraStarted = performance.now();
        await seedCassandra(client, keyspace, data, { progress });
        progress(`  Cassandra rows: ${((performance.now() - cassandraStarted) / 1000).toFixed(1)} s`);
      });
      cassandraGateway = started!;
      const pgliteSeconds = await timed('pglite', () => seedEmbedded(pgliteDir, data, { withHistory: true, progress }));
      seedSeconds = { postgres: postgresSeconds, cassandra: cassandraSeconds, pglite: pgliteSeconds };
      if (keep)
        writeFileSync(
          manifestFile,
          `${JSON.stringify({ messages, dataset: toManifest(data), seedSeconds } satisfies Manifest, null, 2)}\n`,
        );
    }
    const [postgresGateway, pgliteGateway] = await Promise.all([
      startGateway('postgres', { ...serverEnv, DATABASE_URL: postgres.url }),
      startGateway('pglite', {}),
    ]);
    // Seeding sets off compactions: let them finish rather than compete with the reads measured.
    const settling = performance.now();
    const settled = await waitForCompactions(client, keyspace, 180_000);
    progress(
      `Cassandra compactions ${settled ? 'done' : 'still running after 180 s; measuring anyway'} (${((performance.now() - settling) / 1000).toFixed(1)} s)`,
    );
    const gatewayOf: Record<StorageMode, NodeProcess> = {
      postgres: postgresGateway,
      cassandra: cassandraGateway,
      pglite: pgliteGateway,
    };
    return {
      data,
      byMode: Object.fromEntries(
        STORAGE_MODES.map((mode) => [mode, { mode, gateway: gatewayOf[mode], seedSeconds: seedSeconds[mode] }]),
      ) as Record<StorageMode, Deployment>,
      describe: async () => `postgres: ${await postgres.sizes()}; cassandra: ${await tableSizes(client, keyspace)}`,
      explain: async (beforeSeq) => {
        const plan = await postgres.explain(PRISMA_PAGE_SQL, [data.chatId, beforeSeq, PAGE_SIZE + 1, 0]);
        const trace = await tracePage(client, keyspace, data.chatId, beforeSeq, PAGE_SIZE + 1);
        return `Postgres, a page before seq ${beforeSeq}:\n${plan}\n\nCassandra, the same page (traced):\n${trace}`;
      },
      dispose,
    };
  } catch (error) {
    await dispose().catch((cleanup: unknown) =>
      progress(`cleaning up after a failed setup failed too: ${String(cleanup)}`),
    );
    throw error;
  }
}
