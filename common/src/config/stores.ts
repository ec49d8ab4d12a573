/**
 * The data and integration stores: Postgres, Redis, Kafka, Cassandra. Each is
 * off (`null`: the embedded or in-process stand-in) until its address is set,
 * and checked for credentials and TLS at boot (`store-credentials.ts`).
 */
import { z } from 'zod';
import { commaList, defineConfigModel, unsetIfEmpty, ZOptionalUrlSchema } from '../env.ts';
import { cassandraProblems, kafkaProblems, postgresProblems, redisProblems } from '../store-credentials.ts';

const ZOnOffSchema = z.enum(['on', 'off']);
const ZOptionalTextSchema = z.preprocess(unsetIfEmpty, z.string().optional());

/** Relational data: Postgres when `DATABASE_URL` is set, else embedded PGlite in DATA_DIR. */
export const DatabaseModel = defineConfigModel({
  title: 'Postgres',
  variables: z.object({
    DATABASE_URL: ZOptionalUrlSchema.describe(
      'Postgres instead of the embedded PGlite (migrations applied on start, under an advisory lock); credentials ' +
        'and TLS in the URL: `postgresql://user:password@host:5432/db?sslmode=verify-full&sslrootcert=/path/ca.pem`',
    ),
    WORKER_ID: z.coerce
      .number()
      .int()
      .min(0)
      .max(1023)
      .optional()
      .describe(
        "This process's Snowflake worker number (0–1023), e.g. a StatefulSet pod ordinal. Unset: any number no " +
          'other live process holds. Either way it is locked in Postgres while the process lives',
      ),
  }),
  read: (values, context, problems) => {
    problems.push(...postgresProblems(values.DATABASE_URL, context.production));
    return values.DATABASE_URL ? { url: values.DATABASE_URL, workerId: values.WORKER_ID } : null;
  },
});

export type DatabaseConfig = ReturnType<(typeof DatabaseModel)['read']>;

/** Pub/sub, entity caches and rate-limit counters: Redis when `REDIS_URL` is set, else in this process. */
export const RedisModel = defineConfigModel({
  title: 'Redis',
  variables: z.object({
    REDIS_URL: ZOptionalUrlSchema.describe(
      'Redis pub/sub, caches and limit counters instead of in-process, so every process sees every event: ' +
        '`redis://:password@host:6379/0` (`user:password@` for an ACL user), `rediss://` for TLS',
    ),
  }),
  read: (values, context, problems) => {
    problems.push(...redisProblems(values.REDIS_URL, context.production));
    return values.REDIS_URL ? { url: values.REDIS_URL } : null;
  },
});

export type RedisConfig = ReturnType<(typeof RedisModel)['read']>;

const KafkaVariables = z.object({
  KAFKA_BROKERS: ZOptionalTextSchema.describe(
    'Comma-separated `host:port` list: the message log becomes Kafka, and `sendMessage` acknowledges once Kafka ' +
      'has the message',
  ),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/)
    .default('chat')
    .describe('Prefix of the Kafka topics and consumer groups, so deployments can share a cluster'),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(8).describe('Partitions of the messages topic'),
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(9).default(1).describe('Replicas of the messages topic'),
  KAFKA_SASL_MECHANISM: z
    .preprocess(unsetIfEmpty, z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional())
    .describe('SASL to the brokers: unset for none (development only), else the mechanism, with both credentials'),
  KAFKA_USERNAME: z.string().optional().describe('SASL user name'),
  KAFKA_PASSWORD: z.string().optional().describe('SASL password'),
  KAFKA_TLS: ZOnOffSchema.default('off').describe('`on`: TLS to the brokers'),
  KAFKA_CA_FILE: z
    .string()
    .optional()
    .describe("PEM file of the CA that signed the brokers' certificates. Default: the system's CAs"),
});

/** The message log: Kafka when `KAFKA_BROKERS` is set, else in-process. */
export const KafkaModel = defineConfigModel({
  title: 'Kafka',
  variables: KafkaVariables,
  read: (values, context, problems) => {
    problems.push(...kafkaProblems(values, context.production));
    if (!values.KAFKA_BROKERS) return null;
    const sasl = values.KAFKA_SASL_MECHANISM;
    return {
      brokers: commaList(values.KAFKA_BROKERS),
      topicPrefix: values.KAFKA_TOPIC_PREFIX,
      partitions: values.KAFKA_PARTITIONS,
      replicationFactor: values.KAFKA_REPLICATION_FACTOR,
      // Both credentials are there with a mechanism, or a problem above stops the start.
      sasl: sasl
        ? { mechanism: sasl, username: values.KAFKA_USERNAME ?? '', password: values.KAFKA_PASSWORD ?? '' }
        : null,
      tls: values.KAFKA_TLS === 'on' ? { caFile: values.KAFKA_CA_FILE ?? null } : null,
    };
  },
});

export type KafkaConfig = ReturnType<(typeof KafkaModel)['read']>;

const CassandraVariables = z.object({
  CASSANDRA_CONTACT_POINTS: ZOptionalTextSchema.describe(
    'Comma-separated `host:port` list: message history moves to Cassandra',
  ),
  CASSANDRA_LOCAL_DC: z.string().default('datacenter1').describe('The data center this process is in'),
  CASSANDRA_KEYSPACE: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,47}$/, 'lower-case letters, digits and _')
    .default('chat')
    .describe('The keyspace of the message history, created at start when missing'),
  CASSANDRA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(9).default(1).describe('Replicas of the keyspace'),
  CASSANDRA_USERNAME: z
    .string()
    .optional()
    .describe("Credentials for Cassandra's PasswordAuthenticator, both or neither; unset for none (development only)"),
  CASSANDRA_PASSWORD: z.string().optional().describe('The password of `CASSANDRA_USERNAME`'),
  CASSANDRA_TLS: ZOnOffSchema.default('off').describe(
    "`on`: TLS to Cassandra, each node's certificate verified (chain, and the address connected to)",
  ),
  CASSANDRA_CA_FILE: z
    .string()
    .optional()
    .describe("PEM file of the CA that signed Cassandra's certificates. Default: the system's CAs"),
});

/** Message history: Cassandra when `CASSANDRA_CONTACT_POINTS` is set, else Postgres. */
export const CassandraModel = defineConfigModel({
  title: 'Cassandra',
  docs: 'docs/CASSANDRA.md',
  variables: CassandraVariables,
  read: (values, context, problems) => {
    problems.push(...cassandraProblems(values, context.production));
    if (!values.CASSANDRA_CONTACT_POINTS) return null;
    const { CASSANDRA_USERNAME: username, CASSANDRA_PASSWORD: password } = values;
    return {
      contactPoints: commaList(values.CASSANDRA_CONTACT_POINTS),
      localDataCenter: values.CASSANDRA_LOCAL_DC,
      keyspace: values.CASSANDRA_KEYSPACE,
      replicationFactor: values.CASSANDRA_REPLICATION_FACTOR,
      // Both or neither, or a problem above stops the start.
      credentials: username || password ? { username: username ?? '', password: password ?? '' } : null,
      tls: values.CASSANDRA_TLS === 'on' ? { caFile: values.CASSANDRA_CA_FILE ?? null } : null,
    };
  },
});

export type CassandraConfig = ReturnType<(typeof CassandraModel)['read']>;
