/**
 * A subscriber's view of a user's chat events: each chat's new messages
 * (`MessageAdded`) once, in `seq` order, with no gap; the other events as
 * they come.
 *
 * Live events come from pub/sub, which may drop some (a Redis restart, a
 * subscriber that connected a moment late) and repeat others (a message the
 * pipeline processed again). This stream drops what it has already passed,
 * and when a chat's `seq` jumps it first reads the missing messages from
 * history (the pipeline stores a message before it announces it). With a
 * starting position (`messageAdded(chatId, after)`), it first replays from
 * history everything after it, then continues live; events that arrive
 * during the replay are de-duplicated at the seam by the same rule.
 *
 * Hand-written rather than an async generator: `return()` must end a `next()`
 * that is waiting for an event, or a closed subscription would keep its
 * pub/sub listener until the next message.
 */
import { log, type ChatEventRecord } from '@chat/common';
import type { MessageRecord, MessageStore } from '../store/message-store.ts';

export interface OrderedStreamOptions {
  /** Which events of the topic belong to this subscription. */
  accept: (event: ChatEventRecord) => boolean;
  /** Replay this chat from after this `seq` before going live. */
  resume?: { chatId: string; afterSeq: string };
  /** @default 100 */
  pageSize?: number;
}

const added = (message: MessageRecord): ChatEventRecord => ({ type: 'MessageAdded', chatId: message.chatId, message });

export class OrderedEventStream implements AsyncIterableIterator<ChatEventRecord> {
  readonly #source: AsyncIterator<ChatEventRecord>;
  readonly #store: MessageStore;
  readonly #accept: (event: ChatEventRecord) => boolean;
  readonly #pageSize: number;
  readonly #last = new Map<string, bigint>();
  readonly #ready: ChatEventRecord[] = [];
  #replaying: string | undefined;
  #closed = false;

  constructor(source: AsyncIterator<ChatEventRecord>, store: MessageStore, { accept, resume, pageSize = 100 }: OrderedStreamOptions) {
    this.#source = source;
    this.#store = store;
    this.#accept = accept;
    this.#pageSize = pageSize;
    if (resume) {
      this.#last.set(resume.chatId, BigInt(resume.afterSeq));
      this.#replaying = resume.chatId;
    }
  }

  async next(): Promise<IteratorResult<ChatEventRecord>> {
    while (!this.#closed) {
      const ready = this.#ready.shift();
      if (ready) return { done: false, value: ready };
      if (this.#replaying !== undefined) {
        await this.#replayPage(this.#replaying);
        continue;
      }
      const step = await this.#source.next();
      if (step.done) return this.return();
      if (this.#closed || !this.#accept(step.value)) continue;
      if (step.value.type === 'MessageAdded') await this.#admit(step.value.message);
      else this.#ready.push(step.value);
    }
    return { done: true, value: undefined };
  }

  /** One page of the initial replay; the replay ends with a short page. */
  async #replayPage(chatId: string): Promise<void> {
    const after = this.#last.get(chatId) ?? 0n;
    const page = await this.#store.range(chatId, after.toString(), this.#pageSize);
    this.#push(page);
    if (page.length < this.#pageSize) this.#replaying = undefined;
  }

  async #admit(message: MessageRecord): Promise<void> {
    const seq = BigInt(message.seq);
    const last = this.#last.get(message.chatId);
    if (last !== undefined && seq <= last) return; // seen already
    if (last !== undefined && seq > last + 1n) {
      const missing = await this.#store.range(message.chatId, last.toString(), Number(seq - last - 1n), message.seq);
      if (missing.length < Number(seq - last - 1n)) {
        log.warn('history is missing messages a subscriber skipped', { chatId: message.chatId, after: last, before: seq, found: missing.length });
      }
      this.#push(missing);
    }
    this.#push([message]);
  }

  #push(messages: readonly MessageRecord[]): void {
    for (const message of messages) {
      const seq = BigInt(message.seq);
      if (seq <= (this.#last.get(message.chatId) ?? 0n)) continue;
      this.#last.set(message.chatId, seq);
      this.#ready.push(added(message));
    }
  }

  async return(): Promise<IteratorReturnResult<undefined>> {
    if (!this.#closed) {
      this.#closed = true;
      this.#ready.length = 0;
      await this.#source.return?.();
    }
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<ChatEventRecord>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
