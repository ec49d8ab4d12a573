/**
 * Who may read, send and change messages, the rules they follow, and how
 * every change is announced to the members' devices (`Topics.userEvents`).
 */
import {
  apiError,
  badInput,
  decodeCursor,
  encodeCursor,
  forbidden,
  fromZodError,
  INVALID_TEXT,
  normaliseMessageText,
  notFound,
  pageSize,
  parseDateTime,
  parseId,
  requireId,
  Topics,
  unauthenticated,
  type ChatEventRecord,
  type Connection,
  type PubSubEngine,
  type Viewer,
} from '@chat/common';
import DataLoader from 'dataloader';
import { z } from 'zod';
import { refuse } from '../errors.ts';
import { isMember, type ChatAccess, type ChatStanding, type MembershipStore } from '../store/membership-store.ts';
import type { MessageLog } from '../pipeline/message-log.ts';
import type { MessageRecord, MessageStore, PendingMessage } from '../store/message-store.ts';
import type {
  MemberPosition,
  MessageStateStore,
  PlacedMessage,
  ReactionRecord,
  ReceiptKind,
  ReceiptPositionRecord,
  ReceiptTimes,
} from '../store/message-state-store.ts';
import { MediaNotAttachableError, type AttachmentStore } from '../store/attachment-store.ts';
import type { SendKeyStore } from '../store/send-key-store.ts';
import { OrderedEventStream } from './ordered-stream.ts';
import { TypingExpiry } from './typing-expiry.ts';

export const MAX_TEXT_LENGTH = 4000;
/**
 * Longest text accepted before trimming: room for surrounding whitespace, and
 * a cheap refusal of huge strings before any work is done on them.
 */
export const MAX_RAW_TEXT_LENGTH = 2 * MAX_TEXT_LENGTH;
export const MAX_CLIENT_MESSAGE_ID_LENGTH = 64;

/**
 * A chat the viewer is not in answers exactly as one that does not exist
 * (code and message), and so does a message of such a chat: IDs cannot be
 * probed. docs/SECURITY.md.
 */
export const chatNotFound = () => notFound('Chat');
export const messageNotFound = () => notFound('Message');

/** A direct chat in which either member blocked the other: neutral, it does not say who blocked whom. */
export const CANNOT_SEND = 'You cannot send messages in this chat.';

const ZId = z.string().refine((value) => parseId(value) !== undefined, 'must be a valid ID');

/**
 * Control characters other than tab and line breaks: invisible in a chat, and
 * able to rewrite a terminal that prints them. (Postgres text cannot hold NUL
 * at all.)
 */
const CONTROL_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/**
 * A message's text as stored: trimmed, normalised (NFC, bidi controls
 * balanced: see `normaliseMessageText`), then counted; empty is allowed only
 * with media (checked on the whole input, `ZSendMessageInputSchema`).
 */
const ZCaptionSchema = z
  .string()
  .max(MAX_RAW_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`)
  .transform((text) => normaliseMessageText(text.trim()))
  .pipe(
    z
      .string()
      .max(MAX_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`)
      .refine((text) => !CONTROL_CHARACTER.test(text), { message: 'must not contain control characters other than tab and line breaks', params: { reason: INVALID_TEXT } }),
  );

/** An edited message's text: the rules of `ZCaptionSchema`, and never empty. */
const ZTextSchema = ZCaptionSchema.refine((text) => text.length > 0, 'must not be empty');

/** How many media one message may carry. */
export const MAX_MEDIA_PER_MESSAGE = 10;

export const ZSendMessageInputSchema = z
  .object({
  chatId: ZId,
  text: ZCaptionSchema,
  mediaIds: z
    .array(z.string().regex(/^\d{1,20}$/, 'must be media IDs'))
    .max(MAX_MEDIA_PER_MESSAGE, `at most ${MAX_MEDIA_PER_MESSAGE} media per message`)
    .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a media')
    .nullish()
    .transform((ids) => ids ?? []),
  clientMessageId: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_CLIENT_MESSAGE_ID_LENGTH, `must be at most ${MAX_CLIENT_MESSAGE_ID_LENGTH} characters`)
    .regex(/^[A-Za-z0-9._:-]*$/, 'may contain only letters, digits and . _ : -'),
})
  .refine((input) => input.text.length > 0 || input.mediaIds.length > 0, { path: ['text'], message: 'must not be empty' });

