/** Who may create and see chats, and the rules for creating them. */
import {
  apiError,
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
  unauthenticated,
  type Connection,
  type Snowflake,
  type Viewer,
} from '@chat/common';
import type DataLoader from 'dataloader';
import { directKey, type ChatMemberRecord, type ChatPosition, type ChatRecord, type ChatStore } from '../store/chat-store.ts';
import { ZCreateGroupChatInputSchema } from './chat-input.ts';

export const NOT_A_MEMBER = 'You are not a member of this chat.';

function cursorOf(chat: ChatRecord): string {
  return encodeCursor([chat.lastActivityAt.toISOString(), chat.id]);
}

/** @throws BAD_USER_INPUT for a cursor that `cursorOf` did not make. */
function positionOf(cursor: string): ChatPosition {
  const [at = '', id = ''] = decodeCursor(cursor, 2);
  const lastActivityAt = new Date(at);
  const chatId = parseId(id);
  if (Number.isNaN(lastActivityAt.getTime()) || chatId === undefined) throw badInput('Invalid cursor.');
  return { lastActivityAt, id: chatId };
}

export class ChatService {
  readonly #chats: DataLoader<string, ChatRecord | null>;
  readonly #members: DataLoader<string, ChatMemberRecord[]>;
  /** The viewer's membership by chat ID; null without a viewer. */
  readonly #membership: DataLoader<string, ChatMemberRecord | null> | null;

  constructor(
    private readonly viewer: Viewer | null,
    private readonly store: ChatStore,
    private readonly ids: Snowflake,
  ) {
    this.#chats = store.chatLoader();
    this.#members = store.membersLoader();
    this.#membership = viewer ? store.membershipLoader(viewer.id) : null;
  }

  #requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  /** The viewer's membership of `chatId`, or null. */
  async #membershipOf(chatId: string): Promise<ChatMemberRecord | null> {
    this.#requireViewer();
    return this.#membership ? this.#membership.load(chatId) : null;
  }

  /** @throws FORBIDDEN unless the viewer is a member of `chat`. */
  async #authorize(chat: ChatRecord): Promise<ChatRecord> {
    if (!(await this.#membershipOf(chat.id))) throw forbidden(NOT_A_MEMBER);
    return chat;
  }

  /** `chat(id)`: NOT_FOUND when there is no such chat, FORBIDDEN for a non-member. */
  async chat(id: string): Promise<ChatRecord> {
    this.#requireViewer();
    const chatId = requireId(id, 'id').toString();
    const chat = await this.#chats.load(chatId);
    if (!chat) throw notFound('Chat');
    return this.#authorize(chat);
  }

  /**
   * A Chat entity the gateway asks for, e.g. for a subscription event of this
   * viewer: null when there is no such chat, FORBIDDEN for a non-member.
   */
  async chatReference(id: string): Promise<ChatRecord | null> {
    this.#requireViewer();
    const chatId = parseId(id);
    if (chatId === undefined) return null;
    const chat = await this.#chats.load(chatId.toString());
    return chat && this.#authorize(chat);
  }

  /** The viewer's chats, most recently active first. */
  async chats(first: number | null | undefined, after: string | null | undefined): Promise<Connection<ChatRecord>> {
    const viewer = this.#requireViewer();
    const size = pageSize(first);
    const position = after ? positionOf(after) : null;
    const rows = await this.store.pageOfMember(viewer.id, size + 1, position);
    for (const { chat, membership } of rows) {
      this.#chats.prime(chat.id, chat);
      this.#membership?.prime(chat.id, membership);
    }
    return toConnection(
      rows,
      size,
      ({ chat }) => cursorOf(chat),
      ({ chat }) => chat,
    );
  }

  members(chat: ChatRecord): Promise<ChatMemberRecord[]> {
    return this.#members.load(chat.id);
  }

  /** Messages from others the viewer has not read; 0 when not a member. */
  async unreadCount(chat: ChatRecord): Promise<number> {
    return (await this.#membershipOf(chat.id))?.unreadCount ?? 0;
  }

  /**
   * The one direct chat of the viewer and `userId`, created on first use.
   * Concurrent calls for the same pair (from either side) agree on one chat:
   * the pair's key is unique, and the loser of a race reads the winner's chat.
   */
  async createDirectChat(userId: string): Promise<ChatRecord> {
    const viewer = this.#requireViewer();
    const me = requireId(viewer.id, 'viewer');
    const other = requireId(userId, 'userId');
    if (other === me) throw badInput('You cannot start a direct chat with yourself.', { argument: 'userId' });
    if (!(await this.store.existingUserIds([other])).has(other.toString())) throw notFound(`User ${other}`);
    const key = directKey(me, other);
    const existing = await this.store.findByDirectKey(key);
    if (existing) return existing;
    const created = await this.store.insert({
      id: this.ids.next(),
      kind: 'DIRECT',
      title: null,
      directKey: key,
      createdById: me,
      at: new Date(),
      members: [
        { userId: me, role: 'MEMBER' },
        { userId: other, role: 'MEMBER' },
      ],
    });
    const chat = created ?? (await this.store.findByDirectKey(key));
    if (!chat) throw new Error(`direct chat ${key} vanished after a unique violation`);
    return chat;
  }

  /** A group of the viewer (OWNER) and the named users (MEMBER); all of them must exist. */
  async createGroupChat(input: { title: string; memberIds: readonly string[] }): Promise<ChatRecord> {
    const viewer = this.#requireViewer();
    const parsed = ZCreateGroupChatInputSchema.safeParse({ viewerId: viewer.id, title: input.title, memberIds: input.memberIds });
    if (!parsed.success) throw fromZodError(parsed.error);
    const { title, memberIds } = parsed.data;
    const existing = await this.store.existingUserIds(memberIds);
    const unknown = memberIds.filter((id) => !existing.has(id.toString())).map(String);
    if (unknown.length > 0) {
      throw apiError('NOT_FOUND', `${unknown.length === 1 ? 'User' : 'Users'} ${unknown.join(', ')} not found.`, { userIds: unknown });
    }
    const me = requireId(viewer.id, 'viewer');
    const chat = await this.store.insert({
      id: this.ids.next(),
      kind: 'GROUP',
      title,
      directKey: null,
      createdById: me,
      at: new Date(),
      members: [{ userId: me, role: 'OWNER' }, ...memberIds.map((userId) => ({ userId, role: 'MEMBER' as const }))],
    });
    if (!chat) throw new Error('a group chat cannot conflict on a direct key');
    return chat;
  }
}
