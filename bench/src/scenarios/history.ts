/**
 * Issue 8, scenario 4, "history": `messages(chatId, first: 50, before)`
 * pages from a chat with 1,000,000 messages, in every storage mode of
 * history. Target (reported, not asserted): p99 under 20 ms per page in both
 * modes (Postgres and Cassandra).
 *
 * Variants. No outside system is the baseline here: the variants are the
 * storage modes of the same product, each one of ours (`subject`, so no
 * ratios are printed), each a real gateway process (`gateway/src/main.ts`,
 * every subgraph mounted in it, the same code `npm start` runs) reached over
 * HTTP on loopback:
 * - `postgres`: `DATABASE_URL` of a fresh database; history in its `messages`
 *   table through Prisma (`PrismaMessageStore`).
 * - `cassandra`: the same plus `CASSANDRA_CONTACT_POINTS` and a fresh
 *   keyspace; history in `messages_by_chat` (`CassandraMessageStore`),
 *   relational data (chat, membership, sessions) in its own Postgres database.
 *   Kafka is left out: it carries sends, and no read touches it.
 * - `pglite`: the embedded default (`DATA_DIR` only): history in PGlite in
 *   the gateway's process. Not a target of the issue; measured because it is
 *   what `npm start` runs, and seeding it is as cheap as seeding Postgres.
 * Both server variants get `REDIS_URL` as a distributed deployment would
 * (every operation checks its session through the Redis-backed cache);
 * `BENCH_REDIS_URL=off` runs them without. The general rate limit (300
 * operations a minute per user) is switched off: one reader reads faster.
 *
 * Seeding, once per variant in setup, bypasses sendMessage, which would
 * take hours: rows go straight into the tables the stores read, with every
 * column the pipeline writes (`history/dataset.ts` defines them, the same
 * for every store: one direct chat between two users, sender alternating,
 * about 115-character texts, one message every 31.5 s for a year, Snowflake
 * IDs of those times). Its duration is the `seed s` column (for `cassandra`
 * including its relational database and the start of its gateway, which
 * creates the keyspace):
 * - Postgres: the project's migrations on a fresh database, then users, the
 *   reader's session, chat, members, and per message `message_seqs` and
 *   `messages`, generated in SQL (`INSERT … SELECT … generate_series`, chunks
 *   of 100,000), then `VACUUM ANALYZE` (`history/seed-sql.ts`).
 * - Cassandra: the relational part as above without `messages`; the gateway
 *   creates the keyspace at start, then `messages_by_chat` (unlogged
 *   single-partition batches of 100), `messages_by_id` (concurrent inserts),
 *   the time index and `chat_heads`, with the store's write timestamps
 *   (`history/cassandra.ts`).
 * - PGlite: the same SQL, through the project's own embedded opener on the
 *   gateway's `DATA_DIR` before the gateway starts (PGlite serves one
 *   process; the gateway then owns the directory).
 * Measuring starts once Cassandra runs no compaction of the keyspace.
 * The reader's access token is minted with the deployment's signing key
 * (`generateSecrets()`, `TokenService`) for the seeded session.
 * `BENCH_HISTORY_KEEP=1` keeps the seeded data and reuses it next time
 * (`history/settings.ts` lists every setting).
 *
 * Measurement, per run of a variant: a short warm-up walk, then
 * - sequentially, 500 pages (`--quick`: 100): walks of 20 pages (10) back
 *   from random positions across the whole history, each page from the
 *   previous `endCursor`; `p50 ms` and `p99 ms` per page, client-side, from
 *   sending the request to the parsed response;
 * - 10 readers at once, 1,000 pages in all (`--quick`: 200): `pages/s`, and
 *   `p99 ms, 10 readers` per page under that load.
 * Start positions come from a PRNG seeded by the round, so every variant
 * reads the same pages in the same round. Every page is checked (50
 * messages, the expected cursors, no errors). Client, gateways and stores
 * share the machine. `BENCH_HISTORY_EXPLAIN=1` prints the Postgres plan and
 * a Cassandra trace of one page after the warm-up.
 *
 * Everything started is stopped, and every database, keyspace and directory
 * made is dropped in teardown (unless kept).
 */
import { generateSecrets, TokenService } from '@chat/common';
import type { Metric, Scenario, Variant } from '../harness.ts';
import { startDeployments, STORAGE_MODES, type StorageMode } from '../history/deployments.ts';
import { HistoryReader, percentile } from '../history/reader.ts';
import { historySettings } from '../history/settings.ts';

/** Concurrent readers of the throughput measurement. */
const READERS = 10;
/** A token lasts 15 minutes: mint a fresh one well before. */
const TOKEN_REFRESH_MS = 5 * 60_000;

