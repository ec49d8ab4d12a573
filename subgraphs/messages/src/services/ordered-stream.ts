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
 * A Repeater rather than an async generator: `return()` must end a `next()`
 * that is waiting for an event, or a closed subscription would keep its
 * pub/sub listener until the next message.
 */
import { log, type ChatEventRecord } from '@chat/common';
import { Repeater } from '@repeaterjs/repeater';
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

export class OrderedEventStream extends Repeater<ChatEventRecord> {
  constructor(
    source: AsyncIterator<ChatEventRecord>,
    store: MessageStore,
    { accept, resume, pageSize = 100 }: OrderedStreamOptions,
  ) {
    super(async (push, stop) => {
      const order = new ChatOrder(store);
      const stopped = stop.then((): IteratorReturnResult<undefined> => ({ done: true, value: undefined }));
      let over = false;
      void stopped.then(() => (over = true));
      const pushAll = async (messages: readonly MessageRecord[]) => {
        for (const message of order.fresh(messages)) await push(added(message));
      };
      try {
        if (resume) {
          order.passed(resume.chatId, BigInt(resume.afterSeq));
          // The replay, a page at a time; it ends with a short page. The source is listened to after it.
          while (!over) {
            const page = await order.after(resume.chatId, pageSize);
            await pushAll(page);
            if (page.length < pageSize) break;
          }
        }
        while (!over) {
          const step = await Promise.race([source.next(), stopped]);
          if (step.done) break;
          if (over || !accept(step.value)) continue;
          if (step.value.type === 'MessageAdded') await pushAll(await order.withGap(step.value.message));
          else await push(step.value);
        }
      } finally {
        await source.return?.();
      }
      stop();
    });
  }
}

/** Where each chat's stream stands: the last `seq` passed, and what history holds after it. */
class ChatOrder {
  readonly #last = new Map<string, bigint>();

  constructor(private readonly store: MessageStore) {}

  passed(chatId: string, seq: bigint): void {
    this.#last.set(chatId, seq);
  }

  /** A page of history after what the chat's stream passed. */
  after(chatId: string, pageSize: number): Promise<MessageRecord[]> {
    return this.store.range(chatId, (this.#last.get(chatId) ?? 0n).toString(), pageSize);
  }

  /** A live message, preceded by the messages history holds between the last passed and it. */
  async withGap(message: MessageRecord): Promise<MessageRecord[]> {
    const seq = BigInt(message.seq);
    const last = this.#last.get(message.chatId);
    if (last === undefined || seq <= last + 1n) return [message]; // seen already (dropped by `fresh`), or next
    const missing = await this.store.range(message.chatId, last.toString(), Number(seq - last - 1n), message.seq);
    if (missing.length < Number(seq - last - 1n)) {
      log.warn('history is missing messages a subscriber skipped', {
        chatId: message.chatId,
        after: last,
        before: seq,
        found: missing.length,
      });
    }
    return [...missing, message];
  }

  /** The messages not passed yet, in order; passes them. */
  fresh(messages: readonly MessageRecord[]): MessageRecord[] {
    const out: MessageRecord[] = [];
    for (const message of messages) {
      const seq = BigInt(message.seq);
      if (seq <= (this.#last.get(message.chatId) ?? 0n)) continue;
      this.#last.set(message.chatId, seq);
      out.push(message);
    }
    return out;
  }
}
