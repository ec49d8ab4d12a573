import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@chat/common/config';
import { SecurityModel } from '../env.ts';
import { COUNTING_DEFAULTS } from './config.ts';

const loadLimits = (env: Record<string, string>) => loadConfig({ security: SecurityModel }, env);
const limitsFor = (env: Record<string, string>) => loadLimits(env).security;

describe('security limits from the environment', () => {
  it('applies the production defaults when nothing is set, in production and development', () => {
    for (const NODE_ENV of ['production', 'development']) {
      const limits = limitsFor({ NODE_ENV });
      assert.deepEqual(limits.rates.general, COUNTING_DEFAULTS.RATE_LIMIT_GENERAL);
      assert.deepEqual(limits.rates.loginPerIp, { max: 20, windowMs: 300_000 });
      assert.deepEqual(limits.rates.loginPerUsername, { max: 10, windowMs: 300_000 });
      assert.deepEqual(limits.rates.registerPerIp, { max: 10, windowMs: 3_600_000 });
      assert.equal(limits.ws.maxConnectionsPerUser, 10);
      assert.equal(limits.ws.maxConnectionsPerIp, 100);
      assert.equal(limits.ws.maxSubscriptionsPerConnection, 50);
      assert.deepEqual(limits.ws.subscribeRate, { max: 100, windowMs: 60_000 });
      assert.deepEqual(limits.document, { maxDepth: 10, maxCost: 50_000, maxAliases: 15, maxTokens: 1_000 });
      assert.deepEqual(
        [limits.ws.initTimeoutMs, limits.ws.maxMessageBytes, limits.ws.leaseMs],
        [3_000, 65_536, 60_000],
      );
      assert.equal(limits.trustProxy, 0);
      assert.equal(limits.production, NODE_ENV === 'production');
    }
  });

  it('leaves counting limits off under NODE_ENV=test unless set, and keeps the document limits', () => {
    const limits = limitsFor({ NODE_ENV: 'test', RATE_LIMIT_LOGIN_PER_IP: '3/10s', WS_MAX_CONNECTIONS_PER_USER: '2' });
    assert.deepEqual(limits.rates, {
      general: undefined,
      loginPerIp: { max: 3, windowMs: 10_000 },
      loginPerUsername: undefined,
      registerPerIp: undefined,
      refreshTokenPerIp: undefined,
      confirmCodePerIp: undefined,
    });
    assert.equal(limits.ws.maxConnectionsPerUser, 2);
    assert.equal(limits.ws.maxConnectionsPerIp, undefined);
    assert.equal(limits.document.maxDepth, 10);
  });

  it('turns a limit off with "off", and reads windows in s, m and h', () => {
    const limits = limitsFor({
      NODE_ENV: 'production',
      RATE_LIMIT_GENERAL: 'off',
      WS_MAX_CONNECTIONS_PER_IP: 'off',
      RATE_LIMIT_REGISTER_PER_IP: '5/2h',
      WS_SUBSCRIBE_RATE: '7/30s',
    });
    assert.equal(limits.rates.general, undefined);
    assert.equal(limits.ws.maxConnectionsPerIp, undefined);
    assert.deepEqual(limits.rates.registerPerIp, { max: 5, windowMs: 7_200_000 });
    assert.deepEqual(limits.ws.subscribeRate, { max: 7, windowMs: 30_000 });
  });

  it('refuses malformed limits, naming each', () => {
    assert.throws(
      () =>
        loadLimits({
          RATE_LIMIT_GENERAL: '300 per minute',
          RATE_LIMIT_LOGIN_PER_IP: '0/1m',
          WS_MAX_CONNECTIONS_PER_USER: '-1',
          TRUST_PROXY: 'yes',
        }),
      (error: unknown) =>
        error instanceof ConfigError &&
        ['RATE_LIMIT_GENERAL', 'RATE_LIMIT_LOGIN_PER_IP', 'WS_MAX_CONNECTIONS_PER_USER', 'TRUST_PROXY'].every((name) =>
          error.message.includes(name),
        ),
    );
  });
});
