import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { SecurityLimits } from './config.ts';
import { MemoryConnectionCounter, type ConnectionCounter, type Slot } from './connection-counter.ts';
import { CLOSE_TOO_MANY_CONNECTIONS, WebSocketLimits, type LimitedConnection } from './ws-limits.ts';

const BASE: SecurityLimits['ws'] = { initTimeoutMs: 3_000, maxMessageBytes: 65_536, leaseMs: 60_000 };

/** A graphql-ws context as the limits see it, recording how its socket was closed. */
function connection(
  open: string[] = [],
): LimitedConnection & { closedWith?: [number, string]; subscriptions: Record<string, unknown> } {
  const ctx: LimitedConnection & { closedWith?: [number, string]; subscriptions: Record<string, unknown> } = {
    subscriptions: Object.fromEntries(open.map((id) => [id, null])),
    extra: { socket: { close: (code: number, reason: string) => (ctx.closedWith = [code, reason]) } },
  };
  return ctx;
}

/** A socket as it opens (before any message), recording how it was closed; `end()` is the client going away. */
class OpeningSocket extends EventEmitter {
  closedWith?: [number, string];
  /** The upgrade request: the key that links the socket to its graphql-ws context. */
  readonly request = {};
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
    this.end();
  }
  end(): void {
    this.emit('close');
  }
  /** Its graphql-ws context, once it sends connection_init. */
  context(): ReturnType<typeof connection> {
    const ctx = connection();
    return { ...ctx, extra: { ...ctx.extra, request: this.request } };
  }
}

