/**
 * The gateway's abuse limits end to end, against real gateway processes with
 * small limits set through the environment (docs/SECURITY.md#rate-limits):
 * login per address and per username, the general per-user limit, graphql-ws
 * connections per user and per address, operations per connection, the
 * subscribe rate, the connection_init wait and message size, depth and cost
 * over HTTP and graphql-ws, and introspection and GraphiQL by mode. Then two
 * gateways sharing Redis: a limit's uses add up across both, and the
 * connections of a gateway that crashed stop counting once their leases run out.
 *
 * Client addresses: the development gateway trusts one proxy hop, so the
 * tests act from the addresses they put in X-Forwarded-For; each test uses
 * addresses (and users) of its own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { TEST_SECRETS } from '../kit/launcher.ts';
import { registerUser, type TestUser } from '../kit/seed.ts';
import { startDistributed, startEmbedded, type Distributed, type Embedded } from '../kit/topology.ts';

/** The close code for a connection over its user's or address's limit (gateway/src/security/ws-limits.ts). */
const TOO_MANY_CONNECTIONS = 4029;

interface GraphQLError {
  message: string;
  extensions?: Record<string, any>;
}

interface Answer {
  status: number;
  retryAfter: string | null;
  data?: Record<string, any> | null;
  errors?: GraphQLError[];
}

async function post(
  url: string,
  query: string,
  { variables, token, from }: { variables?: Record<string, unknown>; token?: string; from?: string } = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(from ? { 'x-forwarded-for': from } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    ...((await response.json()) as object),
  };
}

const LOGIN = 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }';
const login = (url: string, user: TestUser, from?: string, password = user.password) =>
  post(url, LOGIN, { variables: { input: { username: user.username, password } }, from });

/** RATE_LIMITED with an integer retry hint within the window, HTTP 429 with a matching Retry-After, nothing executed. */
function assertRateLimited(answer: Answer, windowSeconds: number): number {
  assert.equal(answer.status, 429, JSON.stringify(answer));
  assert.equal(answer.data, undefined, 'nothing executed');
  const error = answer.errors?.[0];
  assert.equal(error?.extensions?.code, 'RATE_LIMITED', JSON.stringify(answer.errors));
  const retry = error?.extensions?.retryAfterSeconds as number;
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= windowSeconds, `retryAfterSeconds ${retry}`);
  assert.equal(answer.retryAfter, String(retry));
  return retry;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A graphql-ws connection from `from` (X-Forwarded-For), settled once it is acknowledged or closed. */
class Socket {
  readonly client: Client;
  /** 'open' once acknowledged; the close code if it closed first. */
  readonly outcome: Promise<'open' | number>;
  closeCode: number | undefined;

  constructor(url: string, { token, from }: { token?: string; from?: string } = {}) {
    const headers = from ? { 'x-forwarded-for': from } : {};
    let settle!: (outcome: 'open' | number) => void;
    this.outcome = new Promise((resolve) => (settle = resolve));
    this.client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers });
        }
      },
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => {},
      on: {
        connected: () => settle('open'),
        closed: (event) => {
          this.closeCode = (event as { code: number }).code;
          settle(this.closeCode);
        },
      },
    });
  }

  /** What the server answers a `subscribe` of a query with (its result once complete), or the errors of an `error` message. */
  first(query: string, variables?: Record<string, unknown>): Promise<{ data?: any; errors?: GraphQLError[] }> {
    return new Promise((resolve) => {
      let last: { data?: unknown; errors?: GraphQLError[] } = {};
      this.client.subscribe(
        { query, variables },
        {
          next: (value) => (last = value as typeof last),
          error: (errors) =>
            resolve({ errors: Array.isArray(errors) ? (errors as GraphQLError[]) : [{ message: String(errors) }] }),
          complete: () => resolve(last),
        },
      );
    });
  }

  /** Starts a subscription that stays open until the returned function is called. */
  subscribe(query: string): () => void {
    return this.client.subscribe({ query }, { next: () => {}, error: () => {}, complete: () => {} });
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}

/** Connects until admitted (a slot freed by a close is released asynchronously), at most `ms`. */
async function connectWithin(url: string, options: { token?: string; from?: string }, ms: number): Promise<Socket> {
  const deadline = Date.now() + ms;
  for (;;) {
    const socket = new Socket(url, options);
    const outcome = await socket.outcome;
    if (outcome === 'open') return socket;
    assert.equal(outcome, TOO_MANY_CONNECTIONS);
    if (Date.now() > deadline) throw new Error(`still refused after ${ms} ms`);
    await sleep(200);
  }
}

