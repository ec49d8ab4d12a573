/**
 * Profiles end to end through the gateway: the owner's full profile and
 * everyone else's public one, optimistic concurrency on updates (two devices
 * racing: one wins, the other gets CONFLICT and nothing of its change lands),
 * and search by name.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, gql, gqlOk } from '../kit/client.ts';
import { registerUser, type TestUser } from '../kit/seed.ts';
import { startDistributed, startEmbedded } from '../kit/topology.ts';

interface Gateways {
  /** Two gateways: the same one in the embedded mode. */
  a: string;
  b: string;
  stop(): Promise<void>;
}

const PROFILE = 'id username displayName createdAt email phone version';
/** Searches per user per 10 s in these topologies (SEARCH_RATE_LIMIT). */
const TEST_SEARCH_LIMIT = 8;
const env = { SEARCH_RATE_LIMIT: String(TEST_SEARCH_LIMIT) };

function profileSuite(name: string, start: () => Promise<Gateways>): void {
  describe(name, () => {
    let gateways: Gateways;
    let ann: TestUser;
    let bob: TestUser;

    before(async () => {
      gateways = await start();
      [ann, bob] = await Promise.all([registerUser(gateways.a, 'ann'), registerUser(gateways.a, 'bob')]);
    });
    after(() => gateways?.stop());

    const me = async (user: TestUser) => (await gqlOk<any>(gateways.a, `{ me { ${PROFILE} } }`, {}, user.token)).me;
    const update = (user: TestUser, input: Record<string, unknown>, url = gateways.a) =>
      gql<any>(
        url,
        `mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { ${PROFILE} } }`,
        { input },
        user.token,
      );

    it('shows the owner the full profile and everyone else the public one', async () => {
      const own = await me(ann);
      assert.deepEqual(
        { ...own, createdAt: typeof own.createdAt },
        {
          id: ann.id,
          username: ann.username,
          displayName: ann.displayName,
          createdAt: 'string',
          email: null,
          phone: null,
          version: 1,
        },
      );
      const seenByBob = (
        await gqlOk<any>(gateways.b, `query ($id: ID!) { user(id: $id) { ${PROFILE} } }`, { id: ann.id }, bob.token)
      ).user;
      assert.deepEqual(
        [seenByBob.username, seenByBob.displayName, seenByBob.email, seenByBob.phone, seenByBob.version],
        [ann.username, ann.displayName, null, null, null],
      );
    });

    it('updates with the current version, and refuses a stale one with CONFLICT, changing nothing', async () => {
      const { version } = await me(ann);
      const renamed = await update(ann, { version, displayName: '  Ann Smith ' });
      assert.equal(renamed.errors, undefined, JSON.stringify(renamed.errors));
      assert.deepEqual(
        [renamed.data.updateProfile.displayName, renamed.data.updateProfile.version],
        ['Ann Smith', version + 1],
      );

      const stale = await update(ann, { version, displayName: 'Stale Ann' }, gateways.b);
      assert.equal(codeOf(stale), 'CONFLICT');
      assert.deepEqual([(await me(ann)).displayName, (await me(ann)).version], ['Ann Smith', version + 1]);

      // Two devices read the same version and save at once, through different gateways: exactly one wins.
      const current = (await me(ann)).version;
      const results = await Promise.all([
        update(ann, { version: current, displayName: 'Phone Ann' }, gateways.a),
        update(ann, { version: current, displayName: 'Laptop Ann' }, gateways.b),
      ]);
      assert.deepEqual(results.map((result) => codeOf(result) ?? 'OK').sort(), ['CONFLICT', 'OK']);
      const winner = results.find((result) => !result.errors)!.data.updateProfile.displayName;
      assert.deepEqual([(await me(ann)).displayName, (await me(ann)).version], [winner, current + 1]);
      // The public profile follows at once, on the other gateway too.
      const seenByBob = (
        await gqlOk<any>(gateways.b, 'query ($id: ID!) { user(id: $id) { displayName } }', { id: ann.id }, bob.token)
      ).user;
      assert.equal(seenByBob.displayName, winner);
    });

    it('refuses invalid changes and a taken username, changing nothing', async () => {
      const before = await me(ann);
      for (const input of [
        { version: before.version },
        { version: before.version, displayName: '' },
        { version: before.version, username: 'no spaces allowed' },
        { version: before.version, displayName: 'bell\u0007' },
      ]) {
        assert.equal(codeOf(await update(ann, input)), 'BAD_USER_INPUT', JSON.stringify(input));
      }
      const taken = await update(ann, { version: before.version, username: bob.username.toUpperCase() });
      assert.equal(codeOf(taken), 'BAD_USER_INPUT');
      assert.equal(taken.errors?.[0]?.extensions?.reason, 'USERNAME_TAKEN');
      assert.equal(
        codeOf(await gql(gateways.a, 'mutation { updateProfile(input: { version: 1, displayName: "x" }) { id } }')),
        'UNAUTHENTICATED',
      );
      assert.deepEqual(await me(ann), before);

      const newName = `ann_${Date.now().toString(36)}`;
      const changed = await update(ann, { version: before.version, username: newName.toUpperCase() });
      assert.equal(changed.data.updateProfile.username, newName, 'usernames are stored in lower case');
      const login = await gql<any>(
        gateways.b,
        'mutation ($input: LoginInput!) { login(input: $input) { user { id } } }',
        { input: { username: newName, password: ann.password } },
      );
      assert.equal(login.data?.login.user.id, ann.id, 'the new username logs in');
    });

    it('searches by a substring of the name, or the first letters of the username, page by page', async () => {
      const tag = `qz${Date.now().toString(36).slice(-5)}`;
      const people = await Promise.all(Array.from({ length: 5 }, (_, n) => registerUser(gateways.a, `${tag}${n}`)));
      const search = (text: string, first: number, after?: string) =>
        gqlOk<any>(
          gateways.b,
          'query ($s: String, $first: Int, $after: String) { users(search: $s, first: $first, after: $after) { edges { node { username } } pageInfo { hasNextPage endCursor } } }',
          { s: text, first, after },
          bob.token,
        ).then((data) => data.users);
      const firstPage = await search(tag.toUpperCase(), 3);
      const secondPage = await search(tag, 3, firstPage.pageInfo.endCursor);
      const names = [...firstPage.edges, ...secondPage.edges].map((edge: any) => edge.node.username);
      assert.deepEqual(names, people.map((person) => person.username).sort());
      assert.deepEqual([firstPage.pageInfo.hasNextPage, secondPage.pageInfo.hasNextPage], [true, false]);
      const middle = await search(tag.slice(1, 5), 10); // a substring from inside the name
      assert.ok(middle.edges.length >= 5);
      const prefix = await search(tag.slice(0, 2), 100); // two letters: the start of usernames
      assert.ok(prefix.edges.every((edge: any) => edge.node.username.startsWith(tag.slice(0, 2))));
      assert.equal(
        codeOf(await gql(gateways.a, 'query { users(search: "ann") { edges { cursor } } }')),
        'UNAUTHENTICATED',
      );
      assert.equal(
        codeOf(
          await gql(
            gateways.a,
            'query ($s: String) { users(search: $s) { edges { cursor } } }',
            { s: 'x'.repeat(65) },
            bob.token,
          ),
        ),
        'BAD_USER_INPUT',
      );
    });

    it('limits searches per user, across gateways, with a retry hint', async () => {
      const [searcher, other] = await Promise.all([registerUser(gateways.a, 'sam'), registerUser(gateways.a, 'otto')]);
      const search = (user: TestUser, url: string) =>
        gql<any>(url, '{ users(search: "abc", first: 1) { edges { cursor } } }', {}, user.token);
      for (let n = 0; n < TEST_SEARCH_LIMIT; n++) {
        const answer = await search(searcher, n % 2 ? gateways.a : gateways.b);
        assert.equal(answer.errors, undefined, `search ${n + 1}: ${JSON.stringify(answer.errors)}`);
      }
      const limited = await search(searcher, gateways.a);
      assert.equal(codeOf(limited), 'RATE_LIMITED');
      const retry = limited.errors?.[0]?.extensions?.retryAfterSeconds as number;
      assert.ok(retry >= 1 && retry <= 10, `retryAfterSeconds ${retry}`);
      // Over HTTP as the gateway's own limits answer: 429 with Retry-After, nothing executed.
      const raw = await fetch(gateways.b, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${searcher.token}` },
        body: JSON.stringify({ query: '{ users(search: "abc", first: 1) { edges { cursor } } }' }),
      });
      const body = (await raw.json()) as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] };
      assert.equal(raw.status, 429, JSON.stringify(body));
      assert.equal(raw.headers.get('retry-after'), String(body.errors?.[0]?.extensions?.retryAfterSeconds));
      assert.deepEqual([body.data, body.errors?.[0]?.extensions?.code], [undefined, 'RATE_LIMITED']);
      assert.equal((await search(other, gateways.b)).errors, undefined, 'the limit is per user');
    });
  });
}

profileSuite('profiles on the embedded gateway', async () => {
  const gateway = await startEmbedded({ ...env });
  return {
    a: gateway.url,
    b: gateway.url,
    stop: gateway.stop,
  };
});

profileSuite(
  'profiles on Postgres + Redis: gateway A (in-process subgraphs) and gateway B (subgraph processes)',
  async () => {
    const topology = await startDistributed({ env });
    return { a: topology.gatewayA.url, b: topology.gatewayB.url, stop: topology.stop };
  },
);
