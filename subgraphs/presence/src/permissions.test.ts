/**
 * Permissions of the presence subgraph: a rule for every field, a logged-in
 * viewer for every root field (the subscription refused when it opens), and
 * PresenceService's own refusals passed through unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { allow, buildFederatedSchema, createMemoryRuntime, executeSubgraph, openTestSession, permissionGaps, subscribeSubgraph, viewerOf, type Runtime, type Viewer } from '@chat/common';
import type { ExecutionResult } from 'graphql';
import { createPresenceSubgraph, typeDefs, type PresenceSubgraph } from './index.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';

/** graphql-js builds results with null prototypes; compare plain JSON. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
const codeOf = (result: ExecutionResult) => result.errors?.[0]?.extensions.code;

describe('presence permissions', () => {
  let runtime: Runtime;
  let subgraph: PresenceSubgraph;
  const viewers: Record<'ann' | 'eve', Viewer | null> = { ann: null, eve: null };
  const ids = { ann: '401', eve: '402' } as const;

  const run = (query: string, variables: Record<string, unknown> = {}, as: keyof typeof viewers | null = null) =>
    executeSubgraph(subgraph, { query, variables, viewer: as ? viewers[as] : null });

  before(async () => {
    runtime = await createMemoryRuntime();
    // A sweep interval longer than the tests: the sweeper never runs here.
    subgraph = createPresenceSubgraph(runtime, { sweepMs: 3_600_000 });
    for (const [username, id] of Object.entries(ids) as [keyof typeof ids, string][]) {
      await runtime.db.prisma.user.create({ data: { id: BigInt(id), username, displayName: username, passwordHash: 'x' } });
      viewers[username] = await viewerOf(runtime, await openTestSession(runtime, { id, username }));
    }
  });
  after(async () => {
    await subgraph.close();
    await runtime.close();
  });

  it('names a rule for every field of every object type, and none for a field that does not exist', () => {
    assert.deepEqual(permissionGaps(buildFederatedSchema(typeDefs, resolvers), permissions), { withoutRule: [], withoutField: [] });
  });

  it('allows no root field to anonymous callers but the SDL', () => {
    const allowed = ['Query', 'Mutation', 'Subscription'].flatMap((root) =>
      Object.entries(permissions[root] ?? {}).flatMap(([field, rule]) => (rule === allow ? [`${root}.${field}`] : [])),
    );
    assert.deepEqual(allowed, ['Query._service']);
  });

  it('refuses an anonymous caller with UNAUTHENTICATED, the subscription when it opens', async () => {
    assert.equal(codeOf(await run('mutation { setPresence(status: BUSY) { id } }')), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run('mutation { presenceHeartbeat(deviceId: "phone") { status } }')), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run('mutation { presenceSignOff(deviceId: "phone") { status } }')), 'UNAUTHENTICATED');
    const entities = await run('query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { presence { status } } } }', { r: [{ __typename: 'User', id: ids.ann }] });
    assert.deepEqual([codeOf(entities), entities.data], ['UNAUTHENTICATED', null]);
    const stream = await subscribeSubgraph(subgraph, { query: 'subscription { presenceChanged { id } }', viewer: null });
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.equal(codeOf(stream), 'UNAUTHENTICATED');
  });

  it("passes PresenceService's own errors through unchanged, and lets a viewer through", async () => {
    assert.deepEqual(plain(await run('mutation { presenceHeartbeat(deviceId: "phone") { status } }', {}, 'ann')), { data: { presenceHeartbeat: { status: 'ONLINE' } } });
    assert.equal(codeOf(await run('mutation { presenceHeartbeat(deviceId: "no spaces allowed") { status } }', {}, 'ann')), 'BAD_USER_INPUT');

    const hidden = await run('query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id presence { status } } } }', { r: [{ __typename: 'User', id: ids.ann }] }, 'eve');
    assert.deepEqual(plain(hidden.data), { _entities: [{ id: ids.ann, presence: null }] });
    const refusal = {
      message: 'Only the user, those who share a chat with them and their connections may see their presence.',
      extensions: { code: 'FORBIDDEN' },
    };
    assert.deepEqual(plain({ message: hidden.errors?.[0]?.message, extensions: hidden.errors?.[0]?.extensions }), refusal);

    const stream = await subscribeSubgraph(subgraph, { query: 'subscription ($ids: [ID!]) { presenceChanged(userIds: $ids) { id } }', variables: { ids: [ids.ann] }, viewer: viewers.eve });
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.deepEqual(plain({ message: stream.errors?.[0]?.message, extensions: stream.errors?.[0]?.extensions }), refusal);
  });
});
