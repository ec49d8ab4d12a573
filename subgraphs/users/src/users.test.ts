import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { executeSubgraph } from '@chat/common';
import { codeOf, createSubgraphTestkit, plain, type SubgraphTestkit } from '@chat/common/testing';
import type { PrismaClient } from '@chat/prisma';
import { createUsersSubgraph } from './index.ts';
import { UserStore } from './store/user-store.ts';

const REGISTER = `mutation ($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken user { id username displayName createdAt } }
}`;
const LOGIN = `mutation ($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken user { id username } }
}`;
const USERS = `query ($search: String, $first: Int, $after: String) {
  users(search: $search, first: $first, after: $after) {
    edges { cursor node { username displayName } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  user: { id: string; username: string; displayName: string; createdAt: string };
}

interface UsersPage {
  edges: { cursor: string; node: { username: string; displayName: string } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const PASSWORD = 'correct horse battery';

describe('users subgraph (in-process)', () => {
  let kit: SubgraphTestkit<ReturnType<typeof createUsersSubgraph>>;
  /** A logged-in viewer for the queries that need one (`Bearer <access token>`). */
  let auth: string;

  // Through the API, not the kit's seed: registration and its password hashing are what this file tests.
  const register = async (username: string, displayName = username, password = PASSWORD): Promise<AuthPayload> =>
    (await kit.ok<{ register: AuthPayload }>(REGISTER, { input: { username, password, displayName } })).register;

  const usersPage = async (variables: Record<string, unknown>): Promise<UsersPage> =>
    (await kit.ok<{ users: UsersPage }>(USERS, variables, auth)).users;

  const countUsers = (username: string) => kit.runtime.db.prisma.user.count({ where: { username } });

  before(async () => {
    kit = await createSubgraphTestkit(createUsersSubgraph);
    // Only needs to be someone: seeded, no password hashing.
    auth = (await kit.seed.user('viewer', { username: 'viewer', displayName: 'The Viewer' })).auth;
  });
  after(() => kit.close());

  it('registers, logs in and answers me, storing only hashes', async () => {
    const registered = await register('  Alice_1 ', '  Alice Liddell ');
    assert.equal(registered.user.username, 'alice_1');
    assert.equal(registered.user.displayName, 'Alice Liddell');
    assert.match(registered.user.id, /^[0-9]+$/);
    assert.ok(!Number.isNaN(Date.parse(registered.user.createdAt)));
    assert.match(registered.refreshToken, /^[A-Za-z0-9_-]{43}$/);
    const verified = await kit.runtime.tokens!.verifyAccessToken(registered.accessToken);
    assert.deepEqual(
      { id: verified.viewer.id, username: verified.viewer.username },
      { id: registered.user.id, username: 'alice_1' },
    );

    const loggedIn = (
      await kit.ok<{ login: AuthPayload }>(LOGIN, { input: { username: 'ALICE_1', password: PASSWORD } })
    ).login;
    assert.deepEqual(loggedIn.user, { id: registered.user.id, username: 'alice_1' });
    assert.notEqual(loggedIn.refreshToken, registered.refreshToken);

    const me = await kit.run('{ me { id username displayName createdAt } }', {}, `Bearer ${loggedIn.accessToken}`);
    assert.deepEqual(plain(me.data), { me: registered.user });
    const anonymous = await kit.run('{ me { id } }');
    assert.deepEqual([plain(anonymous.data), codeOf(anonymous)], [{ me: null }, 'UNAUTHENTICATED']);

    const stored = await kit.runtime.db.prisma.refreshToken.findMany({
      where: { session: { userId: BigInt(registered.user.id) } },
      orderBy: { id: 'asc' },
    });
    const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
    assert.deepEqual(
      stored.map((row) => row.tokenHash),
      [sha256(registered.refreshToken), sha256(loggedIn.refreshToken)],
    );
    for (const row of stored) {
      const days = (row.expiresAt.getTime() - row.createdAt.getTime()) / 86_400_000;
      assert.ok(Math.abs(days - 30) < 0.01, `expires in ${days} days`);
      assert.equal(row.usedAt, null);
    }
    // One session per login, each with its own refresh token.
    assert.equal(new Set(stored.map((row) => row.sessionId)).size, 2);
    const user = await kit.runtime.db.prisma.user.findUniqueOrThrow({ where: { username: 'alice_1' } });
    assert.match(user.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('refuses a taken username in any case, storing nothing twice', async () => {
    await register('Bob_Smith');
    const again = await kit.run(REGISTER, {
      input: { username: 'bob_SMITH', password: 'another password', displayName: 'Other Bob' },
    });
    assert.equal(again.data, null);
    assert.equal(again.errors?.length, 1);
    assert.equal(again.errors?.[0]?.message, 'That username is taken.');
    assert.deepEqual(plain(again.errors?.[0]?.extensions), { reason: 'USERNAME_TAKEN', code: 'BAD_USER_INPUT' });
    assert.equal(await countUsers('bob_smith'), 1);
    assert.equal(await kit.runtime.db.prisma.user.count({ where: { displayName: 'Other Bob' } }), 0);
  });

  it('refuses a username taken by a concurrent registration (unique index)', async () => {
    const results = await Promise.all(
      ['Racer', 'racer', 'RACER'].map((username) =>
        kit.run(REGISTER, { input: { username, password: PASSWORD, displayName: username } }),
      ),
    );
    assert.equal(results.filter((result) => !result.errors).length, 1);
    for (const result of results.filter((result) => result.errors)) {
      assert.equal(result.errors?.[0]?.extensions.reason, 'USERNAME_TAKEN');
    }
    assert.equal(await countUsers('racer'), 1);

    // The store reports the unique violation itself, whatever the check before it said.
    const store = new UserStore(kit.runtime.db.prisma, kit.runtime.cache);
    const tokensBefore = await kit.runtime.db.prisma.refreshToken.count();
    const created = await store.createWithSession(
      { id: kit.runtime.ids.next(), username: 'racer', displayName: 'Late', passwordHash: 'scrypt$15$8$1$x$y' },
      { id: kit.runtime.ids.next(), deviceName: null, userAgent: null, expiresAt: new Date() },
      { id: kit.runtime.ids.next(), tokenHash: 'f'.repeat(64), expiresAt: new Date() },
    );
    assert.deepEqual(created, { ok: false, reason: 'USERNAME_TAKEN' });
    assert.equal(await kit.runtime.db.prisma.refreshToken.count(), tokensBefore);
  });

  it('gives the same refusal for a wrong password and an unknown user', async () => {
    await register('carol');
    const wrongPassword = await kit.run(LOGIN, { input: { username: 'carol', password: 'not the password' } });
    const unknownUser = await kit.run(LOGIN, { input: { username: 'nobody_here', password: PASSWORD } });
    for (const result of [wrongPassword, unknownUser]) {
      assert.equal(result.data, null);
      assert.deepEqual(plain(result.errors), [
        {
          message: 'Invalid username or password.',
          locations: [{ line: 2, column: 3 }],
          path: ['login'],
          extensions: { code: 'UNAUTHENTICATED' },
        },
      ]);
    }
  });

  it('refuses invalid registrations, listing every problem', async () => {
    const tokensBefore = await kit.runtime.db.prisma.refreshToken.count();
    const bad = await kit.run(REGISTER, { input: { username: 'no!', password: 'short', displayName: '   ' } });
    assert.equal(codeOf(bad), 'BAD_USER_INPUT');
    const issues = bad.errors?.[0]?.extensions.issues as { path: string; message: string }[];
    assert.deepEqual([...new Set(issues.map((issue) => issue.path))].sort(), ['displayName', 'password', 'username']);
    assert.doesNotMatch(JSON.stringify(bad), /stack|at .*\.ts/);

    const cases: Record<string, unknown>[] = [
      { username: 'ab', password: PASSWORD, displayName: 'Too Short' },
      { username: 'a'.repeat(33), password: PASSWORD, displayName: 'Too Long' },
      { username: 'with space', password: PASSWORD, displayName: 'Space' },
      { username: 'ünïcode', password: PASSWORD, displayName: 'Unicode' },
      { username: 'pw_short', password: 'x'.repeat(7), displayName: 'Short' },
      { username: 'pw_long', password: 'x'.repeat(129), displayName: 'Long' },
      { username: 'dn_long', password: PASSWORD, displayName: 'x'.repeat(65) },
      { username: 'dn_ctrl', password: PASSWORD, displayName: 'Bell\u0007' },
      { username: 'dn_newline', password: PASSWORD, displayName: 'Two\nLines' },
    ];
    for (const input of cases) {
      const result = await kit.run(REGISTER, { input });
      assert.equal(codeOf(result), 'BAD_USER_INPUT', JSON.stringify(input));
      assert.equal((result.errors?.[0]?.extensions.issues as unknown[]).length, 1, JSON.stringify(result.errors));
    }
    for (const username of ['pw_short', 'pw_long', 'dn_long', 'dn_ctrl', 'dn_newline'])
      assert.equal(await countUsers(username), 0);
    assert.equal(await kit.runtime.db.prisma.refreshToken.count(), tokensBefore);

    // Boundaries are accepted.
    await register('a'.repeat(32), 'x'.repeat(64), 'p'.repeat(128));
    await register('abc', 'D', 'p'.repeat(8));
  });

  it('refuses display and device names that impersonate or hide (INVALID_TEXT), and stores names in NFC', async () => {
    const refused: [string, Record<string, unknown>][] = [
      ['dn_rlo', { displayName: 'invoice\u202Efdp.exe' }],
      ['dn_isolate', { displayName: 'Ann\u2067Bob\u2069' }],
      ['dn_zwsp', { displayName: '\u200B' }],
      ['dn_ignorable', { displayName: '\u200B\u200D\uFEFF\u3164' }],
      ['dn_surrogate', { displayName: 'Ann\uD800' }],
      ['dv_rlo', { displayName: 'Dev', deviceName: 'phone\u202E' }],
      ['dv_zwsp', { displayName: 'Dev', deviceName: '\u200B' }],
    ];
    for (const [username, fields] of refused) {
      const result = await kit.run(REGISTER, { input: { username, password: PASSWORD, ...fields } });
      assert.equal(codeOf(result), 'BAD_USER_INPUT', JSON.stringify(fields));
      assert.equal(result.errors?.[0]?.extensions.reason, 'INVALID_TEXT', JSON.stringify(result.errors));
      assert.equal(await countUsers(username), 0);
    }
    const login = await kit.run(LOGIN, { input: { username: 'viewer', password: PASSWORD, deviceName: 'x\u2066' } });
    assert.equal(login.errors?.[0]?.extensions.reason, 'INVALID_TEXT');

    // NFC before the length check: 64 decomposed characters (128 UTF-16 units) fit.
    const composed = await register('dn_nfc', 'e\u0301'.repeat(64));
    assert.equal(composed.user.displayName, '\u00E9'.repeat(64));
    const blankDevice = await kit.run(REGISTER, {
      input: { username: 'dv_blank', password: PASSWORD, displayName: 'Dev', deviceName: '  ' },
    });
    assert.equal(blankDevice.errors, undefined, JSON.stringify(blankDevice.errors));

    const update = 'mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { displayName } }';
    const renamed = await kit.run(
      update,
      { input: { version: 1, displayName: '\u2068Admin' } },
      `Bearer ${composed.accessToken}`,
    );
    assert.equal(renamed.errors?.[0]?.extensions.reason, 'INVALID_TEXT', JSON.stringify(renamed.errors));
  });

  it('refuses empty or oversized login fields', async () => {
    for (const input of [
      { username: '', password: PASSWORD },
      { username: '   ', password: PASSWORD },
      { username: 'carol', password: '' },
      { username: 'c'.repeat(33), password: PASSWORD },
      { username: 'carol', password: 'p'.repeat(129) },
    ]) {
      const result = await kit.run(LOGIN, { input });
      assert.equal(codeOf(result), 'BAD_USER_INPUT', JSON.stringify(input));
    }
  });

  it('looks a user up by ID for a viewer only', async () => {
    const dave = await register('dave', 'Dave');
    const query = 'query ($id: ID!) { user(id: $id) { id username displayName createdAt } }';
    assert.deepEqual(plain((await kit.run(query, { id: dave.user.id }, auth)).data), { user: dave.user });
    assert.deepEqual(plain((await kit.run(query, { id: '123' }, auth)).data), { user: null });
    const malformed = await kit.run(query, { id: 'abc' }, auth);
    assert.equal(codeOf(malformed), 'BAD_USER_INPUT');
    const anonymous = await kit.run(query, { id: dave.user.id });
    assert.equal(codeOf(anonymous), 'UNAUTHENTICATED');
    // A viewer whose session does not exist (the gateway checks signatures; the subgraph, sessions).
    const unknownSession = await kit.run(
      query,
      { id: dave.user.id },
      { id: dave.user.id, username: 'dave', sessionId: '42' },
    );
    assert.equal(codeOf(unknownSession), 'UNAUTHENTICATED');
    assert.equal(unknownSession.errors?.[0]?.extensions.reason, 'SESSION_ENDED');
  });

  it('searches users by username or display name, page by page', async () => {
    await register('srch_c', 'Charlie');
    await register('srch_a', 'Alpha');
    await register('zed', 'Mr SRCH Fan');
    await register('srch_b', 'Bravo');
    await register('srchxd', 'Delta');

    const first = await usersPage({ search: 'SrCh', first: 2 });
    assert.deepEqual(
      first.edges.map((edge) => edge.node.username),
      ['srch_a', 'srch_b'],
    );
    assert.equal(first.pageInfo.hasNextPage, true);
    assert.equal(first.pageInfo.endCursor, first.edges[1]?.cursor);

    const second = await usersPage({ search: 'SrCh', first: 2, after: first.pageInfo.endCursor });
    assert.deepEqual(
      second.edges.map((edge) => edge.node.username),
      ['srch_c', 'srchxd'],
    );
    assert.equal(second.pageInfo.hasNextPage, true);

    const third = await usersPage({ search: 'SrCh', first: 2, after: second.pageInfo.endCursor });
    assert.deepEqual(
      third.edges.map((edge) => edge.node),
      [{ username: 'zed', displayName: 'Mr SRCH Fan' }],
    );
    assert.deepEqual(third.pageInfo, { hasNextPage: false, endCursor: third.edges[0]?.cursor });

    // `_` is matched literally, not as a LIKE wildcard.
    const underscore = await usersPage({ search: 'srch_', first: 10 });
    assert.deepEqual(
      underscore.edges.map((edge) => edge.node.username),
      ['srch_a', 'srch_b', 'srch_c'],
    );

    const none = await usersPage({ search: 'no such user at all' });
    assert.deepEqual(none, { edges: [], pageInfo: { hasNextPage: false, endCursor: null } });

    // Two characters match the start of usernames; fewer find nobody, so no one can list every user.
    const prefix = await usersPage({ search: ' SR ', first: 10 });
    assert.deepEqual(
      prefix.edges.map((edge) => edge.node.username),
      ['srch_a', 'srch_b', 'srch_c', 'srchxd'],
    );
    for (const variables of [
      {},
      { search: null },
      { search: '' },
      { search: '   ' },
      { search: 's' },
      { search: ' z ' },
    ]) {
      assert.deepEqual(
        await usersPage(variables),
        { edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
        JSON.stringify(variables),
      );
    }
  });

  it('refuses bad search arguments and anonymous searches', async () => {
    const refusals: [Record<string, unknown>, string | undefined, string][] = [
      [{ search: 'x'.repeat(65) }, auth, 'BAD_USER_INPUT'],
      [{ first: 0 }, auth, 'BAD_USER_INPUT'],
      [{ first: 101 }, auth, 'BAD_USER_INPUT'],
      [{ after: 'not-a-cursor' }, auth, 'BAD_USER_INPUT'],
      // Well-formed, but naming no username: never reaches the database (which cannot compare a NUL).
      [{ after: Buffer.from(JSON.stringify(['\u0000'])).toString('base64url') }, auth, 'BAD_USER_INPUT'],
      [{ after: Buffer.from(JSON.stringify([''])).toString('base64url') }, auth, 'BAD_USER_INPUT'],
      [{ search: 'srch' }, undefined, 'UNAUTHENTICATED'],
    ];
    for (const [variables, authorization, code] of refusals) {
      const result = await kit.run(USERS, variables, authorization);
      assert.equal(codeOf(result), code, JSON.stringify(variables));
    }
    assert.equal((await usersPage({ search: 'q'.repeat(64) })).edges.length, 0);
  });

  it('resolves User entities in one batch, null for unknown IDs', async () => {
    const erin = await register('erin', 'Erin');
    const frank = await register('frank', 'Frank');
    const query =
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username displayName createdAt } } }';
    const representations = [
      { __typename: 'User', id: frank.user.id },
      { __typename: 'User', id: '999' },
      { __typename: 'User', id: erin.user.id },
      { __typename: 'User', id: 'garbage' },
    ];
    // A subgraph on the same database that counts the queries for users.
    const queries: string[] = [];
    const counting = kit.runtime.db.prisma.$extends({
      query: {
        user: {
          $allOperations: ({ operation, args, query }) => {
            queries.push(operation);
            return query(args);
          },
        },
      },
    }) as unknown as PrismaClient;
    const counted = createUsersSubgraph({ ...kit.runtime, db: { ...kit.runtime.db, prisma: counting } });
    const result = await executeSubgraph(counted, {
      query,
      variables: { r: representations },
      viewer: await kit.viewer(auth),
    });
    assert.deepEqual(queries, ['findMany']);
    assert.equal(result.errors, undefined);
    assert.deepEqual(plain(result.data), { _entities: [frank.user, null, erin.user, null] });

    const anonymous = await kit.run(query, { r: representations.slice(0, 1) });
    assert.equal(codeOf(anonymous), 'UNAUTHENTICATED');
  });

  it('shows groupAddPolicy to its owner only (CONNECTIONS unless changed), changed by updateProfile', async () => {
    const owner = await register('policy_owner');
    const other = await register('policy_other');
    const as = (payload: AuthPayload) => `Bearer ${payload.accessToken}`;
    const READ = 'query ($id: ID!) { user(id: $id) { groupAddPolicy version } }';
    assert.deepEqual(plain((await kit.run(READ, { id: owner.user.id }, as(owner))).data), {
      user: { groupAddPolicy: 'CONNECTIONS', version: 1 },
    });
    assert.deepEqual(plain((await kit.run(READ, { id: owner.user.id }, as(other))).data), {
      user: { groupAddPolicy: null, version: null },
    });

    const UPDATE =
      'mutation ($i: UpdateProfileInput!) { updateProfile(input: $i) { groupAddPolicy version displayName } }';
    const changed = await kit.run(UPDATE, { i: { version: 1, groupAddPolicy: 'NOBODY' } }, as(owner));
    assert.deepEqual(plain(changed), {
      data: { updateProfile: { groupAddPolicy: 'NOBODY', version: 2, displayName: 'policy_owner' } },
    });
    assert.equal(
      (await kit.runtime.db.prisma.user.findUniqueOrThrow({ where: { id: BigInt(owner.user.id) } })).groupAddPolicy,
      'NOBODY',
    );
    const stale = await kit.run(UPDATE, { i: { version: 1, groupAddPolicy: 'EVERYONE' } }, as(owner));
    assert.equal(codeOf(stale), 'CONFLICT');
    const bad = await kit.run(UPDATE, { i: { version: 2, groupAddPolicy: 'FRIENDS' } }, as(owner));
    assert.ok(bad.errors?.length, 'not a policy');
  });

  it('answers the data export entity for the viewer only, even asked directly', async () => {
    const owner = await register('export_owner');
    const other = await register('export_other');
    const ask = (userId: string) =>
      kit.run(
        'query ($r: [_Any!]!) { _entities(representations: $r) { ... on DataExport { userId profile { username email } contacts { status } } } }',
        { r: [{ __typename: 'DataExport', userId }] },
        `Bearer ${owner.accessToken}`,
      );
    const own = await ask(owner.user.id);
    assert.equal(own.errors, undefined, JSON.stringify(own.errors));
    assert.deepEqual(plain(own.data), {
      _entities: [{ userId: owner.user.id, profile: { username: 'export_owner', email: null }, contacts: [] }],
    });
    const foreign = await ask(other.user.id);
    assert.equal(codeOf(foreign), 'FORBIDDEN');
    assert.doesNotMatch(JSON.stringify(foreign.data), /export_other/);
  });
});
