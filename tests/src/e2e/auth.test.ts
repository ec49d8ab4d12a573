/**
 * Authentication across real processes: access tokens verified through the
 * issuer's JWKS, the gateway-signed identity that subgraph processes demand,
 * sessions ended in every process at once, and token expiry on open sockets.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { IDENTITY_HEADER, InternalIdentity } from '@chat/common';
import { importJWK, SignJWT } from 'jose';
import { gql, gqlOk, RawSocket, Subscription, wsClient } from '../kit/client.ts';
import { TEST_SECRETS } from '../kit/launcher.ts';
import { directChat, registerUser, sendText } from '../kit/seed.ts';
import { startDistributed, startEmbedded, type Distributed, type Embedded } from '../kit/topology.ts';

const REFRESH = 'mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken session { id } } }';
const LOGIN = 'mutation ($input: LoginInput!) { login(input: $input) { accessToken refreshToken session { id } } }';

/** POSTs straight to a subgraph process, with whatever headers a caller might forge. */
async function direct(
  url: string,
  query: string,
  headers: Record<string, string> = {},
  variables: Record<string, unknown> = {},
) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

describe('auth across processes (distributed: gateway B reaches the subgraphs over the network)', () => {
  let topology: Distributed;
  let a: string;
  let b: string;

  before(async () => {
    topology = await startDistributed();
    a = topology.gatewayA.url;
    b = topology.gatewayB.url;
  });
  after(() => topology?.stop());

  it('subgraph processes refuse every call that does not carry an identity the gateway signed for them', async () => {
    const ann = await registerUser(a, 'ann');
    const genuine = new InternalIdentity(new TextEncoder().encode(TEST_SECRETS.INTERNAL_TOKEN_SECRET!));
    const forger = new InternalIdentity(new TextEncoder().encode('a-secret-that-is-not-the-gateways-0123456789'));
    const annViewer = { id: ann.id, username: ann.username, sessionId: '1' };
    for (const [name, url] of Object.entries(topology.subgraphUrls)) {
      const attempts: [string, Record<string, string>][] = [
        ['anonymous', {}],
        ["the user's own access token", { authorization: `Bearer ${ann.token}` }],
        ['an identity signed with another key', { [IDENTITY_HEADER]: await forger.sign(annViewer, name) }],
        [
          'an identity signed for another subgraph',
          { [IDENTITY_HEADER]: await genuine.sign(null, name === 'users' ? 'chats' : 'users') },
        ],
        ['garbage', { [IDENTITY_HEADER]: 'not.a.token' }],
      ];
      for (const [what, headers] of attempts) {
        const result = await direct(url, '{ __typename }', headers);
        assert.equal(result.data ?? null, null, `${name}, ${what}: ${JSON.stringify(result)}`);
        assert.equal(result.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', `${name}, ${what}`);
        assert.equal(result.errors?.[0]?.extensions?.reason, 'INTERNAL_IDENTITY', `${name}, ${what}`);
      }
      // The same request with a genuine identity goes through: the identity is what decides.
      const accepted = await direct(url, '{ __typename }', { [IDENTITY_HEADER]: await genuine.sign(null, name) });
      assert.deepEqual(accepted.data, { __typename: 'Query' }, `${name}: ${JSON.stringify(accepted)}`);
    }

    // A forged identity cannot change anything either.
    const forged = await direct(
      topology.subgraphUrls.users!,
      'mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { displayName } }',
      { [IDENTITY_HEADER]: await forger.sign(annViewer, 'users') },
      { input: { displayName: 'Pwned', version: 1 } },
    );
    assert.equal(forged.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const me = await gqlOk(b, '{ me { displayName } }', {}, ann.token);
    assert.equal(me.me.displayName, ann.displayName);
  });

  it('subgraph processes refuse a subscription over graphql-ws without the gateway identity', async () => {
    const client = wsClient(topology.subgraphUrls.messages!);
    const subscription = new Subscription(client, 'subscription { messageAdded { id } }');
    await assert.rejects(subscription.waitFor(1), /subscription failed/);
    const [refusal] = subscription.error as { extensions?: Record<string, unknown> }[];
    assert.equal(refusal?.extensions?.code, 'UNAUTHENTICATED', JSON.stringify(subscription.error));
    assert.equal(refusal?.extensions?.reason, 'INTERNAL_IDENTITY');
    assert.equal(subscription.events.length, 0);
    await client.dispose();
  });

  it('publishes the public keys as a JWKS, which gateway B uses to verify tokens the users subgraph issued', async () => {
    const origin = new URL(topology.subgraphUrls.users!).origin;
    const jwks = (await (await fetch(`${origin}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    const configured = JSON.parse(TEST_SECRETS.JWT_PRIVATE_KEYS!).keys[0] as Record<string, string>;
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]?.kid, configured.kid);
    assert.equal(jwks.keys[0]?.x, configured.x);
    assert.equal(jwks.keys[0]?.d, undefined, 'a JWKS carries no private key');
    // Gateway A (users in-process) serves the same set.
    const fromGateway = (await (await fetch(new URL('/.well-known/jwks.json', a))).json()) as {
      keys: Record<string, unknown>[];
    };
    assert.deepEqual(fromGateway, jwks);

    const bob = await registerUser(a, 'bob');
    assert.equal((await gqlOk(b, '{ me { id } }', {}, bob.token)).me.id, bob.id);

    // A token signed by another key under the same kid is refused, as is one with an unknown kid.
    const impostor = await importJWK(
      generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as never,
      'EdDSA',
    );
    for (const kid of [configured.kid!, 'unknown-kid']) {
      const forged = await new SignJWT({ username: bob.username, sid: '1' })
        .setProtectedHeader({ alg: 'EdDSA', kid })
        .setSubject(bob.id)
        .setIssuer('federated-chat')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(impostor);
      for (const gateway of [a, b]) {
        const result = await gql(gateway, '{ me { id } }', {}, forged);
        assert.equal(result.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', `${gateway} ${kid}`);
        assert.equal(result.errors?.[0]?.extensions?.reason, 'TOKEN_INVALID');
      }
    }
  });

  it('ends a session in every process at once: logout through A, refused through B', async () => {
    const cat = await registerUser(a, 'cat');
    const phone = (
      await gqlOk(b, LOGIN, { input: { username: cat.username, password: cat.password, deviceName: 'phone' } })
    ).login;
    assert.ok((await gqlOk(b, '{ me { id } }', {}, cat.token)).me);

    assert.deepEqual(await gqlOk(a, 'mutation { logout }', {}, cat.token), { logout: true });
    for (const gateway of [a, b]) {
      const refused = await gql(gateway, '{ me { id } }', {}, cat.token);
      assert.equal(refused.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', gateway);
      assert.equal(refused.errors?.[0]?.extensions?.reason, 'SESSION_ENDED', gateway);
    }
    // The phone's session is another one: untouched, until logoutEverywhere through B.
    assert.ok((await gqlOk(a, '{ me { id } }', {}, phone.accessToken)).me);
    const sessions = (await gqlOk(a, '{ sessions { id deviceName current } }', {}, phone.accessToken)).sessions;
    assert.deepEqual(sessions, [{ id: phone.session.id, deviceName: 'phone', current: true }]);
    await gqlOk(b, 'mutation { logoutEverywhere }', {}, phone.accessToken);
    assert.equal(
      (await gql(a, '{ me { id } }', {}, phone.accessToken)).errors?.[0]?.extensions?.reason,
      'SESSION_ENDED',
    );
    assert.equal((await gql(b, REFRESH, { t: phone.refreshToken })).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
  });

  it('rotates refresh tokens through either gateway, and a replayed one ends the session everywhere', async () => {
    const dan = await registerUser(a, 'dan');
    const first = (await gqlOk(a, LOGIN, { input: { username: dan.username, password: dan.password } })).login;
    const second = (await gqlOk(b, REFRESH, { t: first.refreshToken })).refreshToken;
    assert.equal(second.session.id, first.session.id);
    assert.ok((await gqlOk(a, '{ me { id } }', {}, second.accessToken)).me);

    const replay = await gql(a, REFRESH, { t: first.refreshToken });
    assert.equal(replay.errors?.[0]?.extensions?.reason, 'SESSION_ENDED');
    for (const gateway of [a, b]) {
      assert.equal(
        (await gql(gateway, '{ me { id } }', {}, second.accessToken)).errors?.[0]?.extensions?.reason,
        'SESSION_ENDED',
        gateway,
      );
    }
    assert.equal((await gql(b, REFRESH, { t: second.refreshToken })).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    // The account itself is fine: its other session still works.
    assert.ok((await gqlOk(b, '{ me { id } }', {}, dan.token)).me);
  });
});

describe('access-token expiry on open sockets (10-second tokens)', () => {
  let embedded: Embedded;
  const TTL_MS = 10_000;

  before(async () => {
    embedded = await startEmbedded({ ACCESS_TOKEN_TTL_SECONDS: String(TTL_MS / 1000) });
  });
  after(() => embedded?.stop());

  /** A fresh access token: the ones from registration expire during these tests. */
  const freshToken = async (user: { username: string; password: string }) =>
    (await gqlOk(embedded.url, LOGIN, { input: { username: user.username, password: user.password } })).login
      .accessToken as string;

  const ADDED =
    'subscription ($chatId: ID!, $after: String) { messageAdded(chatId: $chatId, after: $after) { id text cursor } }';

  it('closes with 4001 when the token expires; a client that refreshes, reconnects and resumes from its cursor misses nothing', async () => {
    const url = embedded.url;
    const [eve, fay] = [await registerUser(url, 'eve'), await registerUser(url, 'fay')];
    const issuedAt = Date.now();
    const chatId = await directChat(url, fay, eve);
    const socket = new RawSocket(url);
    await socket.open(eve.token);
    socket.send({ id: '1', type: 'subscribe', payload: { query: ADDED, variables: { chatId } } });
    await sendText(url, fay, chatId, 'before expiry');
    const first = await socket.next(
      (message) => message.type === 'next' && message.payload.data?.messageAdded.text === 'before expiry',
    );
    const cursor = first.payload.data.messageAdded.cursor as string;

    const closed = await socket.closed;
    assert.equal(closed.code, 4001);
    assert.equal(closed.reason, 'Access token expired');
    const lifetime = closed.at - issuedAt;
    assert.ok(
      lifetime >= TTL_MS - 1_500 && lifetime < TTL_MS + 3_000,
      `closed ${lifetime} ms after the token was issued`,
    );

    // While the client is away, a message arrives.
    await sendText(url, { ...fay, token: await freshToken(fay) }, chatId, 'while away');
    const login = (await gqlOk(url, LOGIN, { input: { username: eve.username, password: eve.password } })).login;
    const again = new RawSocket(url);
    await again.open(login.accessToken);
    again.send({ id: '2', type: 'subscribe', payload: { query: ADDED, variables: { chatId, after: cursor } } });
    const replayed = await again.next((message) => message.type === 'next');
    assert.equal(replayed.payload.data.messageAdded.text, 'while away');
    again.close();
  });

  it('keeps a socket open past the first expiry when the client renews its token in band with a ping', async () => {
    const url = embedded.url;
    const [gus, hal] = [await registerUser(url, 'gus'), await registerUser(url, 'hal')];
    const chatId = await directChat(url, hal, gus);
    const login = (await gqlOk(url, LOGIN, { input: { username: gus.username, password: gus.password } })).login;
    const socket = new RawSocket(url);
    await socket.open(login.accessToken);
    socket.send({ id: '1', type: 'subscribe', payload: { query: ADDED, variables: { chatId } } });

    await new Promise((resolve) => setTimeout(resolve, TTL_MS / 2));
    const renewed = (await gqlOk(url, REFRESH, { t: login.refreshToken })).refreshToken;
    socket.send({ type: 'ping', payload: { authorization: `Bearer ${renewed.accessToken}` } });
    await socket.next((message) => message.type === 'pong');

    await new Promise((resolve) => setTimeout(resolve, TTL_MS / 2 + 1_500));
    await sendText(url, { ...hal, token: await freshToken(hal) }, chatId, 'after the first expiry');
    const event = await socket.next(
      (message) => message.type === 'next' && message.payload.data?.messageAdded.text === 'after the first expiry',
    );
    assert.ok(event, 'the subscription kept running');
    const closed = await Promise.race([
      socket.closed,
      new Promise((resolve) => setTimeout(() => resolve('open'), 100)),
    ]);
    assert.equal(closed, 'open');
    socket.close();
  });

  it("closes with 4403 when a renewal carries someone else's token or garbage", async () => {
    const url = embedded.url;
    const [ivy, jon] = [await registerUser(url, 'ivy'), await registerUser(url, 'jon')];
    for (const authorization of [`Bearer ${jon.token}`, 'Bearer garbage']) {
      const socket = new RawSocket(url);
      await socket.open(ivy.token);
      socket.send({ type: 'ping', payload: { authorization } });
      const closed = await socket.closed;
      assert.equal(closed.code, 4403, authorization.slice(0, 20));
    }
  });
});
