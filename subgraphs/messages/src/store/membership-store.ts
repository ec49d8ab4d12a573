/**
 * Read access to the chats subgraph's tables (chats, chat_members): whether a
 * chat exists and who its members are; and to the users subgraph's blocks.
 * The only membership code that touches Prisma.
 */
import type { ChatRoleName } from '@chat/common';
import { Prisma, type PrismaClient } from '@chat/prisma';
import DataLoader from 'dataloader';

/** A Chat entity as this subgraph knows it: only the key. */
export interface ChatRef {
  id: string;
}

/** A User entity as this subgraph knows it: only the key. */
export interface UserRef {
  id: string;
}

/** One user's standing in one chat: it does not exist, they are not a member, or their role. */
export type ChatAccess = 'MISSING' | 'NOT_MEMBER' | ChatRoleName;

export const isMember = (access: ChatAccess): access is ChatRoleName => access !== 'MISSING' && access !== 'NOT_MEMBER';

/** A user's access to a chat, and whether the chat is a direct one (false for a group or an unknown chat). */
export interface ChatStanding {
  access: ChatAccess;
  direct: boolean;
}

export class MembershipStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Batches `userId`'s access to many chats (keyed by chat ID), and their
   * kinds, into one statement. (Prisma would load the `members` relation of
   * `chat.findMany` with a second statement.)
   */
  accessLoader(userId: string): DataLoader<string, ChatStanding> {
    return new DataLoader(async (chatIds) => {
      const rows = await this.prisma.$queryRaw<{ id: bigint; kind: string; role: ChatRoleName | null }[]>`
        SELECT c.id, c.kind::text AS kind, m.role::text AS role
          FROM chats c
          LEFT JOIN chat_members m ON m.chat_id = c.id AND m.user_id = ${BigInt(userId)}
         WHERE c.id IN (${Prisma.join(chatIds.map(BigInt))})`;
      const standings = new Map(
        rows.map((row): [string, ChatStanding] => [
          row.id.toString(),
          { access: row.role ?? 'NOT_MEMBER', direct: row.kind === 'DIRECT' },
        ]),
      );
      return chatIds.map((id) => standings.get(id) ?? { access: 'MISSING', direct: false });
    });
  }

  /** Whether a member of the chat blocked another member (asked of direct chats), in one query. */
  async blockedWithin(chatId: string): Promise<boolean> {
    const [row] = await this.prisma.$queryRaw<{ blocked: boolean }[]>`
      SELECT EXISTS (
        SELECT 1 FROM chat_members blocker
          JOIN blocks b ON b.blocker_id = blocker.user_id
          JOIN chat_members blocked ON blocked.chat_id = blocker.chat_id AND blocked.user_id = b.blocked_id
         WHERE blocker.chat_id = ${BigInt(chatId)}
      ) AS blocked`;
    return row?.blocked ?? false;
  }

  /** Whether the chat is a group (false for a direct chat or an unknown one). */
  async isGroup(chatId: string): Promise<boolean> {
    const chat = await this.prisma.chat.findUnique({ where: { id: BigInt(chatId) }, select: { kind: true } });
    return chat?.kind === 'GROUP';
  }

  /** The IDs of every member of the chat (none for an unknown chat). */
  async memberIds(chatId: string): Promise<string[]> {
    const rows = await this.prisma.chatMember.findMany({ where: { chatId: BigInt(chatId) }, select: { userId: true } });
    return rows.map((row) => row.userId.toString());
  }
}
