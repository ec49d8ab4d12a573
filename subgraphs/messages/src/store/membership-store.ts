/**
 * Read access to the chats subgraph's tables (chats, chat_members): whether a
 * chat exists and who its members are. The only membership code that touches
 * Prisma.
 */
import type { ChatRoleName } from '@chat/common';
import type { PrismaClient } from '@chat/prisma';
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

export class MembershipStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Batches `userId`'s access to many chats (keyed by chat ID) into one query. */
  accessLoader(userId: string): DataLoader<string, ChatAccess> {
    return new DataLoader(async (chatIds) => {
      const rows = await this.prisma.chat.findMany({
        where: { id: { in: chatIds.map(BigInt) } },
        select: { id: true, members: { where: { userId: BigInt(userId) }, select: { role: true } } },
      });
      const access = new Map(rows.map((row): [string, ChatAccess] => [row.id.toString(), row.members[0]?.role ?? 'NOT_MEMBER']));
      return chatIds.map((id) => access.get(id) ?? 'MISSING');
    });
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
