import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientMessageId, readStepText, stepText } from './protocol.ts';
import { senderCount, sendPathSettings } from './settings.ts';
import { account } from './verify.ts';

describe('send-path scenario helpers', () => {
  it('reads back the step and scheduled send time a message carries, and nothing else', () => {
    assert.deepEqual(readStepText(stepText(12, 345, 1_764_000_000_123.4568)), {
      step: 12,
      sentAt: 1_764_000_000_123.457,
    });
    assert.equal(readStepText('Hi Bob!'), undefined);
    assert.equal(readStepText('sp:1:2:3:4'), undefined);
    assert.match(clientMessageId('kc', 12, 345), /^[A-Za-z0-9._:-]{1,64}$/);
  });

  it('counts lost and duplicated messages by ID, ignoring what was never acknowledged', () => {
    const result = account(['1', '2', '3', '4'], ['1', '2', '2', '4', '9'], ['1', '2', '3', '9', '9']);
    assert.deepEqual(result, {
      acknowledged: 4,
      notDelivered: 1,
      notStored: 1,
      lost: 2,
      duplicatedDeliveries: 1,
      duplicatedInHistory: 1,
    });
    assert.equal(account(['1'], ['1'], ['1']).lost, 0);
  });

  it('sizes the population so no sender nears the per-user rate limit', () => {
    assert.equal(senderCount([100, 500]), 200);
    assert.equal(senderCount([100, 250, 500, 1000]), 400);
    assert.equal(senderCount([2001]) % 2, 0);
  });

  it('reads its settings, reporting every problem at once', () => {
    const quick = sendPathSettings(true, {});
    assert.deepEqual([quick.rates, quick.stepMs], [[100, 500], 5_000]);
    const full = sendPathSettings(false, { BENCH_SEND_PATH_RATES: '1000, 100', BENCH_SEND_PATH_SECONDS: '2.5' });
    assert.deepEqual([full.rates, full.stepMs, full.kafkaBrokers], [[100, 1000], 2_500, '127.0.0.1:9092']);
    assert.throws(
      () =>
        sendPathSettings(false, {
          BENCH_SEND_PATH_RATES: '100,x',
          BENCH_SEND_PATH_SECONDS: '0',
          BENCH_KAFKA_BROKERS: 'nohost',
        }),
      (error: Error) =>
        ['BENCH_SEND_PATH_RATES', 'BENCH_SEND_PATH_SECONDS', 'BENCH_KAFKA_BROKERS'].every((name) =>
          error.message.includes(name),
        ),
    );
  });
});
