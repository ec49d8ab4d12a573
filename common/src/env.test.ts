import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateSecrets, KafkaModel, RedisModel, runtimeModels } from './config/index.ts';
import { ConfigError, loadConfig } from './env.ts';

/** What a process reads at start: the runtime's models, `issuesTokens` where the users subgraph runs. */
const resolveRuntimeConfig = (values: Record<string, string>, { issuesTokens }: { issuesTokens: boolean }) =>
  loadConfig(runtimeModels({ issuesTokens }), values);
const problems = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail('expected a ConfigError');
};

describe('secrets at start', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat-env-'));
    dirs.push(dir);
    return dir;
  };
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('refuses to start in production without each secret, naming every one, and invents none', () => {
    const message = problems(() =>
      resolveRuntimeConfig({ NODE_ENV: 'production', DATA_DIR: dataDir() }, { issuesTokens: true }),
    );
    for (const name of ['JWT_PRIVATE_KEYS', 'INTERNAL_TOKEN_SECRET', 'PASSWORD_PEPPER'])
      assert.match(message, new RegExp(`${name}: required in production`));
    // A process that issues no tokens needs only the internal key.
    const gateway = problems(() =>
      resolveRuntimeConfig({ NODE_ENV: 'production', DATA_DIR: dataDir() }, { issuesTokens: false }),
    );
    assert.match(gateway, /INTERNAL_TOKEN_SECRET/);
    assert.doesNotMatch(gateway, /PASSWORD_PEPPER|JWT_PRIVATE_KEYS/);
  });

  it('requires shared secrets with a shared database, outside production too', () => {
    const message = problems(() =>
      resolveRuntimeConfig(
        { DATABASE_URL: 'postgresql://u:p@127.0.0.1/db', DATA_DIR: dataDir() },
        { issuesTokens: true },
      ),
    );
    assert.match(message, /INTERNAL_TOKEN_SECRET: required with DATABASE_URL/);
  });

  it('accepts secrets from the environment, and checks their shape', () => {
    const secrets = generateSecrets();
    const config = resolveRuntimeConfig(
      { NODE_ENV: 'production', DATA_DIR: dataDir(), ...secrets },
      { issuesTokens: true },
    );
    assert.equal(config.secrets.jwtPrivateKeys?.keys.length, 1);
    assert.equal(new TextDecoder().decode(config.secrets.passwordPepper), secrets.PASSWORD_PEPPER);
    const bad = problems(() =>
      resolveRuntimeConfig(
        { NODE_ENV: 'production', ...secrets, JWT_PRIVATE_KEYS: '{"keys":[{"kty":"oct","k":"x"}]}' },
        { issuesTokens: true },
      ),
    );
    assert.match(bad, /JWT_PRIVATE_KEYS: every key must be a private Ed25519 JWK/);
    assert.match(
      problems(() => resolveRuntimeConfig({ PASSWORD_PEPPER: 'short', DATA_DIR: dataDir() }, { issuesTokens: true })),
      /PASSWORD_PEPPER: must be at least 32 characters/,
    );
  });

  it('generates development secrets once per data directory, readable by the owner only', () => {
    const dir = dataDir();
    const first = resolveRuntimeConfig({ DATA_DIR: dir }, { issuesTokens: true });
    const second = resolveRuntimeConfig({ DATA_DIR: dir }, { issuesTokens: true });
    assert.deepEqual(second.secrets, first.secrets);
    assert.equal(statSync(join(dir, 'secrets.json')).mode & 0o777, 0o600);
    const other = resolveRuntimeConfig({ DATA_DIR: dataDir() }, { issuesTokens: true });
    assert.notDeepEqual(other.secrets.internalTokenSecret, first.secrets.internalTokenSecret);
  });
});

describe('a composed configuration', () => {
  it('reports every problem of every model at once: malformed values, and what only values together show', () => {
    const message = problems(() =>
      loadConfig(
        { ...runtimeModels({ issuesTokens: false }), kafka: KafkaModel },
        { NODE_ENV: 'production', PORT: 'eighty', WORKER_ID: '5000', KAFKA_BROKERS: 'k:9092', KAFKA_USERNAME: 'chat' },
      ),
    );
    for (const name of ['PORT', 'WORKER_ID', 'INTERNAL_TOKEN_SECRET', 'KAFKA_SASL_MECHANISM'])
      assert.match(message, new RegExp(`\\n  ${name}: `));
  });

  it('reads only the models it composes, into camelCase sections, null for a store that is off', () => {
    const config = loadConfig(
      { redis: RedisModel, kafka: KafkaModel },
      { REDIS_URL: 'redis://cache:6379', S3_ENDPOINT: 'not a URL', SMTP_URL: '::' },
    );
    assert.deepEqual(config.redis, { url: 'redis://cache:6379' });
    assert.equal(config.kafka, null);
    assert.equal('mail' in config, false);
    const kafka = loadConfig({ kafka: KafkaModel }, { KAFKA_BROKERS: 'k1:9092, k2:9092', KAFKA_PARTITIONS: '3' }).kafka;
    assert.deepEqual(kafka, {
      brokers: ['k1:9092', 'k2:9092'],
      topicPrefix: 'chat',
      partitions: 3,
      replicationFactor: 1,
      sasl: null,
      tls: null,
    });
  });
});