const DEVELOPMENT_LIMITS = {
  NODE_ENV: 'development',
  TRUST_PROXY: '1',
  RATE_LIMIT_GENERAL: '5/1m',
  RATE_LIMIT_LOGIN_PER_IP: '3/5s',
  RATE_LIMIT_LOGIN_PER_USERNAME: '5/1m',
  RATE_LIMIT_REGISTER_PER_IP: '100/1m',
  WS_MAX_CONNECTIONS_PER_USER: '2',
  WS_MAX_CONNECTIONS_PER_IP: '3',
  WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2',
  WS_SUBSCRIBE_RATE: '4/1m',
  WS_CONNECTION_INIT_TIMEOUT_MS: '500',
  WS_MAX_MESSAGE_BYTES: '4096',
  MAX_QUERY_DEPTH: '5',
  MAX_QUERY_COST: '1000',
};

/** Depth 5 and 6: chats › edges › node › lastMessage › (id | sender › id). */
const DEPTH_5 = '{ chats(first: 1) { edges { node { lastMessage { id } } } } }';
const DEPTH_6 = '{ chats(first: 1) { edges { node { lastMessage { sender { id } } } } } }';
/** A literal page size multiplies the estimated cost: 100 chats cost 1,625 here, 10 cost 162.5. */
const COSTLY = '{ chats(first: 100) { edges { node { id title } } } }';
const AFFORDABLE = '{ chats(first: 10) { edges { node { id title } } } }';
const INTROSPECTION = '{ __schema { queryType { name } } }';
/** 1,202 tokens, past the default limit of 1,000, in 2.4 KB (within WS_MAX_MESSAGE_BYTES). */
const TOKENS = `{ ${'a '.repeat(1_200)}}`;