export type SendMessageInput = z.input<typeof ZSendMessageInputSchema>;

export const ZEditMessageInputSchema = z.object({ id: ZId, text: ZTextSchema });

/** One emoji, as Unicode defines them (skin tones, flags and ZWJ sequences included). */
const ZEmojiSchema = z
  .string()
  .max(64, 'must be a single emoji')
  // The `v` flag (Unicode sets) is what knows emoji sequences; built at run time since the compile target predates it.
  .regex(new RegExp('^\\p{RGI_Emoji}$', 'v'), 'must be a single emoji');

/** How many different emoji one user may put on one message. */
export const MAX_REACTIONS_PER_USER = 20;

/** Timing rules, from configuration. */
export interface MessageRules {
  /** How long after sending the sender may edit. */
  editWindowMs: number;
  /** How long after sending the sender may delete for everyone (group owners and admins: always). */
  deleteWindowMs: number;
  /** How long `setTyping(typing: true)` lasts unless repeated. */
  typingTtlMs: number;
}

/** What the service works with, shared by every request. */
export interface MessageServiceDeps {
  store: MessageStore;
  membership: MembershipStore;
  keys: SendKeyStore;
  attachments: AttachmentStore;
  state: MessageStateStore;
  messageLog: MessageLog;
  pubsub: PubSubEngine;
  nextId: () => bigint;
  rules: MessageRules;
  /** How long a change waits for its message to reach history (distributed mode) before answering UNAVAILABLE. */
  placementWaitMs?: number;
}

/** A message as resolvers receive it: acknowledged (pending) or placed. */
export type MessageLike = PendingMessage | MessageRecord;

/**
 * Per request (per subscription for `chatEvents`): holds the viewer and the
 * request's DataLoaders. The loaders of message state batch but do not
 * cache: a subscription resolves every event in the one context it was
 * opened with, and each event must show the state after its change.
 */
export class MessageService {
  #access: DataLoader<string, ChatStanding> | undefined;
  #reactions: DataLoader<string, ReactionRecord[]> | undefined;
  #media: DataLoader<string, string[]> | undefined;
  readonly #messages: DataLoader<string, MessageRecord | null>;
  readonly #placed: DataLoader<string, PlacedMessage | null>;
  readonly #positions: DataLoader<string, MemberPosition[]>;
  readonly #store: MessageStore;
  readonly #state: MessageStateStore;

  constructor(
    private readonly viewer: Viewer | null,
    private readonly deps: MessageServiceDeps,
  ) {
    this.#store = deps.store;
    this.#state = deps.state;
    this.#messages = new DataLoader((ids) => deps.store.byIds(ids), { cache: false });
    this.#placed = deps.state.placedLoader();
    this.#positions = deps.state.positionsLoader();
  }

  #requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  /**
   * The viewer's access to a chat, and its kind: looked up once per chat per
   * operation, and shared by the operation's permission rule
   * (permissions.ts) and this service's own checks. Never kept beyond the
   * operation, so a change of membership shows in the next one.
   * @throws UNAUTHENTICATED without a viewer.
   */
  standingIn(chatId: string): Promise<ChatStanding> {
    const viewer = this.#requireViewer();
    this.#access ??= this.deps.membership.accessLoader(viewer.id);
    return this.#access.load(chatId);
  }

