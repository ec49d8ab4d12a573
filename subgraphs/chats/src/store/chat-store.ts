/** The only code of this subgraph that touches storage. */
import { isUniqueViolation, type Chat as ChatRow, type ChatMember as ChatMemberRow, type PrismaClient } from '@chat/prisma';
import DataLoader from 'dataloader';

export type ChatKind = 'DIRECT' | 'GROUP';
export type ChatRole = 'OWNER' | 'ADMIN' | 'MEMBER';

/** A chat as the resolvers see it: IDs as decimal strings. */
export interface ChatRecord {
  id: string;
  kind: ChatKind;
  title: string | null;
  createdAt: Date;
  /** Written by the messages subgraph when a message is stored. */
  lastActivityAt: Date;
  /** Written by the messages subgraph when a message is stored. */
  lastMessageId: string | null;
}

/** One user's membership of one chat. */
export interface ChatMemberRecord {
  chatId: string;
  userId: string;
  role: ChatRole;
  joinedAt: Date;
  /** Written by the messages subgraph; reset when the member reads the chat. */
  unreadCount: number;
}

/** A User entity, resolved by the users subgraph. */
export interface UserRef {
  id: string;
}

/** A Message entity, resolved by the messages subgraph. */
export interface MessageRef {
  id: string;
}

/** Where a page of the viewer's chats starts: after this chat in the listing order. */
export interface ChatPosition {
  lastActivityAt: Date;
  id: bigint;
}

export interface NewChat {
  id: bigint;
  kind: ChatKind;
  title: string | null;
  /** Only for direct chats: see `directKey()`. */
  directKey: string | null;
  createdById: bigint;
  at: Date;
  /** Every member, the creator included. */
  members: readonly { userId: bigint; role: ChatRole }[];
}

function toChat(row: ChatRow): ChatRecord {
  return {
    id: row.id.toString(),
    kind: row.kind,
    title: row.title,
    createdAt: row.createdAt,
    lastActivityAt: row.lastActivityAt,
    lastMessageId: row.lastMessageId?.toString() ?? null,
  };
}

function toMember(row: ChatMemberRow): ChatMemberRecord {
  return {
    chatId: row.chatId.toString(),
    userId: row.userId.toString(),
    role: row.role,
    joinedAt: row.joinedAt,
    unreadCount: row.unreadCount,
  };
}

/** The unique key of the direct chat between two users, whatever the order they are given in. */
export function directKey(a: bigint, b: bigint): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

export class ChatStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Batches look-ups of chats by ID into one query; null for a chat that does not exist. */
  chatLoader(): DataLoader<string, ChatRecord | null> {
    return new DataLoader(async (chatIds) => {
      const rows = await this.prisma.chat.findMany({ where: { id: { in: chatIds.map(BigInt) } } });
      const byId = new Map(rows.map((row) => [row.id.toString(), toChat(row)]));
      return chatIds.map((id) => byId.get(id) ?? null);
    });
  }

  /** Batches look-ups of the members of many chats into one query, in joining order. */
  membersLoader(): DataLoader<string, ChatMemberRecord[]> {
    return new DataLoader(async (chatIds) => {
      const rows = await this.prisma.chatMember.findMany({
        where: { chatId: { in: chatIds.map(BigInt) } },
        orderBy: [{ joinedAt: 'asc' }, { userId: 'asc' }],
      });
      const byChat = new Map<string, ChatMemberRecord[]>();
      for (const row of rows) {
        const member = toMember(row);
        const list = byChat.get(member.chatId);
        if (list) list.push(member);
        else byChat.set(member.chatId, [member]);
      }
      return chatIds.map((id) => byChat.get(id) ?? []);
    });
  }

  /** Batches look-ups of `userId`'s membership of many chats into one query; null where not a member. */
  membershipLoader(userId: string): DataLoader<string, ChatMemberRecord | null> {
    return new DataLoader(async (chatIds) => {
      const rows = await this.prisma.chatMember.findMany({
        where: { userId: BigInt(userId), chatId: { in: chatIds.map(BigInt) } },
      });
      const byChat = new Map(rows.map((row) => [row.chatId.toString(), toMember(row)]));
      return chatIds.map((id) => byChat.get(id) ?? null);
    });
  }

  /** The IDs, among `userIds`, of users that exist. */
  async existingUserIds(userIds: readonly bigint[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = await this.prisma.user.findMany({ where: { id: { in: [...userIds] } }, select: { id: true } });
    return new Set(rows.map((row) => row.id.toString()));
  }

  async findByDirectKey(key: string): Promise<ChatRecord | null> {
    const row = await this.prisma.chat.findUnique({ where: { directKey: key } });
    return row ? toChat(row) : null;
  }

  /**
   * Creates the chat and its members in one transaction.
   * @returns null, creating nothing, when `chat.directKey` is already taken
   * (another request created the same direct chat first).
   */
  async insert(chat: NewChat): Promise<ChatRecord | null> {
    try {
      const row = await this.prisma.chat.create({
        data: {
          id: chat.id,
          kind: chat.kind,
          title: chat.title,
          directKey: chat.directKey,
          createdById: chat.createdById,
          createdAt: chat.at,
          lastActivityAt: chat.at,
          // A nested write: Prisma runs the chat and its members in one transaction.
          members: { createMany: { data: chat.members.map(({ userId, role }) => ({ userId, role, joinedAt: chat.at })) } },
        },
      });
      return toChat(row);
    } catch (error) {
      if (chat.directKey !== null && isUniqueViolation(error)) return null;
      throw error;
    }
  }

  /**
   * One page of `userId`'s chats, most recently active first (ties: higher ID
   * first), starting after `after`. Each chat comes with the user's membership.
   */
  async pageOfMember(
    userId: string,
    take: number,
    after: ChatPosition | null,
  ): Promise<{ chat: ChatRecord; membership: ChatMemberRecord }[]> {
    const viewer = BigInt(userId);
    const rows = await this.prisma.chat.findMany({
      where: {
        members: { some: { userId: viewer } },
        ...(after && {
          OR: [
            { lastActivityAt: { lt: after.lastActivityAt } },
            { lastActivityAt: after.lastActivityAt, id: { lt: after.id } },
          ],
        }),
      },
      orderBy: [{ lastActivityAt: 'desc' }, { id: 'desc' }],
      take,
      include: { members: { where: { userId: viewer } } },
    });
    return rows.flatMap(({ members, ...chat }) => {
      const membership = members[0];
      return membership ? [{ chat: toChat(chat), membership: toMember(membership) }] : [];
    });
  }
}
