/** Who may read and send messages, the rules a message must follow, and how new messages are announced. */
import {
  badInput,
  decodeCursor,
  encodeCursor,
  forbidden,
  fromZodError,
  notFound,
  pageSize,
  parseId,
  requireId,
  toConnection,
  Topics,
  unauthenticated,
  type Connection,
  type Viewer,
} from '@chat/common';
import DataLoader from 'dataloader';
import { z } from 'zod';
import type { ChatAccess, MembershipStore } from '../store/membership-store.ts';
import type { MessageLog } from '../pipeline/message-log.ts';
import type { MessageRecord, MessageStore, PendingMessage } from '../store/message-store.ts';
import type { SendKeyStore } from '../store/send-key-store.ts';
import { OrderedMessageStream } from './ordered-stream.ts';

export const MAX_TEXT_LENGTH = 4000;
/**
 * Longest text accepted before trimming: room for surrounding whitespace, and
 * a cheap refusal of huge strings before any work is done on them.
 */
export const MAX_RAW_TEXT_LENGTH = 2 * MAX_TEXT_LENGTH;
export const MAX_CLIENT_MESSAGE_ID_LENGTH = 64;

export const NOT_A_MEMBER = 'You are not a member of this chat.';

const ZId = z.string().refine((value) => parseId(value) !== undefined, 'must be a valid ID');

export const ZSendMessageInputSchema = z.object({
  chatId: ZId,
  text: z
    .string()
    .max(MAX_RAW_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`)
    .transform((text) => text.trim())
    .pipe(
      z
        .string()
        .min(1, 'must not be empty')
        .max(MAX_TEXT_LENGTH, `must be at most ${MAX_TEXT_LENGTH} characters`)
        // Postgres text cannot hold NUL; refuse it here rather than fail in the database.
        .refine((text) => !text.includes('\u0000'), 'must not contain NUL characters'),
    ),
  clientMessageId: z
    .string()
    .min(1, 'must not be empty')
    .max(MAX_CLIENT_MESSAGE_ID_LENGTH, `must be at most ${MAX_CLIENT_MESSAGE_ID_LENGTH} characters`)
    .regex(/^[A-Za-z0-9._:-]*$/, 'may contain only letters, digits and . _ : -'),
});

export type SendMessageInput = z.input<typeof ZSendMessageInputSchema>;

/** Per request: holds the viewer and the request's DataLoaders. */
export class MessageService {
  #access: DataLoader<string, ChatAccess> | undefined;
  readonly #messages: DataLoader<string, MessageRecord | null>;

  constructor(
    private readonly viewer: Viewer | null,
    private readonly store: MessageStore,
    private readonly membership: MembershipStore,
    private readonly keys: SendKeyStore,
    private readonly messageLog: MessageLog,
    private readonly nextId: () => bigint,
  ) {
    this.#messages = new DataLoader((ids) => store.byIds(ids));
  }

  #requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  /** The viewer's access to a chat, batched per request. */
  #accessTo(chatId: string): Promise<ChatAccess> {
    const viewer = this.#requireViewer();
    this.#access ??= this.membership.accessLoader(viewer.id);
    return this.#access.load(chatId);
  }

  /** @throws NOT_FOUND for an unknown chat, FORBIDDEN when the viewer is not a member. */
  async #requireMember(chatId: string): Promise<void> {
    const access = await this.#accessTo(chatId);
    if (access === 'MISSING') throw notFound('Chat');
    if (access === 'NOT_MEMBER') throw forbidden(NOT_A_MEMBER);
  }

  /**
   * Validates, checks membership, reserves the idempotency key and appends the
   * message to the log; resolves once the log has it (the acknowledgement).
   * A retry with the same clientMessageId returns the same message, appending
   * it again only if the first attempt never reached the log.
   */
  async sendMessage(input: SendMessageInput): Promise<PendingMessage> {
    const viewer = this.#requireViewer();
    const parsed = ZSendMessageInputSchema.safeParse(input);
    if (!parsed.success) throw fromZodError(parsed.error);
    const { chatId, text, clientMessageId } = parsed.data;
    const canonicalChatId = requireId(chatId, 'chatId').toString();
    await this.#requireMember(canonicalChatId);

    const reservation = await this.keys.reserve({
      id: this.nextId().toString(),
      chatId: canonicalChatId,
      senderId: viewer.id,
      text,
      clientMessageId,
      createdAt: new Date().toISOString(),
    });
    const { message } = reservation;
    if (message.chatId !== canonicalChatId) {
      throw badInput('clientMessageId was already used for a message in another chat.', {
        argument: 'input.clientMessageId',
        reason: 'CLIENT_MESSAGE_ID_REUSED',
      });
    }
    if (!reservation.produced) {
      await this.messageLog.append(message);
      await this.keys.markProduced(message);
    }
    return message;
  }

  async history(chatId: string, first: number | null | undefined, before: string | null | undefined): Promise<Connection<MessageRecord>> {
    this.#requireViewer();
    const canonicalChatId = requireId(chatId, 'chatId').toString();
    const limit = pageSize(first);
    const beforeSeq = before === null || before === undefined ? undefined : cursorSeq(before, 'before');
    await this.#requireMember(canonicalChatId);
    const rows = await this.store.page(canonicalChatId, limit + 1, beforeSeq);
    return toConnection(rows, limit, (row) => messageCursor(row.seq), (row) => row);
  }

  /**
   * The stream behind `messageAdded(chatId, after)`: the viewer's own topic
   * (every chat they are in, including chats joined later), narrowed to one
   * chat when given, ordered and gap-free, resumed from `after` when given.
   */
  async subscribe(
    chatId: string | null | undefined,
    after: string | null | undefined,
    listen: (topic: string) => AsyncIterator<MessageRecord>,
  ): Promise<OrderedMessageStream> {
    const viewer = this.#requireViewer();
    const topic = Topics.userMessages(viewer.id);
    if (chatId === null || chatId === undefined) {
      if (after !== null && after !== undefined) throw badInput('after needs chatId: a cursor is a position in one chat.', { argument: 'after' });
      return new OrderedMessageStream(listen(topic), this.store, { accept: () => true });
    }
    const canonicalChatId = requireId(chatId, 'chatId').toString();
    const afterSeq = after === null || after === undefined ? undefined : cursorSeq(after, 'after');
    await this.#requireMember(canonicalChatId);
    return new OrderedMessageStream(listen(topic), this.store, {
      accept: (message) => message.chatId === canonicalChatId,
      resume: afterSeq === undefined ? undefined : { chatId: canonicalChatId, afterSeq },
    });
  }

  /**
   * A Message entity by ID, for the gateway: null when unknown.
   * @throws FORBIDDEN when the viewer is not a member of the message's chat.
   */
  async messageById(id: string): Promise<MessageRecord | null> {
    this.#requireViewer();
    const parsed = parseId(id);
    if (parsed === undefined) return null;
    const message = await this.#messages.load(parsed.toString());
    if (!message) return null;
    const access = await this.#accessTo(message.chatId);
    if (access !== 'MEMBER') throw forbidden(NOT_A_MEMBER);
    return message;
  }
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
