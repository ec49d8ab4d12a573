/** Close reasons on a real graphql-ws server (graphql-ws/use/ws over ws), as server.ts serves it. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { useServer } from 'graphql-ws/use/ws';
import { buildSchema } from 'graphql';
import { WebSocket, WebSocketServer } from 'ws';
import { boundCloseReasons, fitCloseReason, MAX_CLOSE_REASON_BYTES } from './close-reasons.ts';

/** Two subscribes with one long ID, the first still being admitted when the second arrives: how it closes. */
async function overlappingSubscribes(bound: boolean): Promise<{ code: number; reason: string }> {
  const server = createServer();
  const wss = new WebSocketServer({ server, path: '/graphql' });
  if (bound) wss.on('connection', (socket) => boundCloseReasons(socket));
  let admit!: () => void;
  const admitted = new Promise<void>((resolve) => (admit = resolve));
  const graphqlWs = useServer(
    {
      schema: buildSchema('type Query { ok: Boolean } type Subscription { ticks: Int }'),
      onSubscribe: async () => {
        await admitted; // still in flight when the second subscribe arrives
      },
    },
    wss,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const socket = new WebSocket(
      `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
      'graphql-transport-ws',
    );
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((resolve) => socket.once('message', resolve)); // connection_ack
    const subscribe = JSON.stringify({
      id: 'x'.repeat(700),
      type: 'subscribe',
      payload: { query: 'subscription { ticks }' },
    });
    socket.send(subscribe);
    socket.send(subscribe);
    const result = await closed;
    admit();
    return result;
  } finally {
    await graphqlWs.dispose();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('WebSocket close reasons', () => {
  it('closes an overlapping subscribe with 4409, its reason cut to a close frame', async () => {
    const { code, reason } = await overlappingSubscribes(true);
    assert.equal(code, 4409);
    assert.match(reason, /^Subscriber for x+…$/);
    assert.ok(Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES);
  });

  it('graphql-ws alone closes it with 4500 (why boundCloseReasons exists: drop both once this changes)', async () => {
    const { code } = await overlappingSubscribes(false);
    assert.equal(code, 4500);
  });

  it('cuts at a character boundary, never inside one', () => {
    assert.equal(fitCloseReason('short'), 'short');
    const cut = fitCloseReason('é'.repeat(100));
    assert.ok(Buffer.byteLength(cut) <= MAX_CLOSE_REASON_BYTES);
    assert.match(cut, /^é+…$/);
    assert.equal(fitCloseReason('x'.repeat(MAX_CLOSE_REASON_BYTES)), 'x'.repeat(MAX_CLOSE_REASON_BYTES));
  });
});
