import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Snowflake } from '../snowflake.ts';
import {
  SEED_LIMITS,
  snowflakeAt,
  testClientMessageId,
  testDisplayName,
  testGroupTitle,
  testPassword,
  testUsername,
  uniqueTag,
} from './factories.ts';

/** The users subgraph's rule for a stored username (its `ZRegisterInputSchema`, after lower-casing). */
const VALID_USERNAME = new RegExp(`^[a-z0-9_]{${SEED_LIMITS.usernameMin},${SEED_LIMITS.usernameMax}}$`);

describe('seed factories', () => {
  it('makes usernames the users subgraph accepts, cutting the name and never the unique part', () => {
    assert.equal(testUsername('ann', 3), 'ann_3');
    assert.equal(testUsername('Zoë-Ann', 'x1'), 'zo__ann_x1');
    assert.equal(testUsername('', 7), 'user_7');
    const long = 'a'.repeat(40);
    const [first, second] = [testUsername(long, 'tag_1'), testUsername(long, 'tag_2')];
    for (const username of [first, second, testUsername('a', 1), testUsername('n'.repeat(16), uniqueTag())])
      assert.match(username, VALID_USERNAME);
    assert.deepEqual([first.endsWith('_tag_1'), second.endsWith('_tag_2')], [true, true]);
    assert.throws(() => testUsername('ann', 'has space'), RangeError);
    assert.throws(() => testUsername('ann', 'x'.repeat(31)), RangeError);
  });

  it('tags every call apart, short enough to leave 16 characters of a name whole', () => {
    const tags = Array.from({ length: 1000 }, () => uniqueTag());
    assert.equal(new Set(tags).size, tags.length);
    for (const tag of tags) assert.match(tag, /^[a-z0-9_]{9,15}$/);
    assert.ok(testUsername('zq0123456789abcd', uniqueTag()).startsWith('zq0123456789abcd_'));
  });

  it('numbers display names and titles within the product’s lengths, keeping the number', () => {
    assert.deepEqual(
      [testDisplayName('subject'), testDisplayName('Fanout user', 7), testGroupTitle('Fan-out', 3)],
      ['subject', 'Fanout user 7', 'Fan-out 3'],
    );
    const name = testDisplayName('x'.repeat(100), 123);
    const title = testGroupTitle('y'.repeat(200), 45);
    assert.deepEqual([name.length, name.endsWith(' 123')], [SEED_LIMITS.displayNameMax, true]);
    assert.deepEqual([title.length, title.endsWith(' 45')], [SEED_LIMITS.groupTitleMax, true]);
  });

  it('derives passwords the users subgraph accepts from the username', () => {
    const password = testPassword(testUsername('ann', 1));
    assert.equal(password, 'pw-ann_1-secret');
    assert.ok(password.length >= SEED_LIMITS.passwordMin);
  });

  it('makes message keys the messages subgraph accepts, and refuses the others', () => {
    assert.equal(testClientMessageId('bench', 12), 'bench-12');
    assert.equal(testClientMessageId('fo', 4242, 7n), 'fo-4242-7');
    assert.throws(() => testClientMessageId('has space'), RangeError);
    assert.throws(() => testClientMessageId('x'.repeat(65)), RangeError);
    assert.throws(() => testClientMessageId(''), RangeError);
  });

  it('lays out a Snowflake of a given millisecond as the generator does', () => {
    const ms = Date.UTC(2026, 10, 26);
    const generator = new Snowflake({ worker: 1022, now: () => ms });
    assert.equal(snowflakeAt(ms, 1022), generator.next());
    assert.equal(snowflakeAt(ms, 1022, 1), generator.next());
  });
});
