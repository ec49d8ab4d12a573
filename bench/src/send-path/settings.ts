/**
 * The send-path scenario's settings, read from the environment once, each
 * problem reported together. Defaults are the services `npm run services:up`
 * starts on loopback.
 *
 * | variable | default | |
 * | --- | --- | --- |
 * | `BENCH_POSTGRES_URL` | `postgresql://postgres@127.0.0.1:5432/postgres` | a role that may create databases; one database per deployment is made there |
 * | `BENCH_REDIS_URL` | `redis://127.0.0.1:6379` | pub/sub, session cache and rate limits of both deployments |
 * | `BENCH_KAFKA_BROKERS` | `127.0.0.1:9092` | |
 * | `BENCH_CASSANDRA_CONTACT_POINTS` | `127.0.0.1:9042` | |
 * | `BENCH_SEND_PATH_RATES` | `100,250,500,1000` (`--quick`: `100,500`) | offered messages/s, one case each |
 * | `BENCH_SEND_PATH_SECONDS` | 15 (`--quick`: 5) | how long each rate is offered per run |
 * | `BENCH_SEND_PATH_PROFILE_DIR` | unset | a directory: the gateway and the consumer are CPU-profiled (through their inspector) during every measured step, into `<dir>/<variant>-<rate>-<step>-<process>.cpuprofile` (summarize one with bench/src/fanout/profile-summary.ts) |
 */
import { settingsReader } from '../settings.ts';

export interface SendPathSettings {
  postgresUrl: string;
  redisUrl: string;
  kafkaBrokers: string;
  cassandraContactPoints: string;
  /** Offered messages per second, ascending. */
  rates: number[];
  stepMs: number;
  profileDir: string | undefined;
}

/**
 * At most this many messages per second per sender at the highest rate:
 * sustained for a whole minute, half the gateway's default limit per user
 * and field (300 a minute); a run offers it for one step at a time.
 */
export const MAX_SENDS_PER_USER_SECOND = 2.5;

/**
 * How many users (senders) the population needs so that none comes near the
 * per-user rate limit, which stays at its production default: at least 200,
 * in chats of two.
 */
export function senderCount(rates: readonly number[]): number {
  const needed = Math.ceil(Math.max(...rates) / MAX_SENDS_PER_USER_SECOND);
  return Math.max(200, needed + (needed % 2));
}

export function sendPathSettings(quick: boolean, env: NodeJS.ProcessEnv = process.env): SendPathSettings {
  const { problems, url, hostPorts, check } = settingsReader(env);
  const postgresUrl = url('BENCH_POSTGRES_URL', 'postgresql://postgres@127.0.0.1:5432/postgres', [
    'postgresql:',
    'postgres:',
  ]);
  const redisUrl = url('BENCH_REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']);
  const kafkaBrokers = hostPorts('BENCH_KAFKA_BROKERS', '127.0.0.1:9092');
  const cassandraContactPoints = hostPorts('BENCH_CASSANDRA_CONTACT_POINTS', '127.0.0.1:9042');

  const ratesText = env.BENCH_SEND_PATH_RATES || (quick ? '100,500' : '100,250,500,1000');
  const rates = ratesText.split(',').map((rate) => Number(rate.trim()));
  if (rates.some((rate) => !Number.isInteger(rate) || rate < 1 || rate > 20_000)) {
    problems.push('BENCH_SEND_PATH_RATES: whole numbers of messages/s from 1 to 20000, comma-separated');
  } else if (new Set(rates).size !== rates.length) {
    problems.push('BENCH_SEND_PATH_RATES: each rate once');
  }
  const seconds = env.BENCH_SEND_PATH_SECONDS ? Number(env.BENCH_SEND_PATH_SECONDS) : quick ? 5 : 15;
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 600)
    problems.push('BENCH_SEND_PATH_SECONDS: from 1 to 600');
  check('send-path');
  return {
    postgresUrl,
    redisUrl,
    kafkaBrokers,
    cassandraContactPoints,
    rates: [...rates].sort((a, b) => a - b),
    stepMs: Math.round(seconds * 1000),
    profileDir: env.BENCH_SEND_PATH_PROFILE_DIR || undefined,
  };
}
