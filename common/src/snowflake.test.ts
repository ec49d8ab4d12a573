import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EPOCH_MS, parseId, Snowflake, snowflakeAt, snowflakeTime } from './snowflake.ts';

describe('Snowflake', () => {
  it('encodes time, worker and sequence, and orders by time', () => {
    let now = EPOCH_MS + 1_000;
    const ids = new Snowflake({ worker: 5, now: () => now });
    const a = ids.next();
    now += 1;
    const b = ids.next();
    assert.ok(b > a);
    assert.equal(snowflakeTime(a).getTime(), EPOCH_MS + 1_000);
    assert.equal((a >> 12n) & 1023n, 5n);
    assert.ok(snowflakeAt(new Date(EPOCH_MS + 1_000)) <= a);
    assert.ok(snowflakeAt(new Date(EPOCH_MS + 1_001)) > a);
  });

  it('stays unique and strictly increasing under load, across sequence overflow', () => {
    const now = EPOCH_MS + 42; // a frozen clock forces every ID through the sequence path
    const ids = new Snowflake({ worker: 1, now: () => now });
    let previous = -1n;
    const seen = new Set<bigint>();
    for (let i = 0; i < 200_000; i++) {
      const id = ids.next();
      assert.ok(id > previous, `id ${i} did not increase`);
      previous = id;
      seen.add(id);
    }
    assert.equal(seen.size, 200_000);
  });

  it('never goes backwards when the clock does', () => {
    let now = EPOCH_MS + 10_000;
    const ids = new Snowflake({ worker: 2, now: () => now });
    const before = Array.from({ length: 10 }, () => ids.next());
    now -= 5_000; // NTP step backwards
    const after = Array.from({ length: 10_000 }, () => ids.next());
    const all = [...before, ...after];
    for (let i = 1; i < all.length; i++) assert.ok(all[i]! > all[i - 1]!);
    now += 10_000; // the clock catches up and passes: time-based IDs resume
    const later = ids.next();
    assert.ok(later > all.at(-1)!);
    assert.equal(snowflakeTime(later).getTime(), now);
  });

  it('starts after notBefore even when the clock is behind it (a restart after the clock stepped back)', () => {
    const previousRunEnded = EPOCH_MS + 50_000;
    let now = EPOCH_MS + 20_000; // the wall clock is 30 s behind the previous run
    const ids = new Snowflake({ worker: 3, now: () => now, notBefore: previousRunEnded + 1 });
    const first = ids.next();
    assert.equal(snowflakeTime(first).getTime(), previousRunEnded + 1);
    for (let i = 0; i < 10_000; i++) assert.ok(ids.next() > first);
    assert.ok(ids.lastIssuedMs > previousRunEnded);
    now = EPOCH_MS + 60_000;
    assert.equal(snowflakeTime(ids.next()).getTime(), now);
  });

  it('uses a monotonic clock by default', () => {
    const ids = new Snowflake({ worker: 4 });
    const before = Date.now();
    const time = snowflakeTime(ids.next()).getTime();
    assert.ok(Math.abs(time - before) < 1_000, `${time} vs ${before}`);
  });

  it('keeps workers apart', () => {
    const now = () => EPOCH_MS + 7;
    const a = new Snowflake({ worker: 1, now });
    const b = new Snowflake({ worker: 2, now });
    const seen = new Set<bigint>();
    for (let i = 0; i < 5_000; i++) {
      seen.add(a.next());
      seen.add(b.next());
    }
    assert.equal(seen.size, 10_000);
  });

  it('refuses a worker out of range', () => {
    assert.throws(() => new Snowflake({ worker: 1024 }), RangeError);
    assert.throws(() => new Snowflake({ worker: -1 }), RangeError);
  });

  it('parses only positive 63-bit decimal IDs', () => {
    assert.equal(parseId('123'), 123n);
    assert.equal(parseId(new Snowflake({ worker: 0 }).nextId())! > 0n, true);
    for (const bad of ['', '0', '-1', 'abc', '1e3', ' 1', '9223372036854775808', '12345678901234567890']) {
      assert.equal(parseId(bad), undefined, bad);
    }
  });
});
