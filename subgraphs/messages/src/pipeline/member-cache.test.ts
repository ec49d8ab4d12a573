import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemberCache } from './member-cache.ts';

describe('MemberCache', () => {
  const counting = () => {
    const loads: string[] = [];
    return { loads, load: async (chatId: string) => (loads.push(chatId), [`${chatId}-a`, `${chatId}-b`]) };
  };

  it('loads a chat once while its entry lives, and again after the TTL', async () => {
    // Any clock but 0, which lru-cache reads as "no start time".
    let now = 1_000;
    const { loads, load } = counting();
    const cache = new MemberCache({ load, ttlMs: 100, now: () => now });
    assert.deepEqual(await cache.memberIds('1'), ['1-a', '1-b']);
    await cache.memberIds('1');
    assert.deepEqual(loads, ['1']);
    now = 1_150;
    await cache.memberIds('1');
    assert.deepEqual(loads, ['1', '1']);
    assert.equal(cache.hits, 1);
  });

  it('drops the least recently used entry beyond its bound', async () => {
    const { loads, load } = counting();
    const cache = new MemberCache({ load, maxEntries: 2 });
    await cache.memberIds('1');
    await cache.memberIds('2');
    await cache.memberIds('1'); // 1 is now the most recent
    await cache.memberIds('3'); // evicts 2
    assert.equal(cache.size, 2);
    await cache.memberIds('1');
    await cache.memberIds('2');
    assert.deepEqual(loads, ['1', '2', '3', '2']);
  });

  it('forgets a chat when told its membership changed, and a failed load', async () => {
    const { loads, load } = counting();
    const cache = new MemberCache({ load });
    await cache.memberIds('1');
    cache.invalidate('1');
    await cache.memberIds('1');
    assert.deepEqual(loads, ['1', '1']);
    const failing = new MemberCache({ load: async () => Promise.reject(new Error('db down')) });
    await assert.rejects(failing.memberIds('9'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(failing.size, 0);
  });
});
