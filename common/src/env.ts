/**
 * Typed configuration from the environment, validated once at boot: every
 * problem is reported together and the process refuses to start.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/** An optional URL setting; an empty value counts as unset. */
export const ZOptionalUrlSchema = z.preprocess((value) => (value === '' ? undefined : value), z.string().url().optional());

export const ZRuntimeEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** Embedded mode keeps its database and generated secrets here. */
  DATA_DIR: z.string().default('./.data'),
  /** A Postgres URL switches relational data from embedded PGlite to that server. */
  DATABASE_URL: ZOptionalUrlSchema,
  /** A Redis URL switches pub/sub from in-process to Redis. */
  REDIS_URL: ZOptionalUrlSchema,
  /** HS256 key for access tokens; at least 32 characters. */
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
  /**
   * This process's Snowflake worker number (0-1023), e.g. a StatefulSet pod
   * ordinal. Unset: any number no other live process holds. Either way the
   * number is locked in Postgres while the process lives.
   */
  WORKER_ID: z.coerce.number().int().min(0).max(1023).optional(),
  /** Comma-separated `host:port` list: the message log becomes Kafka (distributed mode). */
  KAFKA_BROKERS: z.preprocess((value) => (value === '' ? undefined : value), z.string().optional()),
  /** Prefix of the Kafka topics and consumer groups, so deployments can share a cluster. */
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/).default('chat'),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(8),
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(9).default(1),
  /** Comma-separated `host:port` list: message history moves to Cassandra (distributed mode). */
  CASSANDRA_CONTACT_POINTS: z.preprocess((value) => (value === '' ? undefined : value), z.string().optional()),
  CASSANDRA_LOCAL_DC: z.string().default('datacenter1'),
  CASSANDRA_KEYSPACE: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, 'lower-case letters, digits and _').default('chat'),
  CASSANDRA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(9).default(1),
  /**
   * Whether this process runs the message pipeline's Kafka consumer when it
   * hosts the messages subgraph. `off` leaves it to dedicated consumer processes.
   */
  MESSAGE_CONSUMER: z.enum(['on', 'off']).default('on'),
  /** How long after sending its sender may edit a message. */
  MESSAGE_EDIT_WINDOW_SECONDS: z.coerce.number().int().min(1).default(15 * 60),
  /** How long after sending its sender may delete a message for everyone (admins: always). */
  MESSAGE_DELETE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(48 * 3600),
  /** How long an email or phone confirmation code lasts. */
  CONTACT_CODE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(15 * 60),
  /** User searches allowed per user in each 10-second window. */
  SEARCH_RATE_LIMIT: z.coerce.number().int().min(1).max(10_000).default(30),
  /** Who may start a direct chat with whom: `anyone` (unless blocked), or `connections` only. */
  DIRECT_CHAT_POLICY: z.enum(['anyone', 'connections']).default('anyone'),
  /** Mail for confirmation codes goes here (smtp:// or smtps://, credentials in the URL); unset: the development outbox. */
  SMTP_URL: ZOptionalUrlSchema,
  MAIL_FROM: z.string().default('Chat <no-reply@chat.invalid>'),
  /** The development outbox: every email and SMS that is not sent for real is written here as a JSON file. Default `<DATA_DIR>/outbox`. */
  OUTBOX_DIR: z.string().optional(),
  /** How long a `setTyping(typing: true)` lasts unless repeated. */
  TYPING_TTL_MS: z.coerce.number().int().min(100).max(60_000).default(6_000),
  /** A device with no heartbeat for this long is gone. */
  PRESENCE_DEVICE_TIMEOUT_SECONDS: z.coerce.number().min(0.5).max(3600).default(60),
  /** A user whose devices report no activity for this long is AWAY. */
  PRESENCE_IDLE_SECONDS: z.coerce.number().min(0.5).max(86_400).default(300),
  /** How often expired devices and idle users are looked for. */
  PRESENCE_SWEEP_MS: z.coerce.number().int().min(50).max(60_000).default(5_000),
});

export type RuntimeEnv = z.infer<typeof ZRuntimeEnvSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `env` with `schema`. @throws ConfigError listing every problem. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`);
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
}

export interface RuntimeConfig {
  env: RuntimeEnv;
  dataDir: string;
  jwtSecret: Uint8Array;
}

/**
 * Resolves secrets: JWT_SECRET when given; otherwise, outside production and
 * with embedded storage only, a random key kept in DATA_DIR so tokens survive
 * restarts. Processes that share a real database must share a key, so there
 * the key is required.
 */
export function resolveRuntimeConfig(env: RuntimeEnv): RuntimeConfig {
  const dataDir = resolve(env.DATA_DIR);
  if (env.JWT_SECRET) return { env, dataDir, jwtSecret: new TextEncoder().encode(env.JWT_SECRET) };
  if (env.NODE_ENV === 'production') throw new ConfigError('Invalid configuration:\n  JWT_SECRET: required in production');
  if (env.DATABASE_URL) {
    throw new ConfigError('Invalid configuration:\n  JWT_SECRET: required with DATABASE_URL (every process of a deployment must share it)');
  }
  mkdirSync(dataDir, { recursive: true });
  const file = `${dataDir}/jwt-secret`;
  if (!existsSync(file)) writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  return { env, dataDir, jwtSecret: new TextEncoder().encode(readFileSync(file, 'utf8').trim()) };
}
