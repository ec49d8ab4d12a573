import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorRegistry, reasonErrors } from './error-registry.ts';

const CODES = {
  BAD_USER_INPUT: { description: 'Bad input.', httpStatus: 200 },
  RATE_LIMITED: { description: 'Too many.', httpStatus: 429 },
};

describe('ErrorRegistry', () => {
  it("lists codes by name, each followed by its reasons, which have their code's status unless they say", () => {
    const registry = new ErrorRegistry()
      .register({ owner: 'common', codes: CODES })
      .register({ owner: 'b', reasons: { SLOW: { code: 'RATE_LIMITED', description: 'Slow.', httpStatus: 200 } } })
      .register({ owner: 'a', reasons: { TAKEN: { code: 'BAD_USER_INPUT', description: 'Taken.' } } });
    assert.deepEqual(
      registry.entries().map((entry) => [entry.code, entry.reason, entry.httpStatus, entry.owner]),
      [
        ['BAD_USER_INPUT', undefined, 200, 'common'],
        ['BAD_USER_INPUT', 'TAKEN', 200, 'a'],
        ['RATE_LIMITED', undefined, 429, 'common'],
        ['RATE_LIMITED', 'SLOW', 200, 'b'],
      ],
    );
    assert.ok(registry.hasReason('TAKEN', 'BAD_USER_INPUT'));
    assert.ok(!registry.hasReason('TAKEN', 'RATE_LIMITED'));
  });

  it('refuses a code registered twice, a malformed name, and a reason under a code nobody registers', () => {
    const registry = new ErrorRegistry().register({ owner: 'common', codes: CODES });
    const again = { owner: 'x', codes: { BAD_USER_INPUT: CODES.BAD_USER_INPUT } };
    assert.throws(() => registry.register(again), /registered by common/);
    const malformed = { owner: 'x', reasons: { 'not-snake': { code: 'BAD_USER_INPUT', description: 'x' } } };
    assert.throws(() => registry.register(malformed), /SCREAMING/);
    registry.register({ owner: 'x', reasons: { LOST: { code: 'GONE', description: 'Gone.' } } });
    assert.throws(() => registry.entries(), /GONE, which nobody registers/);
  });

  it("makes errors with the reason and the reason's code", () => {
    const refuse = reasonErrors({ TAKEN: { code: 'BAD_USER_INPUT', description: 'Taken.' } });
    const error = refuse('TAKEN', 'That name is taken.', { argument: 'name' });
    assert.equal(error.message, 'That name is taken.');
    assert.deepEqual(error.extensions, { argument: 'name', reason: 'TAKEN', code: 'BAD_USER_INPUT' });
  });
});
