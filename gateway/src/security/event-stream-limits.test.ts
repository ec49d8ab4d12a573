/** Subscriptions over server-sent events, held to the connection and subscribe limits (a Yoga server of its own). */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MemoryRateLimiter } from '@chat/common';
import { createSchema, createYoga } from 'graphql-yoga';
import type { GatewayContext } from '../subgraph-hosts.ts';
import type { SecurityLimits } from './config.ts';
import { MemoryConnectionCounter } from './connection-counter.ts';
import { useEventStreamLimits } from './event-stream-limits.ts';

type Context = Pick<GatewayContext, 'viewer' | 'clientIp'>;

const schema = createSchema<Context>({
  typeDefs: /* GraphQL */ `
    type Query { ok: Boolean }
    type Subscription { ticks: Int }
  `,
  resolvers: {
    Subscription: {
      ticks: {
        subscribe: async function* () {
          for (let n = 1; ; n++) {
            yield { ticks: n };
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        },
      },
    },
  },
});

function server(limits: Partial<SecurityLimits['ws']>) {
  return createYoga<object, Context>({
    schema,
    plugins: [
      useEventStreamLimits(
        { initTimeoutMs: 3_000, maxMessageBytes: 65_536, leaseMs: 60_000, ...limits },
        { counter: new MemoryConnectionCounter(), limiter: new MemoryRateLimiter(), keyPrefix: 'test' },
      ),
    ],
    context: ({ request }) => {
      const user = request.headers.get('x-user');
      return { viewer: user ? { id: user, username: user, sessionId: 's' } : null, clientIp: '198.51.100.1' };
    },
    logging: false,
  });
}

const opened: { close(): Promise<void> }[] = [];

/** Opens a stream and reads its first event: the data, or the errors it was refused with. */
async function open(yoga: ReturnType<typeof server>, user: string) {
  const abort = new AbortController();
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-user': user },
    body: JSON.stringify({ query: 'subscription { ticks }' }),
    signal: abort.signal,
  });
  const reader = response.body!.getReader();
  let text = '';
  while (!/\ndata: (.*)\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  const first = JSON.parse(/\ndata: (.*)\n/.exec(text)?.[1] ?? '{}') as { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] };
  const stream = {
    status: response.status,
    first,
    close: async () => {
      abort.abort();
      await reader.cancel().catch(() => {});
    },
  };
  opened.push(stream);
  return stream;
}

describe('subscriptions over server-sent events', () => {
  afterEach(() => Promise.all(opened.splice(0).map((stream) => stream.close())));

  it('count as connections of their user, until they end', async () => {
    const yoga = server({ maxConnectionsPerUser: 2 });
    const streams = [await open(yoga, 'ann'), await open(yoga, 'ann')];
    for (const stream of streams) assert.deepEqual(stream.first.data, { ticks: 1 });
    const third = await open(yoga, 'ann');
    assert.equal(third.first.errors?.[0]?.extensions?.code, 'RATE_LIMITED', JSON.stringify(third.first));
    assert.equal(third.first.errors?.[0]?.extensions?.reason, 'TOO_MANY_CONNECTIONS');
    assert.deepEqual((await open(yoga, 'bob')).first.data, { ticks: 1 }, 'another user has slots of their own');
    await streams[0]!.close();
    let again;
    for (let attempt = 0; attempt < 20; attempt++) {
      again = await open(yoga, 'ann');
      if (again.first.data) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.deepEqual(again?.first.data, { ticks: 1 }, 'a closed stream frees its slot');
  });

  it('count against the subscribe rate per caller', async () => {
    const yoga = server({ subscribeRate: { max: 2, windowMs: 60_000 } });
    for (let n = 0; n < 2; n++) assert.deepEqual((await open(yoga, 'cid')).first.data, { ticks: 1 });
    const refused = await open(yoga, 'cid');
    assert.equal(refused.first.errors?.[0]?.extensions?.reason, 'SUBSCRIBE_RATE');
    const retry = refused.first.errors?.[0]?.extensions?.retryAfterSeconds as number;
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60);
  });
});