describe('WebSocket limits', () => {
  it('counts a socket against its address as it opens, before connection_init, and frees the slot when it closes', async () => {
    const counter = new MemoryConnectionCounter();
    const limits = new WebSocketLimits({ ...BASE, maxConnectionsPerUser: 5, maxConnectionsPerIp: 2 }, counter);
    const [a, b, c] = [new OpeningSocket(), new OpeningSocket(), new OpeningSocket()];
    assert.equal(await limits.admitSocket(a, a.request, '198.51.100.1'), true);
    assert.equal(await limits.admitSocket(b, b.request, '198.51.100.1'), true);
    // Neither sent anything; the third is refused all the same.
    assert.equal(await limits.admitSocket(c, c.request, '198.51.100.1'), false);
    assert.deepEqual(c.closedWith, [CLOSE_TOO_MANY_CONNECTIONS, 'Too many connections from this address.']);
    assert.equal(await limits.admitSocket(new OpeningSocket(), {}, '198.51.100.2'), true, 'another address');

    // connection_init takes the user's slot only: the address is counted once.
    const ctx = a.context();
    assert.equal(await limits.admit(ctx, { userId: 'ann', clientIp: '198.51.100.1' }), true);
    a.end();
    await limits.release(ctx);
    const d = new OpeningSocket();
    assert.equal(await limits.admitSocket(d, d.request, '198.51.100.1'), true, 'the closed socket freed its slot');
    // b never sent connection_init: closing frees its slot too.
    b.end();
    await new Promise((resolve) => setImmediate(resolve));
    const e = new OpeningSocket();
    assert.equal(await limits.admitSocket(e, e.request, '198.51.100.1'), true);
    // ann's slot went with a's socket: five more of hers fit, on other addresses.
    for (let n = 0; n < 5; n++) {
      const socket = new OpeningSocket();
      assert.equal(await limits.admitSocket(socket, socket.request, `203.0.113.${n}`), true);
      assert.equal(
        await limits.admit(socket.context(), { userId: 'ann', clientIp: `203.0.113.${n}` }),
        true,
        `ann's connection ${n + 1}`,
      );
    }
  });

  it('refuses connection_init on a socket its address was refused', async () => {
    const limits = new WebSocketLimits({ ...BASE, maxConnectionsPerIp: 1 }, new MemoryConnectionCounter());
    const [a, b] = [new OpeningSocket(), new OpeningSocket()];
    await limits.admitSocket(a, a.request, '198.51.100.1');
    const refused = limits.admitSocket(b, b.request, '198.51.100.1');
    assert.equal(await limits.admit(b.context(), { userId: undefined, clientIp: '198.51.100.1' }), false);
    assert.equal(await refused, false);
  });

  it('admits connections per user and per address up to their limits, and again once one closes', async () => {
    const limits = new WebSocketLimits(
      { ...BASE, maxConnectionsPerUser: 2, maxConnectionsPerIp: 3 },
      new MemoryConnectionCounter(),
    );
    const [a, b, c] = [connection(), connection(), connection()];
    assert.equal(await limits.admit(a, { userId: 'ann', clientIp: '198.51.100.1' }), true);
    assert.equal(await limits.admit(b, { userId: 'ann', clientIp: '198.51.100.2' }), true);
    assert.equal(await limits.admit(c, { userId: 'ann', clientIp: '198.51.100.3' }), false);
    assert.deepEqual(c.closedWith, [CLOSE_TOO_MANY_CONNECTIONS, 'Too many connections for this user.']);
    await limits.release(c); // graphql-ws calls onClose for the refused socket too: it held nothing
    await limits.release(a);
    const d = connection();
    assert.equal(await limits.admit(d, { userId: 'ann', clientIp: '198.51.100.1' }), true);

    // Per address, anonymous connections included; an IPv6 /64 is one address.
    const anonymous = [connection(), connection(), connection()];
    for (const [n, ctx] of anonymous.entries())
      assert.equal(await limits.admit(ctx, { userId: undefined, clientIp: `2001:db8::${n}` }), true);
    const fourth = connection();
    assert.equal(await limits.admit(fourth, { userId: 'bob', clientIp: '2001:db8::ff' }), false);
    assert.deepEqual(fourth.closedWith, [CLOSE_TOO_MANY_CONNECTIONS, 'Too many connections from this address.']);
    // The refused connection took no slot for bob.
    assert.equal(await limits.admit(connection(), { userId: 'bob', clientIp: '198.51.100.9' }), true);
  });

  it('frees the slots of a socket that closed while they were being taken', async () => {
    let acquired!: () => void;
    const inner = new MemoryConnectionCounter();
    const slow: ConnectionCounter = {
      newConnectionId: () => inner.newConnectionId(),
      acquire: async (id: string, slots: readonly Slot[]) => {
        await new Promise<void>((resolve) => (acquired = resolve));
        return inner.acquire(id, slots);
      },
      release: (id) => inner.release(id),
      close: () => inner.close(),
    };
    const limits = new WebSocketLimits({ ...BASE, maxConnectionsPerUser: 1 }, slow);
    const first = connection();
    const admitting = limits.admit(first, { userId: 'ann', clientIp: '198.51.100.1' });
    const releasing = limits.release(first);
    acquired();
    assert.equal(await admitting, false);
    await releasing;
    const second = connection();
    const next = limits.admit(second, { userId: 'ann', clientIp: '198.51.100.1' });
    acquired();
    assert.equal(await next, true, 'the closed socket left no slot behind');
  });

  it('refuses subscribe messages over the rate, with a retry hint, and operations over the per-connection limit', async () => {
    const limits = new WebSocketLimits(
      { ...BASE, subscribeRate: { max: 3, windowMs: 2_000 }, maxSubscriptionsPerConnection: 2 },
      new MemoryConnectionCounter(),
    );
    const ctx = connection();
    ctx.subscriptions['1'] = null;
    assert.equal(limits.checkSubscribe(ctx), undefined);
    ctx.subscriptions['2'] = null;
    assert.equal(limits.checkSubscribe(ctx), undefined);
    ctx.subscriptions['3'] = null;
    const tooMany = limits.checkSubscribe(ctx)?.[0];
    assert.deepEqual(tooMany?.extensions, { code: 'RATE_LIMITED', reason: 'TOO_MANY_SUBSCRIPTIONS', limit: 2 });
    delete ctx.subscriptions['3'];
    ctx.subscriptions['4'] = null;
    const tooFast = limits.checkSubscribe(ctx)?.[0];
    assert.equal(tooFast?.extensions.code, 'RATE_LIMITED');
    assert.equal(tooFast?.extensions.reason, 'SUBSCRIBE_RATE');
    assert.ok([1, 2].includes(tooFast?.extensions.retryAfterSeconds as number));
    // Another connection has its own rate.
    assert.equal(limits.checkSubscribe(connection(['x'])), undefined);
  });

  it('limits nothing that is off', async () => {
    const limits = new WebSocketLimits(BASE, new MemoryConnectionCounter());
    for (let n = 0; n < 20; n++) {
      assert.equal(await limits.admit(connection(), { userId: 'ann', clientIp: '198.51.100.1' }), true);
      assert.equal(limits.checkSubscribe(connection(Array.from({ length: 100 }, (_, i) => String(i)))), undefined);
    }
  });
});
