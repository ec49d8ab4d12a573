import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, generateSecrets, parseEnv, resolveRuntimeConfig, ZRuntimeEnvSchema } from './env.ts';

const env = (values: Record<string, string>) => parseEnv(ZRuntimeEnvSchema, values);
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
    const message = problems(() => resolveRuntimeConfig(env({ NODE_ENV: 'production', DATA_DIR: dataDir() }), { issuesTokens: true }));
    for (const name of ['JWT_PRIVATE_KEYS', 'INTERNAL_TOKEN_SECRET', 'PASSWORD_PEPPER']) assert.match(message, new RegExp(`${name}: required in production`));
    // A process that issues no tokens needs only the internal key.
    const gateway = problems(() => resolveRuntimeConfig(env({ NODE_ENV: 'production', DATA_DIR: dataDir() }), { issuesTokens: false }));
    assert.match(gateway, /INTERNAL_TOKEN_SECRET/);
    assert.doesNotMatch(gateway, /PASSWORD_PEPPER|JWT_PRIVATE_KEYS/);
  });

  it('requires shared secrets with a shared database, outside production too', () => {
    const message = problems(() => resolveRuntimeConfig(env({ DATABASE_URL: 'postgresql://u:p@127.0.0.1/db', DATA_DIR: dataDir() }), { issuesTokens: true }));
    assert.match(message, /INTERNAL_TOKEN_SECRET: required with DATABASE_URL/);
  });

  it('accepts secrets from the environment, and checks their shape', () => {
    const secrets = generateSecrets();
    const config = resolveRuntimeConfig(env({ NODE_ENV: 'production', DATA_DIR: dataDir(), ...secrets }), { issuesTokens: true });
    assert.equal(config.secrets.jwtPrivateKeys?.keys.length, 1);
    assert.equal(new TextDecoder().decode(config.secrets.passwordPepper), secrets.PASSWORD_PEPPER);
    const bad = problems(() => resolveRuntimeConfig(env({ NODE_ENV: 'production', ...secrets, JWT_PRIVATE_KEYS: '{"keys":[{"kty":"oct","k":"x"}]}' }), { issuesTokens: true }));
    assert.match(bad, /JWT_PRIVATE_KEYS: every key must be a private Ed25519 JWK/);
    assert.match(problems(() => parseEnv(ZRuntimeEnvSchema, { PASSWORD_PEPPER: 'short' })), /PASSWORD_PEPPER: must be at least 32 characters/);
  });

  it('generates development secrets once per data directory, readable by the owner only', () => {
    const dir = dataDir();
    const first = resolveRuntimeConfig(env({ DATA_DIR: dir }), { issuesTokens: true });
    const second = resolveRuntimeConfig(env({ DATA_DIR: dir }), { issuesTokens: true });
    assert.deepEqual(second.secrets, first.secrets);
    assert.equal(statSync(join(dir, 'secrets.json')).mode & 0o777, 0o600);
    const other = resolveRuntimeConfig(env({ DATA_DIR: dataDir() }), { issuesTokens: true });
    assert.notDeepEqual(other.secrets.internalTokenSecret, first.secrets.internalTokenSecret);
  });
});
