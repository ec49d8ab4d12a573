import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMemoryRuntime, executeSubgraph, subscribeSubgraph, type Runtime } from '@chat/common';
import { createPresenceSubgraph } from './index.ts';

/** graphql-js builds results with null prototypes; compare plain JSON. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('presence subgraph (in-process)', () => {
  let runtime: Runtime;
  let subgraph: ReturnType<typeof createPresenceSubgraph>;
  let auth: string;

  before(async () => {
    runtime = await createMemoryRuntime();
    subgraph = createPresenceSubgraph(runtime);
    auth = `Bearer ${await runtime.tokens.issueAccessToken({ id: '42', username: 'ann' })}`;
  });
  after(() => runtime.close());

  it('refuses an anonymous caller', async () => {
    const result = await executeSubgraph(subgraph, { query: 'mutation { setPresence(status: ONLINE) { id } }', headers: {} });
    assert.equal(result.errors?.[0]?.extensions.code, 'UNAUTHENTICATED');
  });

  it('sets presence, reads it back through the entity resolver and announces it', async () => {
    const stream = await subscribeSubgraph(subgraph, {
      query: 'subscription { presenceChanged(userIds: ["42"]) { id presence { status } } }',
      headers: { authorization: auth },
    });
    assert.ok(Symbol.asyncIterator in stream);
    const next = stream.next();
    const set = await executeSubgraph(subgraph, {
      query: 'mutation { setPresence(status: BUSY) { id presence { status lastSeenAt } } }',
      headers: { authorization: auth },
    });
    assert.equal(set.errors, undefined);
    assert.deepEqual(plain((await next).value?.data), { presenceChanged: { id: '42', presence: { status: 'BUSY' } } });
    await stream.return?.();

    const read = await executeSubgraph(subgraph, {
      query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { presence { status } } } }',
      variables: { r: [{ __typename: 'User', id: '42' }, { __typename: 'User', id: '7' }] },
      headers: { authorization: auth },
    });
    assert.deepEqual(plain(read.data), { _entities: [{ presence: { status: 'BUSY' } }, { presence: { status: 'OFFLINE' } }] });
  });

  it('refuses a malformed user ID', async () => {
    const stream = await subscribeSubgraph(subgraph, {
      query: 'subscription { presenceChanged(userIds: ["abc"]) { id } }',
      headers: { authorization: auth },
    });
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.equal(stream.errors?.[0]?.extensions.code, 'BAD_USER_INPUT');
  });
});
