/**
 * Permissions of the users subgraph, and the shared layer itself
 * (common/src/permissions.ts) on a schema of its own: a field without a rule
 * is denied, resolvers' errors pass through unchanged, a failing rule is not
 * mistaken for a refusal, and a subscription is checked when it opens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  allow,
  applyPermissions,
  badInput,
  buildFederatedSchema,
  executeSubgraph,
  isAuthenticated,
  permissionRule,
  subscribeSubgraph,
  unauthenticated,
  type BaseContext,
  type Subgraph,
  type Viewer,
} from '@chat/common';
import {
  codeOf,
  createSubgraphTestkit,
  describePermissionCoverage,
  plain,
  type SubgraphTestkit,
} from '@chat/common/testing';
import { parse, type GraphQLSchema } from 'graphql';
import { createUsersSubgraph, typeDefs } from './index.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';

describe('users permissions', () => {
  let kit: SubgraphTestkit<ReturnType<typeof createUsersSubgraph>>;
  const run = (query: string, variables: Record<string, unknown> = {}, viewer: Viewer | null = null) =>
    kit.run(query, variables, viewer);

  before(async () => {
    kit = await createSubgraphTestkit(createUsersSubgraph);
  });
  after(() => kit.close());

  describePermissionCoverage({
    typeDefs,
    resolvers,
    permissions,
    anonymous: ['Mutation.login', 'Mutation.refreshToken', 'Mutation.register', 'Query._service'],
  });

  it('refuses an anonymous caller on protected root fields with UNAUTHENTICATED, `me` included', async () => {
    const me = await run('{ me { id } }');
    assert.deepEqual(plain(me), {
      errors: [
        {
          message: 'You must be logged in.',
          locations: [{ line: 1, column: 3 }],
          path: ['me'],
          extensions: { code: 'UNAUTHENTICATED' },
        },
      ],
      data: { me: null },
    });
    assert.equal(codeOf(await run('{ users { edges { cursor } } }')), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run('{ sessions { id } }')), 'UNAUTHENTICATED');
    assert.equal(
      codeOf(await run('mutation { updateProfile(input: { version: 1, displayName: "X" }) { id } }')),
      'UNAUTHENTICATED',
    );
    assert.equal(codeOf(await run('mutation { logout }')), 'UNAUTHENTICATED');
    const entities = await run('query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }', {
      r: [{ __typename: 'User', id: '1' }],
    });
    assert.deepEqual([codeOf(entities), entities.data], ['UNAUTHENTICATED', null]);
    const stream = await kit.subscribe('subscription { connectionChanged { status } }');
    assert.ok(!(Symbol.asyncIterator in stream), 'the subscription is refused when it opens');
    assert.equal(codeOf(stream), 'UNAUTHENTICATED');
  });

  it('lets an anonymous caller register and log in, and passes their own errors through unchanged', async () => {
    const input = { username: 'perm_ann', password: 'correct horse battery', displayName: 'Ann' };
    const registered = await run(
      'mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id username } } }',
      { input },
    );
    assert.equal(registered.errors, undefined, JSON.stringify(registered.errors));
    const { accessToken, user } = (
      plain(registered.data) as { register: { accessToken: string; user: { id: string; username: string } } }
    ).register;
    assert.equal(user.username, 'perm_ann');

    const invalid = await run(
      'mutation { register(input: { username: "x", password: "short", displayName: "Ann" }) { accessToken } }',
    );
    assert.equal(codeOf(invalid), 'BAD_USER_INPUT');
    assert.deepEqual(
      (invalid.errors?.[0]?.extensions.issues as { path: string }[]).map((issue) => issue.path),
      ['username', 'password'],
    );
    const wrong = await run(
      'mutation { login(input: { username: "perm_ann", password: "not the password" }) { accessToken } }',
    );
    assert.deepEqual(plain(wrong.errors), [
      {
        message: 'Invalid username or password.',
        locations: [{ line: 1, column: 12 }],
        path: ['login'],
        extensions: { code: 'UNAUTHENTICATED' },
      },
    ]);

    // The same viewer, logged in, reaches what the anonymous caller could not.
    const me = await run('{ me { id username } }', {}, await kit.viewer(`Bearer ${accessToken}`));
    assert.deepEqual(plain(me), { data: { me: user } });
  });
});

describe('applyPermissions (common/src/permissions.ts)', () => {
  const sdl = `
    type Query { ruled: String, unruled: String, failing: String, crashing: String, guardedByBrokenRule: String }
    type Subscription { ticks: Int }
  `;
  let subscribeCalls = 0;
  let ruleCalls = 0;
  const tinyResolvers = {
    Query: {
      ruled: () => 'yes',
      unruled: () => 'never seen',
      failing: () => {
        throw badInput('Nope.', { argument: 'x' });
      },
      crashing: () => {
        throw new Error('a bug');
      },
      guardedByBrokenRule: () => 'never seen',
    },
    Subscription: {
      ticks: {
        subscribe: async function* () {
          subscribeCalls += 1;
          for (let tick = 1; tick <= 3; tick += 1) yield { tick };
        },
        resolve: (event: { tick: number }) => event.tick * 10,
      },
    },
  };
  /** isAuthenticated, counting its evaluations. */
  const countedAuthentication = permissionRule<BaseContext>(
    'test.countedAuthentication',
    'no_cache',
    (_parent, _args, { viewer }) => {
      ruleCalls += 1;
      return viewer ? true : unauthenticated();
    },
  );
  const rules = {
    Query: {
      ruled: allow,
      failing: allow,
      crashing: allow,
      guardedByBrokenRule: permissionRule('test.broken', 'no_cache', () => {
        throw new Error('the membership store is down');
      }),
      _service: allow,
    },
    Subscription: { ticks: isAuthenticated },
    _Service: { sdl: allow },
  };
  let unguarded: GraphQLSchema;
  let tiny: Subgraph;
  const viewer: Viewer = { id: '1', username: 'ann', sessionId: '1' };

  before(() => {
    unguarded = buildFederatedSchema(parse(sdl), tinyResolvers);
    // The name only keys the host's document cache, and these queries are the tiny schema's own.
    tiny = {
      name: 'users',
      schema: applyPermissions(unguarded, rules),
      createContext: async (forwarded) => ({ viewer: forwarded }),
    };
  });

  const run = (query: string, as: Viewer | null = viewer) => executeSubgraph(tiny, { query, viewer: as });

  it('denies a field that has no rule with FORBIDDEN, and runs the others', async () => {
    assert.deepEqual(plain(await run('{ ruled unruled }')), {
      errors: [
        {
          message: 'No permission rule allows Query.unruled.',
          locations: [{ line: 1, column: 9 }],
          path: ['unruled'],
          extensions: { code: 'FORBIDDEN' },
        },
      ],
      data: { ruled: 'yes', unruled: null },
    });
  });

  it("passes a resolver's coded error through unchanged, and leaves masking an unexpected one to the host", async () => {
    const guarded = await run('{ failing }');
    assert.deepEqual(plain(guarded), {
      errors: [
        {
          message: 'Nope.',
          locations: [{ line: 1, column: 3 }],
          path: ['failing'],
          extensions: { argument: 'x', code: 'BAD_USER_INPUT' },
        },
      ],
      data: { failing: null },
    });
    const bare = await executeSubgraph({ ...tiny, schema: unguarded }, { query: '{ failing }', viewer });
    assert.deepEqual(plain(guarded), plain(bare), 'as without permissions');
    assert.equal(codeOf(await run('{ crashing }')), 'INTERNAL_SERVER_ERROR');
  });

  it('reports a rule that fails as INTERNAL_SERVER_ERROR, not as a refusal', async () => {
    const result = await run('{ guardedByBrokenRule }');
    assert.deepEqual(plain(result.errors), [
      { message: 'Unexpected error.', path: ['guardedByBrokenRule'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ]);
  });

  it('checks a subscription once, when it opens, and maps its events as before', async () => {
    const refused = await subscribeSubgraph(tiny, { query: 'subscription { ticks }', viewer: null });
    assert.ok(!(Symbol.asyncIterator in refused));
    assert.equal(codeOf(refused), 'UNAUTHENTICATED');
    assert.equal(subscribeCalls, 0, 'the source stream is never opened for a refused caller');

    const stream = await subscribeSubgraph(tiny, { query: 'subscription { ticks }', viewer });
    assert.ok(Symbol.asyncIterator in stream);
    const events: unknown[] = [];
    for await (const event of stream) events.push(plain(event));
    assert.deepEqual(events, [{ data: { ticks: 10 } }, { data: { ticks: 20 } }, { data: { ticks: 30 } }]);
    assert.equal(subscribeCalls, 1);
  });

  it('evaluates a subscription rule when it opens, not per event', async () => {
    ruleCalls = 0;
    const counted: Subgraph = {
      ...tiny,
      schema: applyPermissions(unguarded, { ...rules, Subscription: { ticks: countedAuthentication } }),
    };
    const stream = await subscribeSubgraph(counted, { query: 'subscription { ticks }', viewer });
    assert.ok(Symbol.asyncIterator in stream);
    let events = 0;
    for await (const event of stream) {
      assert.equal(event.errors, undefined);
      events += 1;
    }
    assert.deepEqual([events, ruleCalls], [3, 1]);
  });
});
