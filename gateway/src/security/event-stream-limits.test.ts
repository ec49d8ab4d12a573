/** Subscriptions over server-sent events, held to the connection and subscribe limits and the per-user budget (a Yoga server of its own). */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MemoryRateLimiter } from '@chat/common';
import { createSchema, createYoga } from 'graphql-yoga';
import type { GatewayContext } from '../subgraph-hosts.ts';
import type { SecurityLimits } from './config.ts';
import { MemoryConnectionCounter } from './connection-counter.ts';
import { useEventStreamLimits } from './event-stream-limits.ts';
import { useSubscriptionBudget } from './subscription-budget.ts';

type Context = Pick<GatewayContext, 'viewer' | 'clientIp' | 'transport'>;

const schema = createSchema<Context>({
  typeDefs: /* GraphQL */ `
    type Query {
      ok: Boolean
    }
    type Subscription {
      ticks: Int
    }
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

/** With `budget`, the per-user subscription budget runs after the limits, as in the gateway. */
function server(
  limits: Partial<SecurityLimits['ws']>,
  { budget, counter = new MemoryConnectionCounter() }: { budget?: number; counter?: MemoryConnectionCounter } = {},
) {
  return createYoga<object, Context>({
    schema,
    plugins: [
      useEventStreamLimits(
        { initTimeoutMs: 3_000, maxMessageBytes: 65_536, leaseMs: 60_000, ...limits },
        { counter, limiter: new MemoryRateLimiter(), keyPrefix: 'test' },
      ),
      ...(budget ? [useSubscriptionBudget({ counter, max: budget })] : []),
    ],
    context: ({ request }) => {
      const user = request.headers.get('x-user');
      return {
        viewer: user ? { id: user, username: user, sessionId: 's' } : null,
        clientIp: '198.51.100.1',
        transport: 'http' as const,
      };
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
  const first = JSON.parse(/\ndata: (.*)\n/.exec(text)?.[1] ?? '{}') as {
    data?: unknown;
    errors?: { extensions?: Record<string, unknown> }[];
  };
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

/** Opens a stream again until it is admitted (a closed stream frees its slot a moment after it closes), 20 tries at most. */
async function openOnceFreed(yoga: ReturnType<typeof server>, user: string) {
  for (let attempt = 1; ; attempt++) {
    const stream = await open(yoga, user);
    if (stream.first.data || attempt >= 20) return stream;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
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
    assert.deepEqual((await openOnceFreed(yoga, 'ann')).first.data, { ticks: 1 }, 'a closed stream frees its slot');
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

describe('the per-user subscription budget', () => {
  afterEach(() => Promise.all(opened.splice(0).map((stream) => stream.close())));

  it('refuses a subscription past the budget, per user, and frees a slot when a stream ends', async () => {
    const yoga = server({}, { budget: 2 });
    const streams = [await open(yoga, 'ann'), await open(yoga, 'ann')];
    for (const stream of streams) assert.deepEqual(stream.first.data, { ticks: 1 });
    const third = await open(yoga, 'ann');
    assert.equal(third.status, 429);
    const refusal = third.first.errors?.[0]?.extensions;
    assert.deepEqual(
      [refusal?.code, refusal?.reason, refusal?.limit],
      ['RATE_LIMITED', 'SUBSCRIPTION_BUDGET', 2],
      JSON.stringify(third.first),
    );
    assert.ok(Number(refusal?.retryAfterSeconds) >= 1);
    assert.deepEqual((await open(yoga, 'bob')).first.data, { ticks: 1 }, 'another user has a budget of their own');
    await streams[0]!.close();
    assert.deepEqual((await openOnceFreed(yoga, 'ann')).first.data, { ticks: 1 }, 'a closed stream frees its slot');
  });

  it('gives back the slots the plugins before it took when it refuses', async () => {
    const counter = new MemoryConnectionCounter();
    const yoga = server({ maxConnectionsPerUser: 1_000 }, { budget: 1, counter });
    await open(yoga, 'cat');
    for (let n = 0; n < 5; n++) assert.equal((await open(yoga, 'cat')).status, 429);
    // Only the open stream still holds a connection slot: 1, not 6.
    assert.equal(
      await counter.acquire('probe', [{ subject: 'user:cat', max: 2 }]),
      -1,
      'the refused ones gave their connection slots back',
    );
  });
});
