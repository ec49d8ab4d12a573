import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSubgraphTestkit, type SubgraphTestkit, type TestUser } from '@chat/common/testing';
import { isObjectType } from 'graphql';
import { createUsersSubgraph } from './index.ts';
import { SHARED_FIELDS } from './shared-fields.ts';

/**
 * The gateway fetches SHARED_FIELDS once for every subscriber of an event:
 * each must read the same whoever asks, through the entity resolver the
 * gateway calls, whatever the relationship between the viewer and the user.
 */
describe('users fields shared among viewers', () => {
  let kit: SubgraphTestkit<ReturnType<typeof createUsersSubgraph>>;

  before(async () => {
    kit = await createSubgraphTestkit(createUsersSubgraph);
  });
  after(() => kit.close());

  it('lists only fields of the schema', () => {
    for (const coordinate of SHARED_FIELDS) {
      const [type, field] = coordinate.split('.') as [string, string];
      const object = kit.subgraph.schema.getType(type);
      assert.ok(isObjectType(object) && object.getFields()[field], coordinate);
    }
  });

  it('reads every shared field the same for the user, a stranger, a contact, a blocker and someone blocked', async () => {
    const [subject, stranger, contact, blocker, blocked] = await Promise.all(
      ['subject', 'stranger', 'contact', 'blocker', 'blocked'].map((name) => kit.seed.user(name)),
    );
    const mutate = (query: string, viewer: TestUser, other: TestUser) => kit.ok(query, { u: other.id }, viewer);
    await mutate('mutation ($u: ID!) { inviteConnection(userId: $u) { status } }', contact!, subject!);
    await mutate('mutation ($u: ID!) { acceptConnection(userId: $u) { status } }', subject!, contact!);
    await mutate('mutation ($u: ID!) { blockUser(userId: $u) { status } }', blocker!, subject!);
    await mutate('mutation ($u: ID!) { blockUser(userId: $u) { status } }', subject!, blocked!);

    const fields = SHARED_FIELDS.map((coordinate) => coordinate.split('.')[1]).join(' ');
    const query = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { ${fields} connectionStatus } } }`;
    const seen = await Promise.all(
      [subject!, stranger!, contact!, blocker!, blocked!].map(
        async (viewer) => (await kit.ok(query, { r: [{ __typename: 'User', id: subject!.id }] }, viewer))._entities[0],
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
