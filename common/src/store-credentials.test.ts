import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CassandraModel, DatabaseModel, KafkaModel, RedisModel } from './config/stores.ts';
import { ConfigError, loadConfig } from './env.ts';
import { redactUrl } from './store-credentials.ts';

const dir = mkdtempSync(join(tmpdir(), 'store-credentials-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const pem = join(dir, 'ca.pem');
writeFileSync(pem, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
const missing = join(dir, 'missing.pem');

const STORES = { database: DatabaseModel, redis: RedisModel, kafka: KafkaModel, cassandra: CassandraModel };

/** Every problem the store models report at start, one `  NAME: …` line each. */
const problems = (vars: Record<string, string>): string[] => {
  try {
    loadConfig(STORES, vars);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.message.split('\n').slice(1);
  }
};

/** Every store, each with credentials. */
const SECURE = {
  DATABASE_URL:
    'postgresql://chat:pg-secret@db.internal:5432/chat?sslmode=verify-full&sslrootcert=' + encodeURIComponent(pem),
  REDIS_URL: 'rediss://:redis-secret@cache.internal:6380/0',
  KAFKA_BROKERS: 'kafka-1:9093,kafka-2:9093',
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_USERNAME: 'chat',
  KAFKA_PASSWORD: 'kafka-secret',
  KAFKA_TLS: 'on',
  KAFKA_CA_FILE: pem,
  CASSANDRA_CONTACT_POINTS: 'cassandra-1:9042',
  CASSANDRA_USERNAME: 'chat',
  CASSANDRA_PASSWORD: 'cassandra-secret',
  CASSANDRA_TLS: 'on',
  CASSANDRA_CA_FILE: pem,
};

/** Every store, none with credentials: what a developer runs on loopback. */
const OPEN = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/chat',
  REDIS_URL: 'redis://127.0.0.1:6379',
  KAFKA_BROKERS: '127.0.0.1:9092',
  CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042',
};

describe('store credentials at start', () => {
  it('accepts stores without credentials outside production, and no store at all', () => {
    assert.deepEqual(problems({}), []);
    assert.deepEqual(problems(OPEN), []);
    assert.deepEqual(problems({ ...OPEN, NODE_ENV: 'test' }), []);
  });

  it('accepts every store with credentials and TLS, in production too', () => {
    assert.deepEqual(problems(SECURE), []);
    assert.deepEqual(problems({ ...SECURE, NODE_ENV: 'production' }), []);
  });

  it('refuses, in production, every store configured without credentials, naming each', () => {
    assert.deepEqual(problems({ ...OPEN, NODE_ENV: 'production' }), [
      '  DATABASE_URL: a password is required in production (postgresql://user:password@host:5432/db), or a client certificate (sslcert and sslkey)',
      '  REDIS_URL: a password is required in production (redis://:password@host:6379, or redis://user:password@… for an ACL user)',
      '  KAFKA_SASL_MECHANISM: required in production with KAFKA_BROKERS (plain, scram-sha-256 or scram-sha-512, with KAFKA_USERNAME and KAFKA_PASSWORD)',
      '  CASSANDRA_USERNAME: required in production with CASSANDRA_CONTACT_POINTS',
      '  CASSANDRA_PASSWORD: required in production with CASSANDRA_CONTACT_POINTS',
    ]);
  });

  it('refuses, in production, a user without a password in the URLs', () => {
    const lines = problems({
      ...SECURE,
      NODE_ENV: 'production',
      DATABASE_URL: 'postgresql://chat@db:5432/chat',
      REDIS_URL: 'redis://chat@cache:6379',
    });
    assert.deepEqual(
      lines.map((line) => line.split(':')[0]),
      ['  DATABASE_URL', '  REDIS_URL'],
    );
  });

  it('takes a Postgres client certificate for a password in production', () => {
    const key = join(dir, 'client.key');
    writeFileSync(key, 'key');
    const url = `postgresql://chat@db:5432/chat?sslmode=verify-full&sslcert=${encodeURIComponent(pem)}&sslkey=${encodeURIComponent(key)}`;
    assert.deepEqual(problems({ ...SECURE, NODE_ENV: 'production', DATABASE_URL: url }), []);
  });

  it('always asks for both SASL credentials with a mechanism, and a mechanism with credentials', () => {
    assert.deepEqual(problems({ KAFKA_BROKERS: 'k:9092', KAFKA_SASL_MECHANISM: 'plain' }), [
      '  KAFKA_USERNAME: required with KAFKA_SASL_MECHANISM',
      '  KAFKA_PASSWORD: required with KAFKA_SASL_MECHANISM',
    ]);
    assert.deepEqual(problems({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_USERNAME: 'chat' }), [
      '  KAFKA_PASSWORD: required with KAFKA_SASL_MECHANISM',
    ]);
    assert.deepEqual(problems({ KAFKA_BROKERS: 'k:9092', KAFKA_USERNAME: 'chat', KAFKA_PASSWORD: 'x' }), [
      '  KAFKA_SASL_MECHANISM: required with KAFKA_USERNAME and KAFKA_PASSWORD (plain, scram-sha-256 or scram-sha-512)',
    ]);
  });

  it('always asks for both Cassandra credentials', () => {
    assert.deepEqual(problems({ CASSANDRA_USERNAME: 'chat' }), [
      '  CASSANDRA_PASSWORD: required with CASSANDRA_USERNAME',
    ]);
    assert.deepEqual(problems({ CASSANDRA_PASSWORD: 'x' }), ['  CASSANDRA_USERNAME: required with CASSANDRA_PASSWORD']);
  });

  it('reports CA files that cannot be read, or that TLS is off for', () => {
    assert.deepEqual(problems({ ...SECURE, KAFKA_CA_FILE: missing, CASSANDRA_TLS: 'off' }), [
      `  KAFKA_CA_FILE: cannot read ${missing}`,
      '  CASSANDRA_CA_FILE: only used with CASSANDRA_TLS=on',
    ]);
    assert.deepEqual(
      problems({
        ...SECURE,
        DATABASE_URL: `postgresql://chat:pw@db/chat?sslmode=verify-full&sslrootcert=${encodeURIComponent(missing)}`,
      }),
      [`  DATABASE_URL: cannot read the sslrootcert file ${missing}`],
    );
  });

  it('reports URLs of the wrong kind', () => {
    assert.deepEqual(problems({ DATABASE_URL: 'mysql://chat:pw@db/chat', REDIS_URL: 'memcached://cache:11211' }), [
      '  DATABASE_URL: must be a postgresql:// URL',
      '  REDIS_URL: must be a redis:// URL (rediss:// for TLS)',
    ]);
  });

  it('never quotes a secret', () => {
    const everything = [
      ...problems({
        ...SECURE,
        NODE_ENV: 'production',
        KAFKA_USERNAME: '',
        CASSANDRA_USERNAME: '',
        KAFKA_CA_FILE: missing,
      }),
      ...problems({
        ...OPEN,
        NODE_ENV: 'production',
        DATABASE_URL: 'mysql://chat:pg-secret@db/chat',
        REDIS_URL: 'memcached://:redis-secret@c:1',
      }),
    ].join('\n');
    assert.ok(everything.length > 0);
    for (const secret of ['pg-secret', 'redis-secret', 'kafka-secret', 'cassandra-secret'])
      assert.ok(!everything.includes(secret), secret);
  });
});

describe('redactUrl', () => {
  it('masks the password and keeps the rest', () => {
    assert.equal(
      redactUrl('postgresql://chat:s%40cret@db:5432/chat?sslmode=require'),
      'postgresql://chat:***@db:5432/chat?sslmode=require',
    );
    assert.equal(redactUrl('redis://:secret@cache:6379/2'), 'redis://:***@cache:6379/2');
    assert.equal(redactUrl('redis://cache:6379'), 'redis://cache:6379');
    assert.equal(redactUrl('not a url with secret'), '(an invalid URL)');
  });
});
