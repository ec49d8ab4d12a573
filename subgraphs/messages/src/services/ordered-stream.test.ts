import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ChatEventRecord, type Runtime } from '@chat/common';
import { createMemoryRuntime } from '@chat/common/testing';
import { PubSub } from 'graphql-subscriptions';
import { PrismaMessageStore, type MessageRecord } from '../store/message-store.ts';
import { OrderedEventStream } from './ordered-stream.ts';
import { TypingExpiry } from './typing-expiry.ts';

const message = (chatId: string, seq: number): MessageRecord => ({
  id: String(chatId === '1' ? 10_000 + seq : 20_000 + seq),
  chatId,
  seq: String(seq),
  senderId: '7',
  text: `chat ${chatId} #${seq}`,
  clientMessageId: `c${chatId}-${seq}`,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  kind: 'USER',
  system: null,
  editedAt: null,
  deletedAt: null,
  version: 1,
});

const added = (chatId: string, seq: number): ChatEventRecord => ({
  type: 'MessageAdded',
  chatId,
  message: message(chatId, seq),
});

describe('OrderedEventStream', () => {
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

  const open = (options: ConstructorParameters<typeof OrderedEventStream>[2]) =>
    new OrderedEventStream(pubsub.asyncIterableIterator<ChatEventRecord>(topic), store, options);
  const label = (event: ChatEventRecord) =>
    event.type === 'MessageAdded' ? `${event.chatId}:${event.message.seq}` : `${event.chatId}:${event.type}`;
  const take = async (stream: AsyncIterator<ChatEventRecord>, count: number) => {
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const step = await stream.next();
      assert.equal(step.done, false);
      out.push(label(step.value));
    }
    return out;
  };
  /** Publishes once the stream is waiting, as pub/sub listeners attach on the first next(). */
  const publishSoon = (...events: ChatEventRecord[]) =>
    setTimeout(() => events.forEach((e) => void pubsub.publish(topic, e)), 20);

  it('drops repeats and fills a jump in seq from history, per chat', async () => {
    const stream = open({ accept: () => true });
    publishSoon(
      added('1', 2),
      added('1', 2),
      added('2', 1),
      added('1', 5),
      added('1', 4),
      added('2', 3),
      added('1', 6),
    );
    assert.deepEqual(await take(stream, 7), ['1:2', '2:1', '1:3', '1:4', '1:5', '2:2', '2:3']);
    // 1:4 and 1:5 were filled from history; the late live 1:4 was dropped.
    assert.deepEqual(await take(stream, 1), ['1:6']);
    await stream.return();
  });

  it('resumes after a cursor: replays from history, then continues live without a duplicate at the seam', async () => {
    const stream = open({
      accept: (event) => event.chatId === '1',
      resume: { chatId: '1', afterSeq: '7' },
      pageSize: 2,
    });
    publishSoon(added('1', 9), added('2', 9), added('1', 10), added('1', 11));
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

  it('passes other events through in arrival order, between the ordered messages', async () => {
    const stream = open({ accept: () => true });
    const typing: ChatEventRecord = { type: 'TypingChanged', chatId: '2', userId: '7', typing: true, expiresAt: null };
    publishSoon(added('2', 1), typing, { type: 'MessageEdited', chatId: '2', message: message('2', 1) }, added('2', 2));
    assert.deepEqual(await take(stream, 4), ['2:1', '2:TypingChanged', '2:MessageEdited', '2:2']);
    await stream.return();
  });
});

describe('TypingExpiry', () => {
  const pubsub = new PubSub();
  const topic = 'typing.topic';
  const typing = (userId: string, expiresInMs: number | null): ChatEventRecord => ({
    type: 'TypingChanged',
    chatId: '1',
    userId,
    typing: expiresInMs !== null,
    expiresAt: expiresInMs === null ? null : new Date(Date.now() + expiresInMs).toISOString(),
  });
  const publishSoon = (...events: ChatEventRecord[]) =>
    setTimeout(() => events.forEach((e) => void pubsub.publish(topic, e)), 20);

  it('ends a typing indicator by itself at its expiry, unless repeated or ended first', async () => {
    const stream = new TypingExpiry(pubsub.asyncIterableIterator<ChatEventRecord>(topic));
    // The expiry timers are unref'd (they must not keep a server alive); keep this test's process alive.
    const keepAlive = setInterval(() => {}, 1_000);
    after(() => clearInterval(keepAlive));
    const started = Date.now();
    publishSoon(typing('ann', 150), typing('bob', 100), typing('bob', null));
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const step = await stream.next();
      assert.equal(step.done, false);
      const event = step.value as Extract<ChatEventRecord, { type: 'TypingChanged' }>;
      seen.push(`${event.userId}:${event.typing}`);
    }
    // bob ended his own before it lapsed: only ann's lapse is synthesized, once, after ~150 ms.
    assert.deepEqual(seen, ['ann:true', 'bob:true', 'bob:false', 'ann:false']);
    assert.ok(Date.now() - started >= 150);
    const next = stream.next();
    const quiet = await Promise.race([
      next.then(() => 'event'),
      new Promise((resolve) => setTimeout(() => resolve('quiet'), 250)),
    ]);
    assert.equal(quiet, 'quiet', 'no second lapse for the same indicator');
    await stream.return();
    assert.deepEqual(await next, { done: true, value: undefined });
  });
});
