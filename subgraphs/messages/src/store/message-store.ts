/**
 * Message history, behind an interface: Postgres (Prisma) today, Cassandra
 * later. Nothing outside this folder's store/ sees how messages are stored,
 * and the interface speaks only in JSON-safe records, never in Prisma types.
 */
import { Prisma, type PrismaClient } from '@chat/prisma';

/**
 * One message as the subgraph passes it around: JSON-safe (IDs as decimal
 * strings, the time as an ISO string), because it is also the pub/sub payload
 * and the Redis transport serializes it.
 */
export interface MessageRecord {
  id: string;
  chatId: string;
  senderId: string;
  text: string;
  clientMessageId: string;
  /** ISO-8601, UTC. */
  createdAt: string;
}

/** What `append` reports: the stored message, and whether this call stored it. */
export interface AppendResult {
  message: MessageRecord;
  /**
   * false when a message with the same (senderId, clientMessageId) was already
   * stored, e.g. by a concurrent retry; `message` is then that stored one,
   * which may belong to another chat.
   */
  created: boolean;
}

export interface MessageStore {
  /**
   * Stores a new message and advances the chat's state with it, atomically:
   * the chat's last message and last activity, and the unread count of every
   * member but the sender. Idempotent per sender on `clientMessageId`.
   */
  append(message: MessageRecord): Promise<AppendResult>;

  /**
   * A chat's messages newest first (by ID, descending), at most `limit`,
   * only those with an ID below `beforeId` when given.
   */
  page(chatId: string, limit: number, beforeId?: string): Promise<MessageRecord[]>;

  /** The messages with these IDs, in the same order; null for an unknown ID. */
  byIds(ids: readonly string[]): Promise<(MessageRecord | null)[]>;

  /** The message a sender stored under `clientMessageId`, if any. */
  byClientMessageId(senderId: string, clientMessageId: string): Promise<MessageRecord | null>;
}

interface MessageRow {
  id: bigint;
  chatId: bigint;
  senderId: bigint;
  text: string;
  clientMessageId: string;
  createdAt: Date;
}

function toRecord(row: MessageRow): MessageRecord {
  return {
    id: row.id.toString(),
    chatId: row.chatId.toString(),
    senderId: row.senderId.toString(),
    text: row.text,
    clientMessageId: row.clientMessageId,
    createdAt: row.createdAt.toISOString(),
  };
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

export class PrismaMessageStore implements MessageStore {
  constructor(private readonly prisma: PrismaClient) {}

  async append(message: MessageRecord): Promise<AppendResult> {
    const id = BigInt(message.id);
    const chatId = BigInt(message.chatId);
    const senderId = BigInt(message.senderId);
    const createdAt = new Date(message.createdAt);
    try {
      const [row] = await this.prisma.$transaction([
        this.prisma.message.create({
          data: { id, chatId, senderId, text: message.text, clientMessageId: message.clientMessageId, createdAt },
        }),
        // Concurrent sends may commit out of ID order: never move the pointer back.
        this.prisma.chat.updateMany({
          where: { id: chatId, OR: [{ lastMessageId: null }, { lastMessageId: { lt: id } }] },
          data: { lastMessageId: id, lastActivityAt: createdAt },
        }),
        this.prisma.chatMember.updateMany({
          where: { chatId, userId: { not: senderId } },
          data: { unreadCount: { increment: 1 } },
        }),
      ]);
      return { message: toRecord(row), created: true };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // A concurrent call stored a message under the same key first.
      const stored = await this.byClientMessageId(message.senderId, message.clientMessageId);
      if (!stored) throw error;
      return { message: stored, created: false };
    }
  }

  async page(chatId: string, limit: number, beforeId?: string): Promise<MessageRecord[]> {
    const rows = await this.prisma.message.findMany({
      where: { chatId: BigInt(chatId), ...(beforeId === undefined ? {} : { id: { lt: BigInt(beforeId) } }) },
      orderBy: { id: 'desc' },
      take: limit,
    });
    return rows.map(toRecord);
  }

  async byIds(ids: readonly string[]): Promise<(MessageRecord | null)[]> {
    const rows = await this.prisma.message.findMany({ where: { id: { in: ids.map(BigInt) } } });
    const byId = new Map(rows.map((row) => [row.id.toString(), toRecord(row)]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async byClientMessageId(senderId: string, clientMessageId: string): Promise<MessageRecord | null> {
    const row = await this.prisma.message.findUnique({
      where: { senderId_clientMessageId: { senderId: BigInt(senderId), clientMessageId } },
    });
    return row ? toRecord(row) : null;
  }
}
