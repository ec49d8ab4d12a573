import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMemoryRuntime, type Runtime } from '@chat/common';
import { PubSub } from 'graphql-subscriptions';
import { PrismaMessageStore, type MessageRecord } from '../store/message-store.ts';
import { OrderedMessageStream } from './ordered-stream.ts';

const message = (chatId: string, seq: number): MessageRecord => ({
  id: String(chatId === '1' ? 10_000 + seq : 20_000 + seq),
  chatId,
  seq: String(seq),
  senderId: '7',
  text: `chat ${chatId} #${seq}`,
  clientMessageId: `c${chatId}-${seq}`,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
});

describe('OrderedMessageStream', () => {
  let runtime: Runtime;
  let store: PrismaMessageStore;
  const pubsub = new PubSub();
  const topic = 'test.topic';

  before(async () => {
    runtime = await createMemoryRuntime();
    store = new PrismaMessageStore(runtime.db.prisma);
    // History holds chat 1's messages 1..10 and chat 2's 1..3.
    for (let seq = 1; seq <= 10; seq++) await store.write(message('1', seq));
    for (let seq = 1; seq <= 3; seq++) await store.write(message('2', seq));
  });
  after(() => runtime.close());

  const open = (options: ConstructorParameters<typeof OrderedMessageStream>[2]) =>
    new OrderedMessageStream(pubsub.asyncIterableIterator<MessageRecord>(topic), store, options);
  const take = async (stream: OrderedMessageStream, count: number) => {
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const step = await stream.next();
      assert.equal(step.done, false);
      out.push(`${step.value.chatId}:${step.value.seq}`);
    }
    return out;
  };
  /** Publishes once the stream is waiting, as pub/sub listeners attach on the first next(). */
  const publishSoon = (...messages: MessageRecord[]) =>
    setTimeout(() => messages.forEach((m) => void pubsub.publish(topic, m)), 20);

  it('drops repeats and fills a jump in seq from history, per chat', async () => {
    const stream = open({ accept: () => true });
    publishSoon(message('1', 2), message('1', 2), message('2', 1), message('1', 5), message('1', 4), message('2', 3), message('1', 6));
    assert.deepEqual(await take(stream, 7), ['1:2', '2:1', '1:3', '1:4', '1:5', '2:2', '2:3']);
    // 1:4 and 1:5 were filled from history; the late live 1:4 was dropped.
    assert.deepEqual(await take(stream, 1), ['1:6']);
    await stream.return();
  });

  it('resumes after a cursor: replays from history, then continues live without a duplicate at the seam', async () => {
    const stream = open({ accept: (m) => m.chatId === '1', resume: { chatId: '1', afterSeq: '7' }, pageSize: 2 });
    publishSoon(message('1', 9), message('2', 9), message('1', 10), message('1', 11));
    assert.deepEqual(await take(stream, 4), ['1:8', '1:9', '1:10', '1:11']);
    await stream.return();
  });

  it('the Postgres store finds the position at a point in time', async () => {
    // Chat 1's message n was sent n seconds after midnight, 1 Jan 2026.
    assert.equal(await store.seqAt('1', new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 500))), null);
    assert.equal(await store.seqAt('1', new Date(Date.UTC(2026, 0, 1, 0, 0, 4, 500))), '4');
    assert.equal(await store.seqAt('1', new Date(Date.UTC(2027, 0, 1))), '10');
  });

  it('ends a next() that is waiting for an event when returned', async () => {
    const stream = open({ accept: () => true });
    const pending = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await stream.return();
    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
  });
});
