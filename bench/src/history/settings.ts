/**
 * The history scenario's settings, read from the environment once, each
 * problem reported together. Defaults are the services `npm run services:up`
 * starts on loopback.
 *
 * | variable | default | |
 * | --- | --- | --- |
 * | `BENCH_POSTGRES_URL` | `postgresql://postgres@127.0.0.1:5432/postgres` | a role that may create databases; the scenario's databases are made there |
 * | `BENCH_CASSANDRA_CONTACT_POINTS` | `127.0.0.1:9042` | |
 * | `BENCH_REDIS_URL` | `redis://127.0.0.1:6379` | given to the Postgres and Cassandra gateways as in a distributed deployment (session checks read through it); `off`: none |
 * | `BENCH_HISTORY_MESSAGES` | 1,000,000 (`--quick`: 20,000) | messages in the chat |
 * | `BENCH_HISTORY_KEEP` | unset | `1`: keep the seeded databases, keyspace and PGlite directory (fixed names per size) and reuse them next time |
 * | `BENCH_HISTORY_EXPLAIN` | unset | `1`: print the Postgres plan of a page (`EXPLAIN ANALYZE`) and a Cassandra trace after warming up |
 */
import { settingsReader } from '../settings.ts';

export interface HistorySettings {
  postgresUrl: string;
  cassandraContactPoints: string;
  redisUrl: string | undefined;
  messages: number;
  keep: boolean;
  explain: boolean;
}

export function historySettings(quick: boolean, env: NodeJS.ProcessEnv = process.env): HistorySettings {
  const { problems, url, hostPorts, flag, check } = settingsReader(env);
  const postgresUrl = url('BENCH_POSTGRES_URL', 'postgresql://postgres@127.0.0.1:5432/postgres', [
    'postgresql:',
    'postgres:',
  ]);
  const redis =
    env.BENCH_REDIS_URL === 'off' ? undefined : url('BENCH_REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']);
  const cassandraContactPoints = hostPorts('BENCH_CASSANDRA_CONTACT_POINTS', '127.0.0.1:9042');
  const messages = env.BENCH_HISTORY_MESSAGES ? Number(env.BENCH_HISTORY_MESSAGES) : quick ? 20_000 : 1_000_000;
  if (!Number.isInteger(messages) || messages < 1_000 || messages > 100_000_000)
    problems.push('BENCH_HISTORY_MESSAGES: must be a whole number from 1000 to 100000000');
  const settings = {
    postgresUrl,
    cassandraContactPoints,
    redisUrl: redis,
    messages,
    keep: flag('BENCH_HISTORY_KEEP'),
    explain: flag('BENCH_HISTORY_EXPLAIN'),
  };
  check('history');
  return settings;
}
