/**
 * Idempotency keys of sendMessage, in Postgres: the first call with a
 * (sender, clientMessageId) pair reserves the key with the whole message, so
 * every retry, on any process, gets that same message back.
 */
import type { MessageKey, PrismaClient } from '@chat/prisma';
import type { AttachmentStore } from './attachment-store.ts';
import { parseSystem, type PendingMessage } from './message-store.ts';

export interface Reservation {
  /** The message stored under the key: the new one, or the one a previous call reserved. */
  message: PendingMessage;
  /** true when this call made the reservation. */
  created: boolean;
  /** true once the log acknowledged the message. */
  produced: boolean;
}

export class SendKeyStore {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Reserves the key with the message and, in the same transaction, its
   * attachments: an acknowledged message always has its media.
   */
  async reserve(
    message: PendingMessage,
    mediaIds: readonly string[] = [],
    attachments?: AttachmentStore,
  ): Promise<Reservation> {
    if (mediaIds.length > 0 && attachments) {
      const created = await this.prisma.$transaction(async (tx) => {
        const inserted = await this.#insert(tx, message);
        if (inserted) await attachments.attach(tx, message, mediaIds);
        return inserted;
      });
      return created ? { message, created: true, produced: false } : this.#existing(message);
    }
    return (await this.#insert(this.prisma, message))
      ? { message, created: true, produced: false }
      : this.#existing(message);
  }

  async #insert(client: Pick<PrismaClient, '$executeRaw'>, message: PendingMessage): Promise<boolean> {
    // One raw statement: on the send path, Prisma's createMany costs twice the CPU for the same INSERT.
    const inserted = await client.$executeRaw`
      INSERT INTO message_keys (sender_id, client_message_id, message_id, chat_id, text, created_at)
      VALUES (${BigInt(message.senderId)}, ${message.clientMessageId}, ${BigInt(message.id)}, ${BigInt(message.chatId)}, ${message.text}, ${new Date(message.createdAt)})
      ON CONFLICT DO NOTHING`;
    return inserted === 1;
  }

  async #existing(message: PendingMessage): Promise<Reservation> {
    const row = await this.prisma.messageKey.findUniqueOrThrow({
      where: {
        senderId_clientMessageId: { senderId: BigInt(message.senderId), clientMessageId: message.clientMessageId },
      },
    });
    return { message: toPending(row), created: false, produced: row.producedAt !== null };
  }

  /**
   * SYSTEM messages the chats subgraph wrote to the outbox that are not in
   * the log yet, oldest first: what the outbox relay appends.
   */
  async unproducedSystemMessages(limit: number): Promise<PendingMessage[]> {
    const rows = await this.prisma.messageKey.findMany({
      where: { producedAt: null, kind: 'SYSTEM' },
      orderBy: [{ createdAt: 'asc' }, { messageId: 'asc' }],
      take: limit,
    });
    return rows.map(toPending);
  }

  /** The acknowledged message with this ID, placed or not; null when there is none. */
  async findByMessageId(messageId: string): Promise<PendingMessage | null> {
    const row = await this.prisma.messageKey.findUnique({ where: { messageId: BigInt(messageId) } });
    return row ? toPending(row) : null;
  }

  /** Erases the text kept with the key of a message deleted for everyone. */
  async eraseText(messageId: string): Promise<void> {
    await this.prisma.messageKey.updateMany({ where: { messageId: BigInt(messageId) }, data: { text: '' } });
  }

  async markProduced(message: PendingMessage): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE message_keys SET produced_at = ${new Date()}
       WHERE sender_id = ${BigInt(message.senderId)} AND client_message_id = ${message.clientMessageId} AND produced_at IS NULL`;
  }
}

function toPending(row: MessageKey): PendingMessage {
  return {
    id: row.messageId.toString(),
    chatId: row.chatId.toString(),
    senderId: row.senderId.toString(),
    text: row.text,
    clientMessageId: row.clientMessageId,
    createdAt: row.createdAt.toISOString(),
    kind: row.kind,
    system: parseSystem(row.system),
  };
}
