/**
 * The entity cache on a real Redis, and in memory: a value read before a
 * write can neither be served nor stored after the write's invalidation,
 * whatever the interleaving; two processes see each other's invalidations.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MemoryEntityCache, RedisEntityCache, type EntityCache } from '@chat/common';
import { testRedisUrl } from '../kit/launcher.ts';

const namespace = `it${Date.now().toString(36)}`;

for (const [name, open] of [
  ['in memory', () => new MemoryEntityCache()],
  ['on Redis', () => new RedisEntityCache(testRedisUrl())],
] as const) {
  describe(`entity cache ${name}`, () => {
    const caches: EntityCache[] = [];
    const make = () => {
      const cache = open();
      caches.push(cache);
      return cache;
    };
    after(() => Promise.all(caches.map((cache) => cache.close())));

    it('serves a filled value until it is invalidated', async () => {
      const cache = make();
      const first = await cache.read<string>(namespace, ['a', 'b']);
      assert.equal(first.hits.size, 0);
      await cache.fill(namespace, [{ id: 'a', value: 'A1', generation: first.generations.get('a')! }]);
      assert.deepEqual([...(await cache.read<string>(namespace, ['a', 'b'])).hits], [['a', 'A1']]);
      await cache.invalidate(namespace, ['a']);
      assert.equal((await cache.read<string>(namespace, ['a'])).hits.size, 0);
    });

    it('refuses to store what a reader read before a write that was invalidated meanwhile', async () => {
      const cache = make();
      const before = await cache.read<string>(namespace, ['r']); // the reader sees generation g, then reads the old row...
      await cache.invalidate(namespace, ['r']); // ...a write commits and invalidates...
      await cache.fill(namespace, [{ id: 'r', value: 'old', generation: before.generations.get('r')! }]); // ...the reader's fill is refused
      assert.equal((await cache.read<string>(namespace, ['r'])).hits.size, 0);
    });

    it('never serves a value older than the last invalidation, under random interleavings', async () => {
      const cache = make();
      let committed = 0; // the "database"
      let invalidatedAt = 0; // the last write whose invalidation completed
      const reader = async () => {
        const { hits, generations } = await cache.read<number>(namespace, ['x']);
        const hit = hits.get('x');
        if (hit !== undefined)
          assert.ok(hit >= invalidatedAt, `served ${hit} after write ${invalidatedAt} was invalidated`);
        const value = committed;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
        await cache.fill(namespace, [{ id: 'x', value, generation: generations.get('x')! }]);
      };
      const writer = async () => {
        committed += 1;
        const version = committed;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
        await cache.invalidate(namespace, ['x']);
        invalidatedAt = Math.max(invalidatedAt, version);
      };
      for (let round = 0; round < 40; round++) await Promise.all([reader(), reader(), writer(), reader()]);
    });
  });
}

describe('entity cache shared by two processes (two Redis clients)', () => {
  it("sees the other one's invalidation at once", async () => {
    const a = new RedisEntityCache(testRedisUrl());
    const b = new RedisEntityCache(testRedisUrl());
    try {
      const read = await a.read<string>(namespace, ['shared']);
      await a.fill(namespace, [{ id: 'shared', value: 'v1', generation: read.generations.get('shared')! }]);
      assert.equal((await b.read<string>(namespace, ['shared'])).hits.get('shared'), 'v1');
      await b.invalidate(namespace, ['shared']);
      assert.equal((await a.read<string>(namespace, ['shared'])).hits.size, 0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
