/**
 * The rate-limit plugins on a Yoga server of their own (no federation, no
 * network: `yoga.fetch`), counting with the in-process limiter.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { MemoryRateLimiter } from '@chat/common';
import { createSchema, createYoga } from 'graphql-yoga';
import type { GatewayContext } from '../subgraph-hosts.ts';
import type { SecurityLimits } from './config.ts';
import { rateLimitPlugins } from './rate-limits.ts';

const typeDefs = /* GraphQL */ `
  type Query {
    me: String
    other: String
  }
  type Mutation {
    login(input: LoginInput!): String
    register(username: String!): String
    logout: Boolean
  }
  input LoginInput {
    username: String!
    password: String!
  }
`;

let executed: string[] = [];
const schema = createSchema<Pick<GatewayContext, 'viewer' | 'clientIp'>>({
  typeDefs,
  resolvers: {
    Query: { me: () => (executed.push('me'), 'me'), other: () => (executed.push('other'), 'other') },
    Mutation: {
      login: (_: unknown, { input }: { input: { username: string } }) => (
        executed.push(`login:${input.username}`),
        'token'
      ),
      register: () => (executed.push('register'), 'ok'),
      logout: () => (executed.push('logout'), true),
    },
  },
});

function server(rates: SecurityLimits['rates']) {
  return createYoga<object, Pick<GatewayContext, 'viewer' | 'clientIp'>>({
    schema,
    plugins: rateLimitPlugins(rates, new MemoryRateLimiter(), 'test'),
    context: ({ request }) => {
      const user = request.headers.get('x-user');
      return {
        viewer: user ? { id: user, username: user, sessionId: 's' } : null,
        clientIp: request.headers.get('x-ip') ?? '127.0.0.1',
      };
    },
    logging: false,
  });
}

async function call(
  yoga: ReturnType<typeof server>,
  query: string,
  { user, ip, variables }: { user?: string; ip?: string; variables?: Record<string, unknown> } = {},
) {
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(user ? { 'x-user': user } : {}), ...(ip ? { 'x-ip': ip } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, any> }[];
  };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), ...body };
}

const LOGIN = 'mutation ($input: LoginInput!) { login(input: $input) }';
const login = (yoga: ReturnType<typeof server>, username: string, ip: string) =>
  call(yoga, LOGIN, { ip, variables: { input: { username, password: 'x' } } });

function assertRefused(result: Awaited<ReturnType<typeof call>>, maxSeconds: number) {
  assert.equal(result.status, 429, JSON.stringify(result));
  assert.equal(result.data, undefined);
  const error = result.errors?.[0];
  assert.equal(error?.extensions?.code, 'RATE_LIMITED');
  const retry = error?.extensions?.retryAfterSeconds;
  assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= maxSeconds, `retryAfterSeconds ${retry}`);
  assert.equal(result.retryAfter, String(retry));
  assert.equal(error?.extensions?.http, undefined, 'transport details stay out of the body');
}

describe('rate limits at the gateway', () => {
  beforeEach(() => {
    executed = [];
  });

  it('limits each root field per viewer, refusing the whole operation, and counts aliases', async () => {
    const yoga = server({ general: { max: 2, windowMs: 60_000 } });
    for (let n = 0; n < 2; n++) assert.equal((await call(yoga, '{ me }', { user: 'ann' })).data?.me, 'me');
    const refused = await call(yoga, '{ me other }', { user: 'ann' });
    assertRefused(refused, 60);
    assert.match(refused.errors![0]!.message, /Too many me requests/);
    assert.deepEqual(executed, ['me', 'me'], 'nothing of the refused operation ran');
    // Another field, another viewer, and anonymous callers by address keep their own counts.
    assert.equal((await call(yoga, '{ other }', { user: 'ann' })).data?.other, 'other');
    assert.equal((await call(yoga, '{ me }', { user: 'bob' })).data?.me, 'me');
    assert.equal((await call(yoga, '{ me }', { ip: '198.51.100.1' })).data?.me, 'me');
    // Aliases are separate calls.
    assertRefused(await call(yoga, '{ a: me b: me c: me }', { user: 'cid' }), 60);
    // __typename is free.
    for (let n = 0; n < 5; n++)
      assert.equal((await call(yoga, '{ __typename }', { user: 'bob' })).data?.__typename, 'Query');
  });

  it('limits login per client address and per username, separately', async () => {
    const yoga = server({
      loginPerIp: { max: 3, windowMs: 60_000 },
      loginPerUsername: { max: 4, windowMs: 60_000 },
      general: { max: 100, windowMs: 60_000 },
    });
    for (const name of ['a1', 'a2', 'a3']) assert.equal((await login(yoga, name, '198.51.100.1')).data?.login, 'token');
    assertRefused(await login(yoga, 'a4', '198.51.100.1'), 60);
    assert.equal((await login(yoga, 'a4', '198.51.100.2')).data?.login, 'token', 'another address has its own count');

    // One account from many addresses: the username's count, whatever its case and spacing.
    for (const [n, name] of ['ann', 'ANN', ' Ann '].entries())
      assert.equal((await login(yoga, name, `203.0.113.${n}`)).data?.login, 'token');
    assert.equal((await login(yoga, 'ann', '203.0.113.9')).data?.login, 'token');
    const ranBefore = executed.length;
    assertRefused(await login(yoga, 'ann', '203.0.113.10'), 60);
    // A variable's declared default is what execution would use: it counts as that username.
    const viaDefault = await call(
      yoga,
      'mutation ($u: String = "ann") { login(input: { username: $u, password: "x" }) }',
      { ip: '203.0.113.11' },
    );
    assertRefused(viaDefault, 60);
    assert.equal(executed.length, ranBefore, 'no refused login ran');
  });

  it('limits the other auth fields per address, outside the general limit, which still covers the rest', async () => {
    const yoga = server({ registerPerIp: { max: 1, windowMs: 60_000 }, general: { max: 1, windowMs: 60_000 } });
    assert.equal((await call(yoga, 'mutation { register(username: "x") }', { user: 'ann' })).data?.register, 'ok');
    const again = await call(yoga, 'mutation { register(username: "y") }', { user: 'bob' });
    assertRefused(again, 60);
    assert.equal((await call(yoga, 'mutation { logout }', { user: 'ann' })).data?.logout, true);
    assertRefused(await call(yoga, 'mutation { logout }', { user: 'ann' }), 60);
  });

  it('leaves malformed variables to execution, which refuses them without counting', async () => {
    const yoga = server({ loginPerIp: { max: 1, windowMs: 60_000 } });
    const malformed = await call(yoga, LOGIN, { ip: '198.51.100.1', variables: { input: { username: 1 } } });
    assert.equal(malformed.status, 400);
    assert.notEqual(malformed.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
    assert.equal((await login(yoga, 'ann', '198.51.100.1')).data?.login, 'token');
    assert.deepEqual(executed, ['login:ann']);
  });

  it('lets the window pass, then admits again', async () => {
    const yoga = server({ general: { max: 1, windowMs: 1_000 } });
    assert.equal((await call(yoga, '{ me }', { user: 'ann' })).data?.me, 'me');
    const refused = await call(yoga, '{ me }', { user: 'ann' });
    assertRefused(refused, 1);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    assert.equal((await call(yoga, '{ me }', { user: 'ann' })).data?.me, 'me');
  });
});
