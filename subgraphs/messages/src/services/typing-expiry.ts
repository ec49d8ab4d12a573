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
import { Repeater } from '@repeaterjs/repeater';

type TypingEvent = Extract<ChatEventRecord, { type: 'TypingChanged' }>;

/** The source's events, and a `typing: false` for each indicator that lapsed. Returning it returns the source. */
export class TypingExpiry extends Repeater<ChatEventRecord> {
  constructor(source: AsyncIterator<ChatEventRecord>, now: () => number = Date.now) {
    super(async (push, stop) => {
      const timers = new Map<string, NodeJS.Timeout>();
      const track = (event: TypingEvent): void => {
        const key = `${event.chatId}:${event.userId}`;
        clearTimeout(timers.get(key));
        timers.delete(key);
        if (!event.typing || event.expiresAt === null) return;
        const delay = Math.max(0, Date.parse(event.expiresAt) - now());
        const timer = setTimeout(() => {
          timers.delete(key);
          const { chatId, userId } = event;
          pushLapsed(push, { type: 'TypingChanged', chatId, userId, typing: false, expiresAt: null });
        }, delay);
        timer.unref();
        timers.set(key, timer);
      };
      const stopped = stop.then((): IteratorReturnResult<undefined> => ({ done: true, value: undefined }));
      try {
        for (;;) {
          const step = await Promise.race([source.next(), stopped]);
          if (step.done) break;
          if (step.value.type === 'TypingChanged') track(step.value);
          await push(step.value);
        }
      } finally {
        for (const timer of timers.values()) clearTimeout(timer);
        await source.return?.();
      }
      stop();
    });
  }
}

/**
 * From a timer, where nothing may throw: a subscriber 1,024 events behind
 * misses the lapse (its screen is stale anyway).
 */
function pushLapsed(push: (value: ChatEventRecord) => Promise<unknown>, event: TypingEvent): void {
  try {
    void push(event).catch(() => {});
  } catch {
    // RepeaterOverflowError
  }
}
