/**
 * The media messages carry (media_attachments, owned by messages), and the
 * one look at the media subgraph's table that sending needs: whether the
 * media to attach are the sender's READY attachments.
 */
import type { Prisma, PrismaClient } from '@chat/prisma';
import DataLoader from 'dataloader';

/** A media to attach was deleted or changed since it was checked (sendMessage answers MEDIA_NOT_READY). */
export class MediaNotAttachableError extends Error {
  override readonly name = 'MediaNotAttachableError';
  constructor() {
    super('A media to attach is no longer a READY attachment of the sender.');
  }
}

export class AttachmentStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Of `mediaIds`, those that are `senderId`'s READY uploads for messages. */
  async readyAttachments(mediaIds: readonly string[], senderId: string): Promise<Set<string>> {
    if (mediaIds.length === 0) return new Set();
    const rows = await this.prisma.media.findMany({
      where: {
        id: { in: mediaIds.map(BigInt) },
        uploaderId: BigInt(senderId),
        purpose: 'MESSAGE_ATTACHMENT',
        status: 'READY',
      },
      select: { id: true },
    });
    return new Set(rows.map((row) => row.id.toString()));
  }

  /**
   * Records a message's media; part of the transaction that reserves its
   * idempotency key. First marks the media attached (`media.attached_at`,
   * read by the media subgraph's sweep of uploads never attached), in one
   * statement that also checks they are still the sender's READY
   * attachments: the row lock it takes orders it with a concurrent sweep,
   * which deletes a media only while it is unattached.
   * @throws MediaNotAttachableError when one of them is not (any more): the transaction rolls back.
   */
  async attach(
    tx: Prisma.TransactionClient,
    message: { id: string; chatId: string; senderId: string },
    mediaIds: readonly string[],
  ): Promise<void> {
    if (mediaIds.length === 0) return;
    const marked = await tx.$executeRaw`
      UPDATE media SET attached_at = COALESCE(attached_at, now())
      WHERE id = ANY(${mediaIds.map(BigInt)}) AND uploader_id = ${BigInt(message.senderId)} AND purpose = 'MESSAGE_ATTACHMENT' AND status = 'READY'`;
    if (marked !== mediaIds.length) throw new MediaNotAttachableError();
    await tx.mediaAttachment.createMany({
      data: mediaIds.map((mediaId, position) => ({
        messageId: BigInt(message.id),
        mediaId: BigInt(mediaId),
        chatId: BigInt(message.chatId),
        position,
      })),
      skipDuplicates: true,
    });
  }

  /** A message deleted for everyone stops carrying (and showing) its media. */
  async detach(messageId: string): Promise<void> {
    await this.prisma.mediaAttachment.deleteMany({ where: { messageId: BigInt(messageId) } });
  }

  /** A loader for one operation: the media IDs of many messages, in order. */
  loader(): DataLoader<string, string[]> {
    return new DataLoader(async (messageIds) => {
      const rows = await this.prisma.mediaAttachment.findMany({
        where: { messageId: { in: messageIds.map(BigInt) } },
        orderBy: [{ messageId: 'asc' }, { position: 'asc' }],
        select: { messageId: true, mediaId: true },
      });
      const byMessage = new Map<string, string[]>();
      for (const row of rows) {
        const key = row.messageId.toString();
        byMessage.set(key, [...(byMessage.get(key) ?? []), row.mediaId.toString()]);
      }
      return messageIds.map((id) => byMessage.get(id) ?? []);
    });
  }
}