const isStorageMode = (id: string): id is StorageMode => (STORAGE_MODES as readonly string[]).includes(id);

export const scenario: Scenario = {
  name: 'history',
  description:
    '`messages(chatId, first: 50, before)` pages from one chat, through a gateway over HTTP, history in each storage mode: ' +
    'walks of consecutive pages back from random positions across the whole history, one reader (latency per page) and 10 at once (pages/s). ' +
    'Seeded directly into the stores; `seed s` is the time that took.',
  targets: [
    'p99 under 20 ms per page in both storage modes (Postgres, Cassandra), with 1,000,000 messages in the chat',
  ],
  variants: [
    { id: 'postgres', label: 'Postgres (Prisma)', subject: true },
    { id: 'cassandra', label: 'Cassandra', subject: true },
    { id: 'pglite', label: 'embedded PGlite', subject: true },
  ],
  async setup(context) {
    const settings = historySettings(context.quick);
    const counts = context.quick
      ? { sequential: 100, concurrent: 200, pagesPerWalk: 10, warmUp: 40 }
      : { sequential: 500, concurrent: 1_000, pagesPerWalk: 20, warmUp: 200 };
    const secrets = generateSecrets();
    const tokens = await TokenService.create({
      signingKeys: JSON.parse(secrets.JWT_PRIVATE_KEYS) as Parameters<typeof TokenService.create>[0]['signingKeys'],
    });
    const deployments = await startDeployments(settings, secrets, context.progress);
    const { data } = deployments;
    let token = '';
    let mintedAt = 0;
    const mint = async () => {
      const viewer = {
        id: data.readerId.toString(),
        username: data.readerUsername,
        sessionId: data.sessionId.toString(),
      };
      token = (await tokens.issueAccessToken(viewer)).token;
      mintedAt = Date.now();
    };
    const readers = Object.fromEntries(
      STORAGE_MODES.map((mode) => [
        mode,
        new HistoryReader(
          deployments.byMode[mode].gateway.url,
          data.chatId.toString(),
          data.messages,
          () => token,
          READERS,
        ),
      ]),
    ) as Record<StorageMode, HistoryReader>;
    const teardown = async () => {
      for (const reader of Object.values(readers)) reader.close();
      await deployments.dispose();
    };
    try {
      await mint();
      for (const mode of STORAGE_MODES) {
        context.progress(`warming up ${mode}`);
        await readers[mode].walk({ pages: counts.warmUp, pagesPerWalk: counts.pagesPerWalk, readers: 1, seed: 1 });
        await readers[mode].walk({
          pages: counts.warmUp,
          pagesPerWalk: counts.pagesPerWalk,
          readers: READERS,
          seed: 2,
        });
      }
      context.progress(`stored: ${await deployments.describe()}`);
      if (settings.explain) context.progress(await deployments.explain(Math.floor(data.messages / 3)));
    } catch (error) {
      await teardown();
      throw error;
    }
    const rounds = new Map<StorageMode, number>();
    return {
      cases: [`${data.messages.toLocaleString('en-US')} messages`],
      async run(variant: Variant): Promise<Metric[]> {
        if (!isStorageMode(variant.id)) throw new Error(`unknown variant ${variant.id}`);
        const mode = variant.id;
        if (Date.now() - mintedAt > TOKEN_REFRESH_MS) await mint();
        const round = (rounds.get(mode) ?? 0) + 1;
        rounds.set(mode, round);
        const reader = readers[mode];
        // After the other variants' runs: reconnect and touch the code paths before measuring.
        await reader.walk({ pages: 10, pagesPerWalk: 10, readers: 1, seed: 1_000 + round });
        const one = await reader.walk({
          pages: counts.sequential,
          pagesPerWalk: counts.pagesPerWalk,
          readers: 1,
          seed: 2 * round + 10,
        });
        const many = await reader.walk({
          pages: counts.concurrent,
          pagesPerWalk: counts.pagesPerWalk,
          readers: READERS,
          seed: 2 * round + 11,
        });
        return [
          { name: 'p50 ms', value: percentile(one.latencies, 0.5), better: 'lower' },
          { name: 'p99 ms', value: percentile(one.latencies, 0.99), better: 'lower' },
          { name: 'pages/s', value: (many.latencies.length * 1000) / many.elapsedMs, better: 'higher' },
          { name: `p99 ms, ${READERS} readers`, value: percentile(many.latencies, 0.99), better: 'lower' },
          { name: 'seed s', value: deployments.byMode[mode].seedSeconds, better: 'lower' },
        ];
      },
      teardown,
    };
  },
};