describe('limits on a development gateway', () => {
  let gateway: Embedded;
  let url: string;

  before(async () => {
    gateway = await startEmbedded(DEVELOPMENT_LIMITS);
    url = gateway.url;
  });
  after(() => gateway?.stop());

  it('limits login per client address, with a retry hint, and lets it through again after the window', async () => {
    const [ann, bob] = await Promise.all([registerUser(url, 'ann'), registerUser(url, 'bob')]);
    for (let n = 0; n < 3; n++) {
      const answer = await login(url, n === 1 ? bob : ann, '198.51.100.1', n === 2 ? 'wrong password' : undefined);
      assert.notEqual(
        answer.errors?.[0]?.extensions?.code,
        'RATE_LIMITED',
        `attempt ${n + 1}: ${JSON.stringify(answer)}`,
      );
    }
    const refused = await login(url, ann, '198.51.100.1');
    const retry = assertRateLimited(refused, 5);
    assert.match(refused.errors![0]!.message, /login/);
    assert.ok((await login(url, ann, '198.51.100.2')).data?.login.accessToken, 'another address logs in');
    await sleep(retry * 1_000 + 100);
    assert.ok((await login(url, ann, '198.51.100.1')).data?.login.accessToken, 'the window passed');
  });

  it('limits login per username across addresses (one account, many addresses)', async () => {
    const target = await registerUser(url, 'tgt');
    for (let n = 0; n < 5; n++) {
      const answer = await login(url, target, `203.0.113.${n + 1}`, 'guess');
      assert.equal(answer.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', JSON.stringify(answer));
    }
    assertRateLimited(await login(url, target, '203.0.113.99'), 60);
  });

  it('limits each root field per user, whatever the address', async () => {
    const [sam, otto] = await Promise.all([registerUser(url, 'sam'), registerUser(url, 'otto')]);
    for (let n = 0; n < 5; n++) {
      const answer = await post(url, '{ me { id } }', { token: sam.token, from: `192.0.2.${n + 1}` });
      assert.equal(answer.data?.me.id, sam.id, JSON.stringify(answer));
    }
    assertRateLimited(await post(url, '{ me { id } }', { token: sam.token, from: '192.0.2.77' }), 60);
    assert.equal(
      (await post(url, '{ me { id } }', { token: otto.token })).data?.me.id,
      otto.id,
      'another user has a count of their own',
    );
  });

  it('refuses a third connection of one user with 4029, and admits one again once another closes', async () => {
    const cid = await registerUser(url, 'cid');
    const sockets = [
      new Socket(url, { token: cid.token, from: '198.51.100.10' }),
      new Socket(url, { token: cid.token, from: '198.51.100.11' }),
    ];
    assert.deepEqual(await Promise.all(sockets.map((socket) => socket.outcome)), ['open', 'open']);
    const third = new Socket(url, { token: cid.token, from: '198.51.100.12' });
    assert.equal(await third.outcome, TOO_MANY_CONNECTIONS);
    await sockets[0]!.close();
    const again = await connectWithin(url, { token: cid.token, from: '198.51.100.12' }, 5_000);
    await Promise.all([sockets[1]!.close(), again.close(), third.close()]);
  });

  it('counts subscriptions over server-sent events as connections of their user', async () => {
    const kim = await registerUser(url, 'kim');
    const streams = await Promise.all(
      ['198.51.100.80', '198.51.100.81'].map(async (from) => {
        const abort = new AbortController();
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'text/event-stream',
            authorization: `Bearer ${kim.token}`,
            'x-forwarded-for': from,
          },
          body: JSON.stringify({ query: 'subscription { messageAdded { id } }' }),
          signal: abort.signal,
        });
        assert.equal(response.status, 200);
        return { abort, body: response.body! };
      }),
    );
    const socket = new Socket(url, { token: kim.token, from: '198.51.100.82' });
    assert.equal(await socket.outcome, TOO_MANY_CONNECTIONS);
    streams[0]!.abort.abort();
    const admitted = await connectWithin(url, { token: kim.token, from: '198.51.100.82' }, 5_000);
    streams[1]!.abort.abort();
    await admitted.close();
  });

  it('refuses connections past the per-address limit, anonymous ones included', async () => {
    const dee = await registerUser(url, 'dee');
    const sockets = [
      new Socket(url, { from: '198.51.100.20' }),
      new Socket(url, { from: '198.51.100.20' }),
      new Socket(url, { token: dee.token, from: '198.51.100.20' }),
    ];
    assert.deepEqual(await Promise.all(sockets.map((socket) => socket.outcome)), ['open', 'open', 'open']);
    const fourth = new Socket(url, { from: '198.51.100.20' });
    assert.equal(await fourth.outcome, TOO_MANY_CONNECTIONS);
    const elsewhere = new Socket(url, { from: '198.51.100.21' });
    assert.equal(await elsewhere.outcome, 'open');
    await Promise.all([...sockets, fourth, elsewhere].map((socket) => socket.close()));
  });

  it('refuses an operation past the per-connection limit until one completes', async () => {
    const eve = await registerUser(url, 'eve');
    const socket = new Socket(url, { token: eve.token, from: '198.51.100.30' });
    assert.equal(await socket.outcome, 'open');
    const first = socket.subscribe('subscription { messageAdded { id } }');
    socket.subscribe('subscription { presenceChanged { id } }');
    const third = await socket.first('subscription { messageAdded { text } }');
    assert.equal(third.errors?.[0]?.extensions?.code, 'RATE_LIMITED', JSON.stringify(third));
    assert.equal(third.errors?.[0]?.extensions?.reason, 'TOO_MANY_SUBSCRIPTIONS');
    // Completing one frees its place: the server handles the socket's messages in order.
    first();
    assert.deepEqual((await socket.first('{ __typename }')).data, { __typename: 'Query' });
    assert.equal(socket.closeCode, undefined, 'the connection stays open throughout');
    await socket.close();
  });

  it('refuses subscribe messages past the rate on one connection, with a retry hint, and not on another', async () => {
    const socket = new Socket(url, { from: '198.51.100.40' });
    assert.equal(await socket.outcome, 'open');
    for (let n = 0; n < 4; n++) {
      const answer = await socket.first('{ __typename }');
      assert.deepEqual(answer.data, { __typename: 'Query' }, JSON.stringify(answer));
    }
    const refused = await socket.first('{ __typename }');
    const error = refused.errors?.[0];
    assert.equal(error?.extensions?.code, 'RATE_LIMITED', JSON.stringify(refused));
    assert.equal(error?.extensions?.reason, 'SUBSCRIBE_RATE');
    assert.ok(
      Number.isInteger(error?.extensions?.retryAfterSeconds) &&
        error!.extensions!.retryAfterSeconds >= 1 &&
        error!.extensions!.retryAfterSeconds <= 60,
    );
    const other = new Socket(url, { from: '198.51.100.40' });
    assert.equal(await other.outcome, 'open');
    assert.deepEqual((await other.first('{ __typename }')).data, { __typename: 'Query' });
    await Promise.all([socket.close(), other.close()]);
  });

  it('closes a socket that does not send connection_init in time (4408), and one that sends a message over the size limit (1009)', async () => {
    const silent = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', {
      headers: { 'x-forwarded-for': '198.51.100.50' },
    });
    const [code] = await new Promise<[number]>((resolve) => silent.once('close', (closeCode) => resolve([closeCode])));
    assert.equal(code, 4408);

    const socket = new Socket(url, { from: '198.51.100.51' });
    assert.equal(await socket.outcome, 'open');
    await socket.first(`{ __typename ${'x'.repeat(5_000)} }`);
    assert.equal(socket.closeCode, 1009);
  });

  it('refuses an over-deep, over-costly or over-long document over HTTP and graphql-ws, with one code, and admits one within the limits', async () => {
    const fay = await registerUser(url, 'fay');
    for (const [query, limit] of [
      [DEPTH_6, /^Query depth limit of 5 exceeded, found 6\.$/],
      [COSTLY, /^Query Cost limit of 1000 exceeded, found 1625\.$/],
      [TOKENS, /^Token limit of 1000 exceeded\.$/],
    ] as const) {
      const refused = await post(url, query, { token: fay.token });
      assert.equal(refused.data, undefined);
      assert.equal(refused.errors?.length, 1);
      assert.equal(refused.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
      assert.match(refused.errors?.[0]?.message ?? '', limit);
    }
    for (const query of [DEPTH_5, AFFORDABLE])
      assert.equal((await post(url, query, { token: fay.token })).errors, undefined, query);

    const socket = new Socket(url, { token: fay.token, from: '198.51.100.60' });
    assert.equal(await socket.outcome, 'open');
    const deep = await socket.first(
      'subscription { messageAdded { chat { lastMessage { chat { lastMessage { id } } } } } }',
    );
    assert.equal(deep.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(deep));
    assert.match(deep.errors?.[0]?.message ?? '', /depth limit of 5 exceeded, found 6/);
    const costly = await socket.first(COSTLY);
    assert.match(costly.errors?.[0]?.message ?? '', /Cost limit of 1000 exceeded/);
    // Refused while parsing, and still the code HTTP answers (not GRAPHQL_PARSE_FAILED).
    const long = await socket.first(TOKENS);
    assert.equal(long.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(long));
    assert.match(long.errors?.[0]?.message ?? '', /^Token limit of 1000 exceeded\.$/);
    assert.equal(socket.closeCode, undefined, 'refusals do not close the connection');
    await socket.close();
  });

  it('serves introspection and GraphiQL in development', async () => {
    assert.deepEqual((await post(url, INTROSPECTION)).data, { __schema: { queryType: { name: 'Query' } } });
    const socket = new Socket(url, { from: '198.51.100.70' });
    assert.equal(await socket.outcome, 'open');
    assert.deepEqual((await socket.first(INTROSPECTION)).data, { __schema: { queryType: { name: 'Query' } } });
    await socket.close();
    const page = await fetch(url, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /GraphiQL/i);
  });
});

