/** The per-user budget of live subscriptions, on a Yoga server of its own, with the plugin that runs before it. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MemoryRateLimiter } from '@chat/common';
import { createSchema, createYoga } from 'graphql-yoga';
import type { GatewayContext } from '../subgraph-hosts.ts';
import { MemoryConnectionCounter } from './connection-counter.ts';
import { useEventStreamLimits } from './event-stream-limits.ts';
import { useSubscriptionBudget } from './subscription-budget.ts';

type Context = Pick<GatewayContext, 'viewer' | 'clientIp' | 'transport'>;

const schema = createSchema<Context>({
  typeDefs: 'type Query { ok: Boolean } type Subscription { ticks: Int }',
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

function server(counter: MemoryConnectionCounter, max: number) {
  return createYoga<object, Context>({
    schema,
    plugins: [
      // Before the budget, as in the gateway: it takes a connection slot, which the budget's refusal must give back.
      useEventStreamLimits({ initTimeoutMs: 3_000, maxMessageBytes: 65_536, leaseMs: 60_000, maxConnectionsPerUser: 1_000 }, { counter, limiter: new MemoryRateLimiter(), keyPrefix: 'test' }),
      useSubscriptionBudget({ counter, max }),
    ],
    context: ({ request }) => ({ viewer: { id: request.headers.get('x-user')!, username: 'u', sessionId: 's' }, clientIp: '198.51.100.1', transport: 'http' as const }),
    logging: false,
  });
}

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
  const first = JSON.parse(/\ndata: (.*)\n/.exec(text)?.[1] ?? '{}') as { errors?: { extensions?: Record<string, unknown> }[] };
  const stream = { status: response.status, first, close: () => (abort.abort(), reader.cancel().catch(() => {})) };
  opened.push(stream);
  return stream;
}

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((stream) => stream.close()));
});

describe('the per-user subscription budget', () => {
  it('refuses the subscription past the budget, per user, and frees a slot when a stream ends', async () => {
    const counter = new MemoryConnectionCounter();
    const yoga = server(counter, 2);
    const [one, two] = [await open(yoga, 'ann'), await open(yoga, 'ann')];
    assert.deepEqual([one.first.errors, two.first.errors], [undefined, undefined]);
    const third = await open(yoga, 'ann');
    assert.equal(third.status, 429);
    assert.deepEqual(
      [third.first.errors?.[0]?.extensions?.code, third.first.errors?.[0]?.extensions?.reason, third.first.errors?.[0]?.extensions?.limit],
      ['RATE_LIMITED', 'SUBSCRIPTION_BUDGET', 2],
    );
    assert.equal((await open(yoga, 'bob')).first.errors, undefined, 'another user has a budget of their own');
    await one.close();
    let again;
    for (let attempt = 0; attempt < 100; attempt++) {
      again = await open(yoga, 'ann');
      if (!again.first.errors) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(again?.first.errors, undefined, 'the slot of the ended stream was freed');
  });

  it('gives back the slots the plugins before it took when it refuses', async () => {
    const counter = new MemoryConnectionCounter();
    const yoga = server(counter, 1);
    await open(yoga, 'cat');
    for (let n = 0; n < 5; n++) assert.equal((await open(yoga, 'cat')).status, 429);
    // Only the open stream still holds a connection slot: 1, not 6.
    assert.equal(await counter.acquire('probe', [{ subject: 'user:cat', max: 2 }]), -1, 'a second connection slot is free: the refused ones were given back');
  });
});
