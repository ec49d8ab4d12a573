/**
 * Idempotency keys of sendMessage, in Postgres: the first call with a
 * (sender, clientMessageId) pair reserves the key with the whole message, so
 * every retry, on any process, gets that same message back.
 */
import type { PrismaClient } from '@chat/prisma';
import type { PendingMessage } from './message-store.ts';

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

  async reserve(message: PendingMessage): Promise<Reservation> {
    const inserted = await this.prisma.messageKey.createMany({
      data: [
        {
          senderId: BigInt(message.senderId),
          clientMessageId: message.clientMessageId,
          messageId: BigInt(message.id),
          chatId: BigInt(message.chatId),
          text: message.text,
          createdAt: new Date(message.createdAt),
        },
      ],
      skipDuplicates: true,
    });
    if (inserted.count === 1) return { message, created: true, produced: false };
    const row = await this.prisma.messageKey.findUniqueOrThrow({
      where: { senderId_clientMessageId: { senderId: BigInt(message.senderId), clientMessageId: message.clientMessageId } },
    });
    return {
      message: {
        id: row.messageId.toString(),
        chatId: row.chatId.toString(),
        senderId: row.senderId.toString(),
        text: row.text,
        clientMessageId: row.clientMessageId,
        createdAt: row.createdAt.toISOString(),
      },
      created: false,
      produced: row.producedAt !== null,
    };
  }

  async markProduced(message: PendingMessage): Promise<void> {
    await this.prisma.messageKey.updateMany({
      where: { senderId: BigInt(message.senderId), clientMessageId: message.clientMessageId, producedAt: null },
      data: { producedAt: new Date() },
    });
  }
}