  /**
   * @throws `refusal()` (by default NOT_FOUND for the chat) when the chat does
   * not exist or the viewer is not a member: one answer for both.
   * @returns the viewer's role.
   */
  async #requireMember(chatId: string, refusal = chatNotFound): Promise<Exclude<ChatAccess, 'MISSING' | 'NOT_MEMBER'>> {
    const { access } = await this.standingIn(chatId);
    if (!isMember(access)) throw refusal();
    return access;
  }

  /** Announces an event to every member of its chat (every device of theirs), or to `only` these users. */
  async #announce(event: ChatEventRecord, only?: readonly string[]): Promise<void> {
    const userIds = only ?? (await this.deps.membership.memberIds(event.chatId));
    await Promise.all(userIds.map((userId) => this.deps.pubsub.publish(Topics.userEvents(userId), event)));
  }

  /**
   * Validates, checks membership, reserves the idempotency key and appends the
   * message to the log; resolves once the log has it (the acknowledgement).
   * A retry with the same clientMessageId returns the same message, appending
   * it again only if the first attempt never reached the log.
   * @throws FORBIDDEN in a direct chat where either member blocked the
   * other; nothing is reserved or appended.
   */
  async sendMessage(input: SendMessageInput): Promise<PendingMessage> {
    const viewer = this.#requireViewer();
    const parsed = ZSendMessageInputSchema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    const { chatId, text, clientMessageId, mediaIds } = parsed.data;
    const canonicalChatId = requireId(chatId, 'chatId').toString();
    await this.#requireMember(canonicalChatId);
    if (mediaIds.length > 0) {
      const ready = await this.deps.attachments.readyAttachments(mediaIds, viewer.id);
      const notReady = mediaIds.filter((id) => !ready.has(id));
      if (notReady.length > 0) {
        throw refuse('MEDIA_NOT_READY', 'Attach only your own uploads once they are READY.', { argument: 'input.mediaIds', mediaIds: notReady });
      }
    }
    // One more query, for direct chats only: the loader already knows the kind.
    if ((await this.standingIn(canonicalChatId)).direct && (await this.deps.membership.blockedWithin(canonicalChatId))) {
      throw forbidden(CANNOT_SEND);
    }

    const reservation = await this.deps.keys
      .reserve({
        id: this.deps.nextId().toString(),
        chatId: canonicalChatId,
        senderId: viewer.id,
        text,
        clientMessageId,
        createdAt: new Date().toISOString(),
      }, mediaIds, this.deps.attachments)
      .catch((error: unknown) => {
        // Deleted (never attached for a day) or changed between the check above and the reservation.
        if (error instanceof MediaNotAttachableError) throw refuse('MEDIA_NOT_READY', 'Attach only your own uploads once they are READY.', { argument: 'input.mediaIds', mediaIds });
        throw error;
      });
    const { message } = reservation;
    if (message.chatId !== canonicalChatId) {
      throw refuse('CLIENT_MESSAGE_ID_REUSED', 'clientMessageId was already used for a message in another chat.', {
        argument: 'input.clientMessageId',
      });
    }
    if (!reservation.produced) {
      await this.deps.messageLog.append(message);
      await this.deps.keys.markProduced(message);
    }
    return message;
  }

  /**
   * A page of history, newest first (see the schema's `messages`), without
   * the messages the viewer hid. A page may hold fewer than `first` messages
   * when some were hidden; `pageInfo` still tells whether more exist.
   */
  async history(
    chatId: string,
    args: { first?: number | null; before?: string | null; after?: string | null; around?: string | null },
  ): Promise<Connection<MessageRecord>> {
    const viewer = this.#requireViewer();
    const canonicalChatId = requireId(chatId, 'chatId').toString();
    const limit = pageSize(args.first);
    const given = (['before', 'after', 'around'] as const).filter((name) => args[name] !== null && args[name] !== undefined);
    if (given.length > 1) throw badInput(`Give at most one of before, after and around (got ${given.join(', ')}).`, { argument: given[1] });
    // An empty string is a cursor too (an invalid one), not an absent argument.
    const beforeSeq = args.before === null || args.before === undefined ? undefined : cursorSeq(args.before, 'before');
    const afterSeq = args.after === null || args.after === undefined ? undefined : cursorSeq(args.after, 'after');
    await this.#requireMember(canonicalChatId);

    let rows: MessageRecord[];
    let hasOlder: boolean;
    let hasNewer: boolean;
    if (afterSeq !== undefined) {
      const newer = await this.#store.range(canonicalChatId, afterSeq, limit + 1);
      rows = newer.slice(0, limit).reverse();
      hasNewer = newer.length > limit;
      hasOlder = BigInt(afterSeq) > 0n;
    } else if (args.around !== null && args.around !== undefined) {
      const target = await this.#aroundSeq(canonicalChatId, args.around);
      const older = await this.#store.page(canonicalChatId, limit + 1, (target + 1n).toString());
      const newer = await this.#store.range(canonicalChatId, target.toString(), limit + 1);
      // The target (the newest of `older`) in the middle: half the rest newer, the remainder older.
      let newerCount = Math.min(newer.length, Math.floor((limit - 1) / 2));
      const olderCount = Math.min(older.length, limit - newerCount);
      newerCount = Math.min(newer.length, limit - olderCount);
      rows = [...newer.slice(0, newerCount).reverse(), ...older.slice(0, olderCount)];
      hasOlder = older.length > olderCount;
      hasNewer = newer.length > newerCount;
    } else {
      const older = await this.#store.page(canonicalChatId, limit + 1, beforeSeq);
      rows = older.slice(0, limit);
      hasOlder = older.length > limit;
      hasNewer = beforeSeq !== undefined;
    }
    const hidden = await this.#state.hiddenAmong(viewer.id, rows.map((row) => row.id));
    const edges = rows.filter((row) => !hidden.has(row.id)).map((row) => ({ cursor: messageCursor(row.seq), node: row }));
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
      const placed = await this.#placed.load(id.toString());
      if (!placed || placed.chatId !== chatId) throw notFound('Message');
      return BigInt(placed.seq);
    }
    // Years 0001 to 9999 only: what the stores hold (see common/src/date-time.ts).
    const at = parseDateTime(around);
    if (!at) {
      throw badInput('around must be a message ID or an ISO-8601 time between 0001-01-01 and 9999-12-31 (e.g. 2026-11-25 or 2026-11-25T10:00:00Z).', { argument: 'around' });
    }
    const seq = await this.#store.seqAt(chatId, at);
    return seq === null ? 0n : BigInt(seq);
  }

  /**
   * The stream behind `chatEvents` and `messageAdded`: the viewer's own topic
   * (every chat they are in, including chats joined later), narrowed to one
   * chat and to some event types when asked, new messages ordered and
   * gap-free, resumed from `after` when given, typing indicators expiring.
   */
  async subscribe(
    options: { chatId: string | null | undefined; after: string | null | undefined; types?: readonly ChatEventRecord['type'][] },
    listen: (topic: string) => AsyncIterator<ChatEventRecord>,
  ): Promise<AsyncIterableIterator<ChatEventRecord>> {
    const viewer = this.#requireViewer();
    const { chatId, after, types } = options;
    const topic = Topics.userEvents(viewer.id);
    const wanted = (event: ChatEventRecord) => !types || types.includes(event.type);
    let stream: OrderedEventStream;
    if (chatId === null || chatId === undefined) {
      if (after !== null && after !== undefined) throw badInput('after needs chatId: a cursor is a position in one chat.', { argument: 'after' });
      stream = new OrderedEventStream(listen(topic), this.#store, { accept: wanted });
    } else {
      const canonicalChatId = requireId(chatId, 'chatId').toString();
      const afterSeq = after === null || after === undefined ? undefined : cursorSeq(after, 'after');
      await this.#requireMember(canonicalChatId);
      stream = new OrderedEventStream(listen(topic), this.#store, {
        accept: (event) => event.chatId === canonicalChatId && wanted(event),
        resume: afterSeq === undefined ? undefined : { chatId: canonicalChatId, afterSeq },
      });
    }
    return wanted({ type: 'TypingChanged' } as ChatEventRecord) ? new TypingExpiry(stream) : stream;
  }

  /** A Message entity by ID, for the gateway: null when unknown or in a chat the viewer is not in. */
  /** The media a message carries, as entity references (none once deleted for everyone). */
  async mediaOf(message: MessageLike): Promise<{ id: string }[]> {
    if ('deletedAt' in message && message.deletedAt) return [];
    this.#media ??= this.deps.attachments.loader();
    return (await this.#media.load(message.id)).map((id) => ({ id }));
  }

  async messageById(id: string): Promise<MessageRecord | null> {
    this.#requireViewer();
    const parsed = parseId(id);
    if (parsed === undefined) return null;
    const message = await this.#messages.load(parsed.toString());
    if (!message || !isMember((await this.standingIn(message.chatId)).access)) return null;
    return message;
  }

  /**
   * The message `id` in history, for a change to it, with the viewer's role
   * in its chat. In the distributed mode a message is acknowledged a moment
   * before it is placed in history; a change that comes that early waits for
   * it, then answers UNAVAILABLE (retryable) rather than NOT_FOUND.
   * @throws NOT_FOUND for an unknown message and for one in a chat the viewer is not in, alike.
   */
  async #target(id: string, argument: string): Promise<{ message: MessageRecord; role: Exclude<ChatAccess, 'MISSING' | 'NOT_MEMBER'> }> {
    this.#requireViewer();
    const messageId = requireId(id, argument).toString();
    const deadline = Date.now() + (this.deps.placementWaitMs ?? 2_000);
    for (;;) {
      const [message] = await this.#store.byIds([messageId]);
      if (message) return { message, role: await this.#requireMember(message.chatId, messageNotFound) };
      const pending = await this.deps.keys.findByMessageId(messageId);
      if (!pending) throw messageNotFound();
      await this.#requireMember(pending.chatId, messageNotFound);
      if (Date.now() > deadline) {
        throw apiError('UNAVAILABLE', 'The message is still being delivered; retry in a moment.', { retryable: true });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Replaces the text of the viewer's own message within the edit window. */
  async editMessage(id: string, text: string): Promise<MessageRecord> {
    const viewer = this.#requireViewer();
    const parsed = ZEditMessageInputSchema.safeParse({ id, text });
    if (!parsed.success) throw fromZodError(parsed.error);
    const { message } = await this.#target(parsed.data.id, 'id');
    if (message.kind === 'SYSTEM' || message.senderId !== viewer.id) throw forbidden('Only the sender may edit a message.');
    if (message.deletedAt) throw refuse('MESSAGE_DELETED', 'The message was deleted.', { argument: 'id' });
    if (Date.now() - Date.parse(message.createdAt) > this.deps.rules.editWindowMs) {
      throw refuse('EDIT_WINDOW_PASSED', `A message may be edited only within ${formatWindow(this.deps.rules.editWindowMs)} of sending it.`);
    }
    if (message.text === parsed.data.text) return message;
    const claim = await this.#state.claimEdit(message.id, new Date());
    if (!claim) throw refuse('MESSAGE_DELETED', 'The message was deleted.', { argument: 'id' });
    const edited: MessageRecord = { ...message, text: parsed.data.text, editedAt: claim.editedAt!.toISOString(), version: claim.version };
    await this.#store.update(edited);
    await this.#announce({ type: 'MessageEdited', chatId: edited.chatId, message: edited });
    return edited;
  }

  /**
   * For everyone: a tombstone for every member, the content erased (history,
   * the idempotency key's copy, reactions). For the viewer only: hidden from
   * their history, on every device of theirs.
   */
  async deleteMessage(id: string, forEveryone: boolean): Promise<MessageRecord> {
    const viewer = this.#requireViewer();
    const { message, role } = await this.#target(id, 'id');
    if (!forEveryone) {
      if (await this.#state.hide(viewer.id, { messageId: message.id, chatId: message.chatId })) {
        await this.#announce({ type: 'MessageDeleted', chatId: message.chatId, message, forEveryone: false }, [viewer.id]);
      }
      return message;
    }
    const isSender = message.kind === 'USER' && message.senderId === viewer.id;
    const isGroupAdmin = (role === 'OWNER' || role === 'ADMIN') && (await this.deps.membership.isGroup(message.chatId));
    if (!isSender && !isGroupAdmin) throw forbidden('Only the sender, or an admin of the group, may delete a message for everyone.');
    if (!isGroupAdmin && !message.deletedAt && Date.now() - Date.parse(message.createdAt) > this.deps.rules.deleteWindowMs) {
      throw refuse('DELETE_WINDOW_PASSED', `A message may be deleted for everyone only within ${formatWindow(this.deps.rules.deleteWindowMs)} of sending it.`);
    }
    const claim = await this.#state.claimDelete(message.id, new Date());
    if (!claim?.deletedAt) throw notFound('Message');
    const tombstone: MessageRecord = { ...message, text: '', editedAt: message.editedAt, deletedAt: claim.deletedAt.toISOString(), version: claim.version };
    // Every step is idempotent: a retry after a failure part-way completes the erasure.
    await this.#store.update(tombstone);
    await this.deps.keys.eraseText(message.id);
    await this.#state.clearReactions(message.id);
    await this.deps.attachments.detach(message.id);
    if (!message.deletedAt) await this.#announce({ type: 'MessageDeleted', chatId: message.chatId, message: tombstone, forEveryone: true });
    return tombstone;
  }

  async react(messageId: string, emoji: string, add: boolean): Promise<MessageRecord> {
    const viewer = this.#requireViewer();
    const parsedEmoji = ZEmojiSchema.safeParse(emoji);
    if (!parsedEmoji.success) throw badInput('emoji must be a single emoji.', { argument: 'emoji' });
    const { message } = await this.#target(messageId, 'messageId');
    if (message.deletedAt) throw refuse('MESSAGE_DELETED', 'The message was deleted.', { argument: 'messageId' });
    const target = { messageId: message.id, chatId: message.chatId };
    let changed: boolean;
    if (add) {
      const outcome = await this.#state.react(viewer.id, target, parsedEmoji.data, MAX_REACTIONS_PER_USER);
      if (outcome === 'LIMIT') {
        throw refuse('TOO_MANY_REACTIONS', `At most ${MAX_REACTIONS_PER_USER} different reactions per message.`, { argument: 'emoji' });
      }
      changed = outcome === 'ADDED';
    } else {
      changed = await this.#state.unreact(viewer.id, message.id, parsedEmoji.data);
    }
    if (changed) {
      await this.#announce({ type: 'ReactionsChanged', chatId: message.chatId, message, userId: viewer.id, emoji: parsedEmoji.data, added: add });
    }
    return message;
  }

  reactions(message: MessageLike): Promise<ReactionRecord[]> {
    const viewer = this.#requireViewer();
    this.#reactions ??= this.#state.reactionsLoader(viewer.id);
    return this.#reactions.load(message.id);
  }

  /** markDelivered / markSeen. */
  async markReceipt(kind: ReceiptKind, chatId: string, upToMessageId: string): Promise<ReceiptPositionRecord> {
    const viewer = this.#requireViewer();
    const canonicalChatId = requireId(chatId, 'chatId').toString();
    const messageId = requireId(upToMessageId, 'upToMessageId').toString();
    await this.#requireMember(canonicalChatId);
    const upTo = await this.#placed.load(messageId);
    if (!upTo || upTo.chatId !== canonicalChatId) throw notFound('Message');
    const result = await this.#state.advanceReceipt(kind, viewer.id, upTo, new Date());
    if (result.outcome === 'NOT_A_MEMBER') throw chatNotFound();
    if (result.outcome === 'BACKWARDS') {
      throw refuse('RECEIPT_BACKWARDS', `The chat is already marked ${kind === 'SEEN' ? 'seen' : 'delivered'} past this message; receipts only move forward.`, {
        argument: 'upToMessageId',
      });
    }
    if (result.outcome === 'ADVANCED') await this.#announce({ type: 'ReceiptsUpdated', ...result.position });
    return result.position;
  }

  /** SENT, DELIVERED or SEEN for the sender; null for everyone else. */
  async status(message: MessageLike): Promise<'SENT' | 'DELIVERED' | 'SEEN' | null> {
    const viewer = this.#requireViewer();
    if (message.senderId !== viewer.id || message.kind === 'SYSTEM') return null;
    const seq = 'seq' in message ? BigInt(message.seq) : undefined;
    if (seq === undefined) return 'SENT';
    const others = (await this.#positions.load(message.chatId)).filter((member) => member.userId !== viewer.id);
    if (others.length === 0) return 'SENT';
    if (others.every((member) => member.seenSeq >= seq)) return 'SEEN';
    if (others.every((member) => member.deliveredSeq >= seq)) return 'DELIVERED';
    return 'SENT';
  }

  /** Each other member's receipt of the viewer's message; null for everyone but the sender. */
  async receipts(message: MessageLike): Promise<({ userId: string } & ReceiptTimes)[] | null> {
    const viewer = this.#requireViewer();
    if (message.senderId !== viewer.id || message.kind === 'SYSTEM') return null;
    const others = (await this.#positions.load(message.chatId)).filter((member) => member.userId !== viewer.id);
    if (!('seq' in message)) return others.map((member) => ({ userId: member.userId, deliveredAt: null, seenAt: null }));
    const times = await this.#state.receiptTimes(message.chatId, message.seq);
    return others.map((member) => ({ userId: member.userId, ...(times.get(member.userId) ?? { deliveredAt: null, seenAt: null }) }));
  }

  /** A message of a receipt position, or null. */
  async messageOrNull(id: string | null): Promise<MessageRecord | null> {
    return id === null ? null : this.messageById(id);
  }

  /** The export entity, for the viewer's own export only. */
  exportReference(userId: string): { userId: string } {
    if (this.#requireViewer().id !== userId) throw forbidden('Only your own data can be exported.');
    return { userId };
  }

  /**
   * Every message the viewer sent, oldest first, in their current state, for
   * their data export: found by sender in the relational index, read from
   * history in batches (one single-partition read each in Cassandra).
   */
  async sentByViewer(userId: string): Promise<MessageRecord[]> {
    this.exportReference(userId);
    const ids = await this.#state.sentBy(userId);
    const out: MessageRecord[] = [];
    for (let start = 0; start < ids.length; start += 200) {
      const batch = await this.#store.byIds(ids.slice(start, start + 200));
      out.push(...batch.filter((message): message is MessageRecord => message !== null));
    }
    return out;
  }

  /** Announces the viewer's typing to the chat's members; nothing is stored. */
  async setTyping(chatId: string, typing: boolean): Promise<boolean> {
    const viewer = this.#requireViewer();
    const canonicalChatId = requireId(chatId, 'chatId').toString();
    await this.#requireMember(canonicalChatId);
    const expiresAt = typing ? new Date(Date.now() + this.deps.rules.typingTtlMs).toISOString() : null;
    await this.#announce({ type: 'TypingChanged', chatId: canonicalChatId, userId: viewer.id, typing, expiresAt });
    return true;
  }
}

function formatWindow(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} hour${ms === 3_600_000 ? '' : 's'}`;
  if (ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}`;
  return `${Math.round(ms / 1000)} seconds`;
}

/** The cursor of a placed message: its `seq`. */
export const messageCursor = (seq: string): string => encodeCursor([seq]);

/** The sequence number inside a cursor. @throws BAD_USER_INPUT for a cursor this API did not issue. */
function cursorSeq(cursor: string, argument: string): string {
  const [seq] = decodeCursor(cursor, 1);
  const parsed = seq === undefined ? undefined : parseId(seq);
  if (parsed === undefined) throw badInput('Invalid cursor.', { argument });
  return parsed.toString();
}
