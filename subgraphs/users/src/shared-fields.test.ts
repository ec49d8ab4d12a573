import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { executeSubgraph, type Runtime } from '@chat/common';
import { createMemoryRuntime, seedUser, viewerOf } from '@chat/common/testing';
import { isObjectType } from 'graphql';
import { createUsersSubgraph } from './index.ts';
import { SHARED_FIELDS } from './shared-fields.ts';

/**
 * The gateway fetches SHARED_FIELDS once for every subscriber of an event:
 * each must read the same whoever asks, through the entity resolver the
 * gateway calls, whatever the relationship between the viewer and the user.
 */
describe('users fields shared among viewers', () => {
  let runtime: Runtime;
  let subgraph: ReturnType<typeof createUsersSubgraph>;

  before(async () => {
    runtime = await createMemoryRuntime();
    subgraph = createUsersSubgraph(runtime);
  });
  after(async () => {
    await subgraph.close?.();
    await runtime.close();
  });

  /** A user of the test's own, with a token (no password hashing: fast). */
  const person = (name: string) => seedUser(runtime, name);
  const run = async (query: string, variables: Record<string, unknown>, authorization: string) => {
    const result = await executeSubgraph(subgraph, {
      query,
      variables,
      viewer: await viewerOf(runtime, authorization),
    });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return JSON.parse(JSON.stringify(result.data)) as Record<string, any>;
  };

  it('lists only fields of the schema', () => {
    for (const coordinate of SHARED_FIELDS) {
      const [type, field] = coordinate.split('.') as [string, string];
      const object = subgraph.schema.getType(type);
      assert.ok(isObjectType(object) && object.getFields()[field], coordinate);
    }
  });

  it('reads every shared field the same for the user, a stranger, a contact, a blocker and someone blocked', async () => {
    const [subject, stranger, contact, blocker, blocked] = await Promise.all(
      ['subject', 'stranger', 'contact', 'blocker', 'blocked'].map(person),
    );
    const mutate = (query: string, viewer: { auth: string }, other: { id: string }) =>
      run(query, { u: other.id }, viewer.auth);
    await mutate('mutation ($u: ID!) { inviteConnection(userId: $u) { status } }', contact!, subject!);
    await mutate('mutation ($u: ID!) { acceptConnection(userId: $u) { status } }', subject!, contact!);
    await mutate('mutation ($u: ID!) { blockUser(userId: $u) { status } }', blocker!, subject!);
    await mutate('mutation ($u: ID!) { blockUser(userId: $u) { status } }', subject!, blocked!);

    const fields = SHARED_FIELDS.map((coordinate) => coordinate.split('.')[1]).join(' ');
    const query = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { ${fields} connectionStatus } } }`;
    const seen = await Promise.all(
      [subject!, stranger!, contact!, blocker!, blocked!].map(
        async (viewer) =>
          (await run(query, { r: [{ __typename: 'User', id: subject!.id }] }, viewer.auth))._entities[0],
      ),
    );
    const { connectionStatus: _, ...expected } = seen[0];
    assert.equal(expected.displayName, 'subject');
    for (const entity of seen) {
      const { connectionStatus, ...shared } = entity;
      assert.deepEqual(shared, expected);
      assert.ok(typeof connectionStatus === 'string');
    }
    // The unshared field does differ: the comparison above is not vacuous.
    assert.deepEqual(new Set(seen.map((entity) => entity.connectionStatus)).size > 1, true);
  });
});