describe('a production gateway', () => {
  let gateway: Embedded;

  before(async () => {
    gateway = await startEmbedded({ NODE_ENV: 'production', ...TEST_SECRETS, RATE_LIMIT_LOGIN_PER_IP: '2/1m' });
  });
  after(() => gateway?.stop());

  it('refuses introspection over HTTP and graphql-ws, and keeps __typename', async () => {
    const refused = await post(gateway.url, INTROSPECTION);
    assert.equal(refused.data, undefined);
    assert.deepEqual(
      refused.errors?.map((error) => [error.message, error.extensions?.code]),
      [['Introspection is disabled.', 'GRAPHQL_VALIDATION_FAILED']],
    );
    assert.deepEqual((await post(gateway.url, '{ __typename }')).data, { __typename: 'Query' });
    const socket = new Socket(gateway.url);
    assert.equal(await socket.outcome, 'open');
    const overSocket = await socket.first('{ __type(name: "User") { fields { name } } }');
    assert.equal(overSocket.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(overSocket));
    assert.equal(overSocket.errors?.[0]?.message, 'Introspection is disabled.');
    await socket.close();
    const typo = await post(gateway.url, '{ mee { id } }');
    assert.doesNotMatch(typo.errors?.[0]?.message ?? '', /Did you mean/, 'no schema hints either');
  });

  it('serves no GraphiQL', async () => {
    const page = await fetch(gateway.url, { headers: { accept: 'text/html' } });
    assert.doesNotMatch(page.headers.get('content-type') ?? '', /text\/html/);
    assert.doesNotMatch(await page.text(), /graphiql/i);
  });

  it('trusts no X-Forwarded-For without TRUST_PROXY: a spoofed address does not escape the per-address limit', async () => {
    const user = await registerUser(gateway.url, 'pam');
    for (let n = 0; n < 2; n++)
      assert.ok((await login(gateway.url, user, `198.51.100.${n + 1}`)).data?.login.accessToken);
    assertRateLimited(await login(gateway.url, user, '198.51.100.3'), 60);
  });
});

