import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { MessageType, stringifyMessage } from 'graphql-ws';
import { expandSharedPayloads, serialiseOnce, sharedPayload } from './shared-frames.ts';

/** A socket as the `ws` package has it: what graphql-ws's adapter sends ends up here. */
function fakeSocket() {
  const sent: unknown[] = [];
  const socket = { send: (data: unknown) => void sent.push(data) };
  expandSharedPayloads(socket as never);
  return { socket, sent };
}

/** What graphql-ws's `emit.next` does with a result, given the `onNext` hook's answer. */
function emitNext(socket: { send(data: string): void }, id: string, result: ExecutionResult) {
  const { errors, ...rest } = result;
  const replaced = sharedPayload(socket, result);
  socket.send(
    stringifyMessage({
      id,
      type: MessageType.Next,
      payload: replaced ?? { ...rest, ...(errors ? { errors: errors.map((error) => error.toJSON()) } : {}) },
    } as never),
  );
}

describe('one serialisation for a shared result', () => {
  const results: ExecutionResult[] = [
    { data: { messageAdded: { text: 'hi "there" \u202e', sender: { displayName: 'Ann' } } } },
    {
      data: null,
      errors: [
        new GraphQLError('The session has ended; log in again.', {
          extensions: { code: 'UNAUTHENTICATED', reason: 'SESSION_ENDED' },
        }),
      ],
    },
  ];

  for (const result of results) {
    it(`sends byte for byte the frame graphql-ws would (${result.errors ? 'errors' : 'data'})`, () => {
      const plain = fakeSocket();
      emitNext(plain.socket, '7', result);
      const shared = fakeSocket();
      serialiseOnce(result);
      emitNext(shared.socket, '7', result);
      emitNext(shared.socket, 'other-id', result);
      assert.equal(shared.sent[0], plain.sent[0]);
      assert.equal(shared.sent[1], String(plain.sent[0]).replace('"id":"7"', '"id":"other-id"'));
    });
  }

  it('serialises a shared result once, however many frames carry it', () => {
    let serialised = 0;
    const result: ExecutionResult = { data: { counted: { toJSON: () => (serialised++, 'x') } } };
    serialiseOnce(result);
    const { socket, sent } = fakeSocket();
    for (let id = 1; id <= 50; id++) emitNext(socket, String(id), result);
    assert.equal(serialised, 1);
    assert.equal(sent.length, 50);
    assert.equal(sent[49], '{"id":"50","type":"next","payload":{"data":{"counted":"x"}}}');
  });

  it('leaves results nobody marked, and other messages, alone', () => {
    const { socket, sent } = fakeSocket();
    emitNext(socket, '1', { data: { a: 1 } });
    socket.send('{"type":"pong"}');
    assert.deepEqual(sent, ['{"id":"1","type":"next","payload":{"data":{"a":1}}}', '{"type":"pong"}']);
  });
});
