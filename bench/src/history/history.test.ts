import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeCursor, snowflakeTime } from '@chat/common';
import { createdAtMs, historyDataset, messageId, messageText, senderId } from './dataset.ts';
import { cursorSeq, percentile, random } from './reader.ts';

describe('history dataset', () => {
  const data = historyDataset(1_000_000, 'test', Date.UTC(2026, 10, 26));

  it('spreads a million messages over a year, the newest just before now, IDs minted at their times', () => {
    assert.equal(Date.UTC(2026, 10, 26) - createdAtMs(data, 1_000_000), data.intervalMs);
    assert.ok(createdAtMs(data, 1) < Date.UTC(2025, 10, 27));
    for (const seq of [1, 4096, 500_000, 1_000_000])
      assert.equal(snowflakeTime(messageId(data, seq)).getTime(), createdAtMs(data, seq));
    assert.ok(messageId(data, 2) > messageId(data, 1));
  });

  it('alternates senders and writes distinct ASCII texts of 33 to 195 characters', () => {
    assert.deepEqual([senderId(data, 1), senderId(data, 2)], [data.readerId, data.otherId]);
    let [shortest, longest] = [Infinity, 0];
    for (let seq = 1; seq <= 1_000_000; seq++) {
      const { length } = messageText(seq);
      [shortest, longest] = [Math.min(shortest, length), Math.max(longest, length)];
    }
    assert.deepEqual([shortest, longest], [33, 195]);
    assert.match(messageText(123_456), /^Message 123456: [\x20-\x7e]+$/);
    assert.notEqual(messageText(1), messageText(2));
  });
});

describe('history reader helpers', () => {
  it('reads the position out of a cursor as the API encodes it', () => {
    assert.equal(cursorSeq(encodeCursor(['999950'])), 999_950);
  });

  it('takes percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile(values, 0.5), 50);
    assert.equal(percentile(values, 0.99), 99);
    assert.equal(percentile([7], 0.99), 7);
  });

  it('draws the same positions for the same seed', () => {
    const [a, b] = [random(3), random(3)];
    assert.deepEqual([a(), a(), a()], [b(), b(), b()]);
    assert.notEqual(random(4)(), random(3)());
  });
});