describe('limits across two gateways sharing Redis', () => {
  let topology: Distributed;
  const LEASE_SECONDS = 3;

  before(async () => {
    topology = await startDistributed({
      env: {
        // Keys of this topology's own, apart from every other suite sharing the test Redis.
        LIMITS_KEY_PREFIX: `limits-${randomBytes(4).toString('hex')}`,
        RATE_LIMIT_GENERAL: '4/1m',
        RATE_LIMIT_LOGIN_PER_IP: '3/1m',
        RATE_LIMIT_REGISTER_PER_IP: '100/1m',
        WS_MAX_CONNECTIONS_PER_USER: '2',
        WS_CONNECTION_LEASE_SECONDS: String(LEASE_SECONDS),
      },
    });
  });
  after(() => topology?.stop());

  it('adds up login attempts from one address across both gateways', async () => {
    const { gatewayA: a, gatewayB: b } = topology;
    const user = await registerUser(a.url, 'gus');
    for (const gateway of [a, b, a]) assert.ok((await login(gateway.url, user)).data?.login.accessToken, gateway.name);
    assertRateLimited(await login(b.url, user), 60);
  });

  it("adds up a user's calls of one field across both gateways", async () => {
    const { gatewayA: a, gatewayB: b } = topology;
    const user = await registerUser(a.url, 'hal');
    for (const gateway of [b, a, b, a])
      assert.equal(
        (await post(gateway.url, '{ me { id } }', { token: user.token })).data?.me.id,
        user.id,
        gateway.name,
      );
    assertRateLimited(await post(b.url, '{ me { id } }', { token: user.token }), 60);
  });

  it("counts a user's connections across both gateways", async () => {
    const { gatewayA: a, gatewayB: b } = topology;
    const user = await registerUser(a.url, 'ida');
    const [onA, onB] = [new Socket(a.url, { token: user.token }), new Socket(b.url, { token: user.token })];
    assert.deepEqual(await Promise.all([onA.outcome, onB.outcome]), ['open', 'open']);
    const third = new Socket(a.url, { token: user.token });
    assert.equal(await third.outcome, TOO_MANY_CONNECTIONS);
    await onB.close();
    const again = await connectWithin(a.url, { token: user.token }, 5_000);
    await Promise.all([onA.close(), again.close()]);
  });

  it('stops counting the connections of a gateway that crashed once their leases run out', async () => {
    const { gatewayA: a, gatewayB: b } = topology;
    const user = await registerUser(a.url, 'jon');
    const held = [new Socket(b.url, { token: user.token }), new Socket(b.url, { token: user.token })];
    assert.deepEqual(await Promise.all(held.map((socket) => socket.outcome)), ['open', 'open']);
    // Renewed by gateway B every second, the leases outlive a few of their lengths.
    await sleep(LEASE_SECONDS * 1_000 + 500);
    assert.equal(await new Socket(a.url, { token: user.token }).outcome, TOO_MANY_CONNECTIONS);
    b.child.kill('SIGKILL');
    const killedAt = Date.now();
    const admitted = await connectWithin(a.url, { token: user.token }, (LEASE_SECONDS + 3) * 1_000);
    assert.ok(Date.now() - killedAt <= (LEASE_SECONDS + 3) * 1_000);
    await Promise.all([admitted.close(), ...held.map((socket) => socket.close())]);
  });
});
