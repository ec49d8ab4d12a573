/**
 * The secure path is the tested path: the distributed topology on a Postgres
 * that checks passwords (a login role that is not a superuser) and a Redis
 * that requires a password, both of the test's own and both over TLS
 * verified against a CA of the test's own (Postgres: `sslrootcert` in
 * DATABASE_URL; Redis: `rediss://`, the CA given as NODE_EXTRA_CA_CERTS);
 * and the same process refusing to start, with a message that names the
 * store and shows no password, when a password is wrong or missing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { Subscription, wsClient } from '../kit/client.ts';
import { runToExit, startRedis, startSecurePostgres, type SecurePostgres } from '../kit/launcher.ts';
import { directChat, registerUser, sendText } from '../kit/seed.ts';
import { startDistributed, type Distributed } from '../kit/topology.ts';

const withPassword = (url: string, password: string) => {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
};

describe('secure stores: Postgres with a password-protected role, Redis with a password, both over TLS', () => {
  const redisPassword = randomBytes(18).toString('base64url');
  let postgres: SecurePostgres;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let topology: Distributed;
  /** Every password of the deployment: none may appear in any output. */
  let secrets: string[];

  before(async () => {
    [postgres, redis] = await Promise.all([
      startSecurePostgres({ tls: true }),
      startRedis({ password: redisPassword, tls: true }),
    ]);
    secrets = [new URL(postgres.url).password, new URL(postgres.adminUrl).password, redisPassword];
    topology = await startDistributed({
      databaseUrl: postgres.url,
      redisUrl: redis.url,
      env: { NODE_EXTRA_CA_CERTS: redis.caFile! },
    });
  });
  after(async () => {
    await topology?.stop();
    await Promise.all([postgres?.stop(), redis?.stop()]);
  });

  it('the stores check credentials and require TLS: no plaintext or password-less connection to either', async () => {
    const role = new pg.Client({ connectionString: postgres.url });
    await role.connect();
    try {
      const { rows } = await role.query<{ rolsuper: boolean; ssl: boolean }>(
        'SELECT r.rolsuper, s.ssl FROM pg_roles r, pg_stat_ssl s WHERE r.rolname = current_user AND s.pid = pg_backend_pid()',
      );
      assert.deepEqual(rows, [{ rolsuper: false, ssl: true }]);
    } finally {
      await role.end();
    }
    const plaintext = new pg.Client({ connectionString: postgres.url.replace(/\?.*$/, '') });
    await assert.rejects(plaintext.connect(), /no pg_hba\.conf entry .* no encryption/);
    const anonymous = new pg.Client({ connectionString: withPassword(postgres.url, '') });
    await assert.rejects(anonymous.connect(), /password/);

    const redisClient = (url: string) =>
      new Redis(url, {
        tls: { ca: readFileSync(redis.caFile!) },
        lazyConnect: true,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
    const open = redisClient(withPassword(redis.url, ''));
    try {
      await open.connect();
      await assert.rejects(open.get('anything'), /NOAUTH/);
    } finally {
      open.disconnect();
    }
    const plaintextRedis = new Redis(redis.url.replace(/^rediss:/, 'redis:'), {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    plaintextRedis.on('error', () => {});
    try {
      await assert.rejects(plaintextRedis.connect().then(() => plaintextRedis.ping()));
    } finally {
      plaintextRedis.disconnect();
    }
  });

  it('runs the distributed topology on them: a message sent through gateway B reaches a subscriber on gateway A', async () => {
    const [ann, bob] = await Promise.all([
      registerUser(topology.gatewayB.url, 'ann'),
      registerUser(topology.gatewayB.url, 'bob'),
    ]);
    const chatId = await directChat(topology.gatewayB.url, ann, bob);
    const client = wsClient(topology.gatewayA.url, bob.token);
    const subscription = new Subscription(
      client,
      'subscription ($chatId: ID) { messageAdded(chatId: $chatId) { id text sender { displayName } } }',
      {
        chatId,
      },
    );
    try {
      // Live once a warm-up message arrives (never a sleep).
      let live = false;
      for (let n = 1; n <= 50 && !live; n++) {
        await sendText(topology.gatewayB.url, ann, chatId, `warm-up ${n}`);
        live = await subscription.waitFor(1, 300).then(
          () => true,
          () => false,
        );
      }
      assert.ok(live, 'the subscription never became live');
      const sent = await sendText(topology.gatewayB.url, ann, chatId, 'over secured stores', 'secure-1');
      const event = await subscription.waitForMatch((e: any) => e.data?.messageAdded.text === 'over secured stores');
      assert.equal(event.errors, undefined);
      assert.deepEqual(event.data!.messageAdded, {
        id: sent.id,
        text: 'over secured stores',
        sender: { displayName: ann.displayName },
      });
    } finally {
      subscription.stop();
      await client.dispose();
    }
    // Gateway A reports its stores with the passwords masked, and no process shows a password.
    assert.match(
      topology.gatewayA.output(),
      /postgres postgresql:\/\/chat:\*\*\*@127\.0\.0\.1:\d+\/chat\?sslmode=verify-full/,
    );
    assert.match(topology.gatewayA.output(), /redis pub\/sub rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
    const outputs = [topology.gatewayA, topology.gatewayB].map((process) => process.output()).join('\n');
    for (const secret of secrets) assert.ok(!outputs.includes(secret), 'a password appears in the output');
  });

  it('refuses to start with a wrong Postgres password: exits with 78, naming Postgres, showing no password', async () => {
    const wrong = randomBytes(18).toString('base64url');
    const { code, output } = await runToExit('gateway-wrong-postgres-password', 'gateway/src/main.ts', {
      ...topology.env,
      DATABASE_URL: withPassword(postgres.url, wrong),
    });
    assert.equal(code, 78, output);
    assert.match(
      output,
      /Postgres at postgresql:\/\/chat:\*\*\*@127\.0\.0\.1:\d+\/chat\?\S* refused the credentials in DATABASE_URL: password authentication failed for user "chat"/,
    );
    for (const secret of [...secrets, wrong])
      assert.ok(!output.includes(secret), `a password appears in the output:\n${output}`);
  });

  for (const [name, password] of [
    ['a wrong Redis password', randomBytes(18).toString('base64url')],
    ['no Redis password', ''],
  ] as const) {
    it(`refuses to start with ${name}: exits with 78, naming Redis, showing no password`, async () => {
      const { code, output } = await runToExit(`gateway-${name.replaceAll(' ', '-')}`, 'gateway/src/main.ts', {
        ...topology.env,
        REDIS_URL: withPassword(redis.url, password),
      });
      assert.equal(code, 78, output);
      assert.match(
        output,
        /REDIS_URL: Redis at rediss:\/\/(:\*\*\*@)?127\.0\.0\.1:\d+ refused the credentials \([a-z /]+\): (WRONGPASS|NOAUTH)/,
      );
      for (const secret of [...secrets, password].filter(Boolean))
        assert.ok(!output.includes(secret), `a password appears in the output:\n${output}`);
    });
  }

  it('in production, refuses to start with a REDIS_URL without a password, before connecting to anything', async () => {
    const { code, output } = await runToExit('gateway-production-open-redis', 'gateway/src/main.ts', {
      ...topology.env,
      NODE_ENV: 'production',
      REDIS_URL: withPassword(redis.url, ''),
    });
    assert.equal(code, 78, output);
    assert.match(output, /^Invalid configuration:$/m);
    assert.match(output, /^ {2}REDIS_URL: a password is required in production/m);
    assert.doesNotMatch(output, /^ {2}DATABASE_URL:/m, 'the Postgres URL has a password');
    for (const secret of secrets) assert.ok(!output.includes(secret), `a password appears in the output:\n${output}`);
  });
});
