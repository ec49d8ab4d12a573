/**
 * Reading a chat: history pages (both ways, or around a date or a message),
 * the live stream behind `chatEvents` and `messageAdded`, and the media a
 * message carries.
 */
import {
  badInput,
  notFound,
  pageSize,
  parseDateTime,
  parseId,
  requireId,
  Topics,
  type ChatEventRecord,
  type Connection,
} from '@chat/common';
import type DataLoader from 'dataloader';
import type { PlacedMessage } from '../store/message-state-store.ts';
import type { MessageRecord } from '../store/message-store.ts';
import type { MessageLike } from './event-types.ts';
import type { MessageAccess, MessageServiceDeps } from './message-access.ts';
import { cursorSeq, messageCursor } from './message-input.ts';
import { OrderedEventStream } from './ordered-stream.ts';
import { TypingExpiry } from './typing-expiry.ts';

export class HistoryService {
  #placed: DataLoader<string, PlacedMessage | null> | undefined;
  #media: DataLoader<string, string[]> | undefined;

  constructor(
    private readonly access: MessageAccess,
    private readonly deps: MessageServiceDeps,
  ) {}

  /**
   * A page of history, newest first (see the schema's `messages`), without
   * the messages the viewer hid. A page may hold fewer than `first` messages
   * when some were hidden; `pageInfo` still tells whether more exist.
   */
  async history(
    chatId: string,
    args: { first?: number | null; before?: string | null; after?: string | null; around?: string | null },
  ): Promise<Connection<MessageRecord>> {
    const viewer = this.access.requireViewer();
    const canonicalChatId = requireId(chatId, 'chatId').toString();
    const limit = pageSize(args.first);
    const given = (['before', 'after', 'around'] as const).filter(
      (name) => args[name] !== null && args[name] !== undefined,
    );
    if (given.length > 1)
      throw badInput(`Give at most one of before, after and around (got ${given.join(', ')}).`, { argument: given[1] });
    // An empty string is a cursor too (an invalid one), not an absent argument.
    const beforeSeq = args.before === null || args.before === undefined ? undefined : cursorSeq(args.before, 'before');
    const afterSeq = args.after === null || args.after === undefined ? undefined : cursorSeq(args.after, 'after');
    await this.access.requireMember(canonicalChatId);

    let rows: MessageRecord[];
    let hasOlder: boolean;
    let hasNewer: boolean;
    const store = this.deps.store;
    if (afterSeq !== undefined) {
      const newer = await store.range(canonicalChatId, afterSeq, limit + 1);
      rows = newer.slice(0, limit).reverse();
      hasNewer = newer.length > limit;
      hasOlder = BigInt(afterSeq) > 0n;
    } else if (args.around !== null && args.around !== undefined) {
      const target = await this.#aroundSeq(canonicalChatId, args.around);
      const older = await store.page(canonicalChatId, limit + 1, (target + 1n).toString());
      const newer = await store.range(canonicalChatId, target.toString(), limit + 1);
      // The target (the newest of `older`) in the middle: half the rest newer, the remainder older.
      let newerCount = Math.min(newer.length, Math.floor((limit - 1) / 2));
      const olderCount = Math.min(older.length, limit - newerCount);
      newerCount = Math.min(newer.length, limit - olderCount);
      rows = [...newer.slice(0, newerCount).reverse(), ...older.slice(0, olderCount)];
      hasOlder = older.length > olderCount;
      hasNewer = newer.length > newerCount;
    } else {
      const older = await store.page(canonicalChatId, limit + 1, beforeSeq);
      rows = older.slice(0, limit);
      hasOlder = older.length > limit;
      hasNewer = beforeSeq !== undefined;
    }
    const hidden = await this.deps.state.hiddenAmong(
      viewer.id,
      rows.map((row) => row.id),
    );
    const edges = rows
      .filter((row) => !hidden.has(row.id))
      .map((row) => ({ cursor: messageCursor(row.seq), node: row }));
    return {
      edges,
      pageInfo: {
        hasNextPage: hasOlder,
        endCursor: rows.length ? messageCursor(rows.at(-1)!.seq) : null,
        hasPreviousPage: hasNewer,
        startCursor: rows.length ? messageCursor(rows[0]!.seq) : null,
      },
    };
  }

  /** The `seq` that `around` names: a message of this chat, or the last message sent at or before a time (0: before the first). */
  async #aroundSeq(chatId: string, around: string): Promise<bigint> {
    const id = parseId(around);
    if (id !== undefined) {
      this.#placed ??= this.deps.state.placedLoader();
      const placed = await this.#placed.load(id.toString());
      if (!placed || placed.chatId !== chatId) throw notFound('Message');
      return BigInt(placed.seq);
    }
    // Years 0001 to 9999 only: what the stores hold (see common/src/date-time.ts).
    const at = parseDateTime(around);
    if (!at) {
      throw badInput(
        'around must be a message ID or an ISO-8601 time between 0001-01-01 and 9999-12-31 (e.g. 2026-11-25 or 2026-11-25T10:00:00Z).',
        { argument: 'around' },
      );
    }
    const seq = await this.deps.store.seqAt(chatId, at);
    return seq === null ? 0n : BigInt(seq);
  }

  /**
   * The stream behind `chatEvents` and `messageAdded`: the viewer's own topic
   * (every chat they are in, including chats joined later), narrowed to one
   * chat and to some event types when asked, new messages ordered and
   * gap-free, resumed from `after` when given, typing indicators expiring.
   */
  async subscribe(
    options: {
      chatId: string | null | undefined;
      after: string | null | undefined;
      types?: readonly ChatEventRecord['type'][];
    },
    listen: (topic: string) => AsyncIterator<ChatEventRecord>,
  ): Promise<AsyncIterableIterator<ChatEventRecord>> {
    const viewer = this.access.requireViewer();
    const { chatId, after, types } = options;
    const topic = Topics.userEvents(viewer.id);
    const wanted = (event: ChatEventRecord) => !types || types.includes(event.type);
    let stream: OrderedEventStream;
    if (chatId === null || chatId === undefined) {
      if (after !== null && after !== undefined)
        throw badInput('after needs chatId: a cursor is a position in one chat.', { argument: 'after' });
      stream = new OrderedEventStream(listen(topic), this.deps.store, { accept: wanted });
    } else {
      const canonicalChatId = requireId(chatId, 'chatId').toString();
      const afterSeq = after === null || after === undefined ? undefined : cursorSeq(after, 'after');
      await this.access.requireMember(canonicalChatId);
      stream = new OrderedEventStream(listen(topic), this.deps.store, {
        accept: (event) => event.chatId === canonicalChatId && wanted(event),
        resume: afterSeq === undefined ? undefined : { chatId: canonicalChatId, afterSeq },
      });
    }
    return wanted({ type: 'TypingChanged' } as ChatEventRecord) ? new TypingExpiry(stream) : stream;
  }

  /** The media a message carries, as entity references (none once deleted for everyone). */
  async mediaOf(message: MessageLike): Promise<{ id: string }[]> {
    if ('deletedAt' in message && message.deletedAt) return [];
    this.#media ??= this.deps.attachments.loader();
    return (await this.#media.load(message.id)).map((id) => ({ id }));
  }
}
