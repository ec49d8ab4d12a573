/**
 * Permissions of the presence subgraph: a rule for every field, a logged-in
 * viewer for every root field (the subscription refused when it opens), and
 * PresenceService's own refusals passed through unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  codeOf,
  createSubgraphTestkit,
  describePermissionCoverage,
  plain,
  type SubgraphTestkit,
  type TestUser,
} from '@chat/common/testing';
import { createPresenceSubgraph, typeDefs, type PresenceSubgraph } from './index.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';

describe('presence permissions', () => {
  let kit: SubgraphTestkit<PresenceSubgraph>;
  let users: Record<'ann' | 'eve', TestUser>;
  const ids = { ann: '401', eve: '402' } as const;

  const run = (query: string, variables: Record<string, unknown> = {}, as: keyof typeof users | null = null) =>
    kit.run(query, variables, as && users[as]);

  before(async () => {
    // A sweep interval longer than the tests: the sweeper never runs here.
    kit = await createSubgraphTestkit((runtime) => createPresenceSubgraph(runtime, { sweepMs: 3_600_000 }));
    users = await kit.seed.users(ids);
  });
  after(() => kit.close());

  describePermissionCoverage({ typeDefs, resolvers, permissions, anonymous: ['Query._service'] });

  it('refuses an anonymous caller with UNAUTHENTICATED, the subscription when it opens', async () => {
    assert.equal(codeOf(await run('mutation { setPresence(status: BUSY) { id } }')), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run('mutation { presenceHeartbeat(deviceId: "phone") { status } }')), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run('mutation { presenceSignOff(deviceId: "phone") { status } }')), 'UNAUTHENTICATED');
    const entities = await run(
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { presence { status } } } }',
      { r: [{ __typename: 'User', id: ids.ann }] },
    );
    assert.deepEqual([codeOf(entities), entities.data], ['UNAUTHENTICATED', null]);
    const stream = await kit.subscribe('subscription { presenceChanged { id } }');
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.equal(codeOf(stream), 'UNAUTHENTICATED');
  });

  it("passes PresenceService's own errors through unchanged, and lets a viewer through", async () => {
    assert.deepEqual(plain(await run('mutation { presenceHeartbeat(deviceId: "phone") { status } }', {}, 'ann')), {
      data: { presenceHeartbeat: { status: 'ONLINE' } },
    });
    assert.equal(
      codeOf(await run('mutation { presenceHeartbeat(deviceId: "no spaces allowed") { status } }', {}, 'ann')),
      'BAD_USER_INPUT',
    );

    const hidden = await run(
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id presence { status } } } }',
      { r: [{ __typename: 'User', id: ids.ann }] },
      'eve',
    );
    assert.deepEqual(plain(hidden.data), { _entities: [{ id: ids.ann, presence: null }] });
    const refusal = {
      message: 'Only the user, those who share a chat with them and their connections may see their presence.',
      extensions: { code: 'FORBIDDEN' },
    };
    assert.deepEqual(
      plain({ message: hidden.errors?.[0]?.message, extensions: hidden.errors?.[0]?.extensions }),
      refusal,
    );

    const stream = await kit.subscribe(
      'subscription ($ids: [ID!]) { presenceChanged(userIds: $ids) { id } }',
      { ids: [ids.ann] },
      users.eve,
    );
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.deepEqual(
      plain({ message: stream.errors?.[0]?.message, extensions: stream.errors?.[0]?.extensions }),
      refusal,
    );
  });
});
