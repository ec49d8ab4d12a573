/**
 * Every Redis client of the product (pub/sub, entity cache, rate limits)
 * authenticates with the credentials in the Redis URL, against a Redis of the
 * test's own that requires a password. The cache and the rate limiter
 * degrade silently when Redis refuses them, so each is checked for an answer
 * only Redis could give.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createEventBus, RedisEntityCache, RedisRateLimiter } from '@chat/common';
import { Redis } from 'ioredis';
import { startRedis } from '../kit/launcher.ts';

describe('Redis clients on a password-protected Redis', () => {
  const password = randomBytes(18).toString('base64url');
  let redis: Awaited<ReturnType<typeof startRedis>>;

  before(async () => {
    redis = await startRedis({ password });
  });
  after(() => redis?.stop());

  it('the server refuses a client without the password', async () => {
    const open = new Redis(redis.url.replace(`:${password}@`, ''), {
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
    });
    try {
      await open.connect();
      await assert.rejects(open.get('x'), /NOAUTH/);
    } finally {
      open.disconnect();
    }
  });

  it('pub/sub delivers an event', async () => {
    const bus = createEventBus(redis.url);
    try {
      const received = new Promise((resolve) => void bus.pubsub.subscribe('secure.topic', resolve, {}));
      // Subscribed once Redis confirmed it: publish until the event arrives.
      let event: unknown;
      for (let attempt = 0; attempt < 50 && event === undefined; attempt++) {
        await bus.pubsub.publish('secure.topic', { n: attempt });
        event = await Promise.race([received, new Promise((resolve) => setTimeout(resolve, 100))]);
      }
      assert.ok(event && typeof event === 'object' && 'n' in event);
    } finally {
      await bus.close();
    }
  });

  it('the entity cache serves what it stored', async () => {
    const cache = new RedisEntityCache(redis.url);
    try {
      // Reads give up after 250 ms and count as misses: wait for a generation Redis answered.
      let generation: string | undefined;
      for (let attempt = 0; attempt < 40 && generation === undefined; attempt++)
        generation = (await cache.read('secure', ['a'])).generations.get('a');
      assert.equal(generation, '0');
      await cache.fill('secure', [{ id: 'a', value: 'A', generation }]);
      assert.deepEqual([...(await cache.read<string>('secure', ['a'])).hits], [['a', 'A']]);
    } finally {
      await cache.close();
    }
  });

  it('the rate limiter counts (an unavailable Redis would let every request through)', async () => {
    const limits = new RedisRateLimiter(redis.url);
    try {
      const key = `secure-${Date.now()}`;
      const decisions = [];
      for (let i = 0; i < 3; i++) decisions.push((await limits.hit(key, 2, 60_000)).allowed);
      assert.deepEqual(decisions, [true, true, false]);
    } finally {
      await limits.close();
    }
  });
});
