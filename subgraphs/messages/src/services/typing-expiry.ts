/**
 * Makes typing indicators expire by themselves for one subscriber: after a
 * `TypingChanged { typing: true }` that is not repeated or ended before its
 * `expiresAt`, the subscriber receives `typing: false` from this stream.
 *
 * Done per subscriber, where the events are consumed, rather than by the
 * process that took `setTyping`: nothing is stored, any process may take the
 * next `setTyping` of the same user, and a typist whose device or server
 * vanished still stops "typing" on everyone's screen on time.
 */
import type { ChatEventRecord } from '@chat/common';

type TypingEvent = Extract<ChatEventRecord, { type: 'TypingChanged' }>;

export class TypingExpiry implements AsyncIterableIterator<ChatEventRecord> {
  readonly #source: AsyncIterator<ChatEventRecord>;
  readonly #now: () => number;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #expired: TypingEvent[] = [];
  /** The source's pending `next()`, kept across our calls so no event is dropped when a timer wins a race. */
  #pending: Promise<IteratorResult<ChatEventRecord>> | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(source: AsyncIterator<ChatEventRecord>, now: () => number = Date.now) {
    this.#source = source;
    this.#now = now;
  }

  async next(): Promise<IteratorResult<ChatEventRecord>> {
    while (!this.#closed) {
      const expired = this.#expired.shift();
      if (expired) return { done: false, value: expired };
      this.#pending ??= this.#source.next();
      const woken = new Promise<'woken'>((resolve) => (this.#wake = () => resolve('woken')));
      const step = await Promise.race([this.#pending, woken]);
      this.#wake = undefined;
      if (step === 'woken') continue;
      this.#pending = undefined;
      if (step.done) return this.return();
      if (step.value.type === 'TypingChanged') this.#track(step.value);
      return step;
    }
    return { done: true, value: undefined };
  }

  #track(event: TypingEvent): void {
    const key = `${event.chatId}:${event.userId}`;
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
    if (!event.typing || event.expiresAt === null) return;
    const delay = Math.max(0, Date.parse(event.expiresAt) - this.#now());
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.#expired.push({ type: 'TypingChanged', chatId: event.chatId, userId: event.userId, typing: false, expiresAt: null });
      this.#wake?.();
    }, delay);
    timer.unref();
    this.#timers.set(key, timer);
  }

  async return(): Promise<IteratorReturnResult<undefined>> {
    if (!this.#closed) {
      this.#closed = true;
      for (const timer of this.#timers.values()) clearTimeout(timer);
      this.#timers.clear();
      this.#expired.length = 0;
      this.#wake?.();
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
