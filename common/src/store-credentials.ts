/**
 * Credentials and TLS of the data and integration stores (Postgres, Redis,
 * Kafka, Cassandra), checked at boot with the rest of the configuration.
 *
 * Postgres and Redis take theirs in their URLs (DATABASE_URL:
 * `postgresql://user:password@host/db?sslmode=verify-full&sslrootcert=ca.pem`;
 * REDIS_URL: `redis://user:password@host:6379/0`, `rediss://` for TLS), Kafka
 * and Cassandra in variables of their own (KAFKA_SASL_MECHANISM,
 * KAFKA_USERNAME, KAFKA_PASSWORD, KAFKA_TLS, KAFKA_CA_FILE; CASSANDRA_USERNAME,
 * CASSANDRA_PASSWORD, CASSANDRA_TLS, CASSANDRA_CA_FILE).
 *
 * Outside production a store may run without credentials (a developer's
 * loopback services). In production none has a default: a store configured
 * without credentials is refused.
 */
import { readFileSync } from 'node:fs';

/**
 * Problems of a Postgres URL, one line each in the format of `ConfigError`
 * (`NAME: what is wrong`), never quoting a secret; empty when there is none.
 */
export function postgresProblems(databaseUrl: string | undefined, production: boolean): string[] {
  const url = parseUrl(databaseUrl);
  if (!url) return [];
  const problems: string[] = [];
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    problems.push('DATABASE_URL: must be a postgresql:// URL');
  // node-postgres reads these files when it opens the pool: report them now, with everything else.
  for (const parameter of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = url.searchParams.get(parameter);
    if (file !== null && !readable(file)) problems.push(`DATABASE_URL: cannot read the ${parameter} file ${file}`);
  }
  const clientCertificate = url.searchParams.has('sslcert') && url.searchParams.has('sslkey');
  if (production && !url.password && !clientCertificate) {
    problems.push(
      'DATABASE_URL: a password is required in production (postgresql://user:password@host:5432/db), or a client certificate (sslcert and sslkey)',
    );
  }
  return problems;
}

/** Problems of a Redis URL, as {@link postgresProblems}. */
export function redisProblems(redisUrl: string | undefined, production: boolean): string[] {
  const url = parseUrl(redisUrl);
  if (!url) return [];
  const problems: string[] = [];
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    problems.push('REDIS_URL: must be a redis:// URL (rediss:// for TLS)');
  if (production && !url.password) {
    problems.push(
      'REDIS_URL: a password is required in production (redis://:password@host:6379, or redis://user:password@… for an ACL user)',
    );
  }
  return problems;
}

/** The Kafka variables the credential checks read. */
export interface KafkaCredentialValues {
  KAFKA_BROKERS?: string | undefined;
  KAFKA_SASL_MECHANISM?: string | undefined;
  KAFKA_USERNAME?: string | undefined;
  KAFKA_PASSWORD?: string | undefined;
  KAFKA_TLS: 'on' | 'off';
  KAFKA_CA_FILE?: string | undefined;
}

/**
 * Problems of Kafka's credentials and TLS, as {@link postgresProblems}.
 * @example
 * kafkaProblems({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_TLS: 'off' }, false)
 * // ['KAFKA_USERNAME: required with KAFKA_SASL_MECHANISM', 'KAFKA_PASSWORD: required with KAFKA_SASL_MECHANISM']
 */
export function kafkaProblems(env: KafkaCredentialValues, production: boolean): string[] {
  const problems: string[] = [];
  if (env.KAFKA_SASL_MECHANISM) {
    if (!env.KAFKA_USERNAME) problems.push('KAFKA_USERNAME: required with KAFKA_SASL_MECHANISM');
    if (!env.KAFKA_PASSWORD) problems.push('KAFKA_PASSWORD: required with KAFKA_SASL_MECHANISM');
  } else if (env.KAFKA_USERNAME || env.KAFKA_PASSWORD) {
    problems.push(
      'KAFKA_SASL_MECHANISM: required with KAFKA_USERNAME and KAFKA_PASSWORD (plain, scram-sha-256 or scram-sha-512)',
    );
  } else if (production && env.KAFKA_BROKERS) {
    problems.push(
      'KAFKA_SASL_MECHANISM: required in production with KAFKA_BROKERS (plain, scram-sha-256 or scram-sha-512, with KAFKA_USERNAME and KAFKA_PASSWORD)',
    );
  }
  problems.push(...caFileProblems('KAFKA', env.KAFKA_TLS, env.KAFKA_CA_FILE));
  return problems;
}

/** The Cassandra variables the credential checks read. */
export interface CassandraCredentialValues {
  CASSANDRA_CONTACT_POINTS?: string | undefined;
  CASSANDRA_USERNAME?: string | undefined;
  CASSANDRA_PASSWORD?: string | undefined;
  CASSANDRA_TLS: 'on' | 'off';
  CASSANDRA_CA_FILE?: string | undefined;
}

/** Problems of Cassandra's credentials and TLS, as {@link postgresProblems}. */
export function cassandraProblems(env: CassandraCredentialValues, production: boolean): string[] {
  const problems: string[] = [];
  const { CASSANDRA_USERNAME: username, CASSANDRA_PASSWORD: password } = env;
  if (username && !password) problems.push('CASSANDRA_PASSWORD: required with CASSANDRA_USERNAME');
  else if (password && !username) problems.push('CASSANDRA_USERNAME: required with CASSANDRA_PASSWORD');
  else if (production && env.CASSANDRA_CONTACT_POINTS && !username && !password) {
    problems.push('CASSANDRA_USERNAME: required in production with CASSANDRA_CONTACT_POINTS');
    problems.push('CASSANDRA_PASSWORD: required in production with CASSANDRA_CONTACT_POINTS');
  }
  problems.push(...caFileProblems('CASSANDRA', env.CASSANDRA_TLS, env.CASSANDRA_CA_FILE));
  return problems;
}

function caFileProblems(store: 'KAFKA' | 'CASSANDRA', tls: 'on' | 'off', caFile: string | undefined): string[] {
  if (!caFile) return [];
  if (tls !== 'on') return [`${store}_CA_FILE: only used with ${store}_TLS=on`];
  return readable(caFile) ? [] : [`${store}_CA_FILE: cannot read ${caFile}`];
}

/**
 * `url` with its password replaced by `***`, fit for logs and error messages.
 * Something that does not parse as a URL is not shown at all.
 */
export function redactUrl(url: string): string {
  const parsed = parseUrl(url);
  if (!parsed) return '(an invalid URL)';
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

function parseUrl(value: string | undefined): URL | undefined {
  if (!value) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined; // the schema reports it
  }
}

function readable(file: string): boolean {
  try {
    readFileSync(file);
    return true;
  } catch {
    return false;
  }
}
