/**
 * The relational state around placed messages, in Postgres in both modes:
 * the index of placed messages with their edit state (message_seqs), the
 * reactions, the per-viewer hides, and the members' receipts. History itself
 * (the text) stays behind MessageStore.
 */
import type { ChatEventRecord } from '@chat/common';
import type { PrismaClient } from '@chat/prisma';
import DataLoader from 'dataloader';

/** A placed message as the relational index knows it. */
export interface PlacedMessage {
  messageId: string;
  chatId: string;
  seq: string;
  senderId: string;
  kind: 'USER' | 'SYSTEM';
  createdAt: Date;
  version: number;
  editedAt: Date | null;
  deletedAt: Date | null;
}

export interface ReactionRecord {
  emoji: string;
  count: number;
  reactedByMe: boolean;
}

/** One member's receipts in one chat: what a ReceiptsUpdated event carries. */
export type ReceiptPositionRecord = Omit<Extract<ChatEventRecord, { type: 'ReceiptsUpdated' }>, 'type'>;

export interface MemberPosition {
  userId: string;
  deliveredSeq: bigint;
  seenSeq: bigint;
}

export interface ReceiptTimes {
  deliveredAt: Date | null;
  seenAt: Date | null;
}

export type ReceiptKind = 'DELIVERED' | 'SEEN';

/** What advancing a receipt did. */
export type ReceiptAdvance =
  | { outcome: 'ADVANCED'; position: ReceiptPositionRecord }
  | { outcome: 'UNCHANGED'; position: ReceiptPositionRecord }
  | { outcome: 'BACKWARDS' }
  | { outcome: 'NOT_A_MEMBER' };

/** Loaders batch within a tick but keep nothing: state changes between the events of one subscription. */
const UNCACHED = { cache: false } as const;

export class MessageStateStore {
  constructor(private readonly prisma: PrismaClient) {}

  placedLoader(): DataLoader<string, PlacedMessage | null> {
    return new DataLoader(async (ids) => {
      const rows = await this.prisma.messageSeq.findMany({ where: { messageId: { in: ids.map(BigInt) } } });
      const byId = new Map(rows.map((row) => [row.messageId.toString(), toPlaced(row)]));
      return ids.map((id) => byId.get(id) ?? null);
    }, UNCACHED);
  }

  /**
   * Claims the next version of a message for an edit, under the row's lock.
   * @returns null when the message is deleted (or unknown): nothing changed.
   */
  async claimEdit(messageId: string, at: Date): Promise<PlacedMessage | null> {
    const rows = await this.prisma.messageSeq.updateManyAndReturn({
      where: { messageId: BigInt(messageId), deletedAt: null },
      data: { version: { increment: 1 }, editedAt: at },
    });
    return rows[0] ? toPlaced(rows[0]) : null;
  }

  /**
   * Claims the next version for a rewrite of the text that is not an edit
   * (a SYSTEM message naming a deleted account). @returns null when deleted.
   */
  async claimRewrite(messageId: string): Promise<PlacedMessage | null> {
    const rows = await this.prisma.messageSeq.updateManyAndReturn({
      where: { messageId: BigInt(messageId), deletedAt: null },
      data: { version: { increment: 1 } },
    });
    return rows[0] ? toPlaced(rows[0]) : null;
  }

  /**
   * Claims the next version for a deletion. A message deleted before keeps
   * its deletion (same version and time), so a repeated call writes the same
   * tombstone again: deleting is idempotent, and a retry after a crash
   * between the claim and the history write completes it.
   */
  async claimDelete(messageId: string, at: Date): Promise<PlacedMessage | null> {
    const rows = await this.prisma.messageSeq.updateManyAndReturn({
      where: { messageId: BigInt(messageId), deletedAt: null },
      data: { version: { increment: 1 }, deletedAt: at },
    });
    if (rows[0]) return toPlaced(rows[0]);
    const row = await this.prisma.messageSeq.findUnique({ where: { messageId: BigInt(messageId) } });
    return row ? toPlaced(row) : null;
  }

  async clearReactions(messageId: string): Promise<void> {
    await this.prisma.messageReaction.deleteMany({ where: { messageId: BigInt(messageId) } });
  }

  /** The IDs of every USER message `userId` sent, oldest first (their data export). */
  async sentBy(userId: string): Promise<string[]> {
    const rows = await this.prisma.messageSeq.findMany({
      where: { senderId: BigInt(userId), kind: 'USER' },
      orderBy: [{ createdAt: 'asc' }, { messageId: 'asc' }],
      select: { messageId: true },
    });
    return rows.map((row) => row.messageId.toString());
  }

  /** @returns true when the message was not hidden for the user before. */
  async hide(userId: string, message: { messageId: string; chatId: string }): Promise<boolean> {
    const result = await this.prisma.messageHide.createMany({
      data: [{ userId: BigInt(userId), messageId: BigInt(message.messageId), chatId: BigInt(message.chatId) }],
      skipDuplicates: true,
    });
    return result.count === 1;
  }

  /** Which of these messages the user hid. */
  async hiddenAmong(userId: string, messageIds: readonly string[]): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    const rows = await this.prisma.messageHide.findMany({
      where: { userId: BigInt(userId), messageId: { in: messageIds.map(BigInt) } },
      select: { messageId: true },
    });
    return new Set(rows.map((row) => row.messageId.toString()));
  }

  /**
   * Adds the user's reaction, unless they already have `limit` different ones
   * on the message. The count and the insert run under a lock on (message,
   * user), so concurrent reactions cannot together pass the limit.
   */
  async react(
    userId: string,
    message: { messageId: string; chatId: string },
    emoji: string,
    limit: number,
  ): Promise<'ADDED' | 'EXISTS' | 'LIMIT'> {
    const messageId = BigInt(message.messageId);
    const user = BigInt(userId);
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`reaction:${messageId}:${user}`}, 0))`;
      const mine = await tx.messageReaction.findMany({ where: { messageId, userId: user }, select: { emoji: true } });
      if (mine.some((reaction) => reaction.emoji === emoji)) return 'EXISTS';
      if (mine.length >= limit) return 'LIMIT';
      await tx.messageReaction.create({ data: { messageId, userId: user, emoji, chatId: BigInt(message.chatId) } });
      return 'ADDED';
    });
  }

  /** @returns true when there was such a reaction. */
  async unreact(userId: string, messageId: string, emoji: string): Promise<boolean> {
    const result = await this.prisma.messageReaction.deleteMany({
      where: { messageId: BigInt(messageId), userId: BigInt(userId), emoji },
    });
    return result.count > 0;
  }

  /** Reactions per message for `viewerId`, one entry per emoji in the order each was first used; one query per batch. */
  reactionsLoader(viewerId: string): DataLoader<string, ReactionRecord[]> {
    return new DataLoader(async (ids) => {
      const rows = await this.prisma.messageReaction.findMany({
        where: { messageId: { in: ids.map(BigInt) } },
        orderBy: [{ createdAt: 'asc' }, { userId: 'asc' }],
        select: { messageId: true, emoji: true, userId: true },
      });
      const byMessage = new Map<string, Map<string, ReactionRecord>>();
      for (const row of rows) {
        const key = row.messageId.toString();
        const emojis = byMessage.get(key) ?? new Map<string, ReactionRecord>();
        byMessage.set(key, emojis);
        const entry = emojis.get(row.emoji) ?? { emoji: row.emoji, count: 0, reactedByMe: false };
        entry.count += 1;
        entry.reactedByMe ||= row.userId.toString() === viewerId;
        emojis.set(row.emoji, entry);
      }
      return ids.map((id) => [...(byMessage.get(id)?.values() ?? [])]);
    }, UNCACHED);
  }

  /**
   * Moves a member's receipt forward to `upTo` (a message of the chat). SEEN
   * also moves DELIVERED, and recounts the member's unread messages: USER
   * messages from others after the new position that are not deleted.
   *
   * The member's row is locked first. A placement that incremented it and
   * has not committed makes this wait, and the recount (a new statement, so
   * a new snapshot) then sees its message; a placement that comes later
   * waits for this transaction and increments the recounted value. Either
   * way each message is counted once (tested against Postgres in
   * tests/src/integration/message-pipeline.test.ts).
   */
  async advanceReceipt(kind: ReceiptKind, userId: string, upTo: PlacedMessage, at: Date): Promise<ReceiptAdvance> {
    const chatId = BigInt(upTo.chatId);
    const user = BigInt(userId);
    const seq = BigInt(upTo.seq);
    return this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ delivered_seq: bigint; seen_seq: bigint }[]>`
        SELECT delivered_seq, seen_seq FROM chat_members WHERE chat_id = ${chatId} AND user_id = ${user} FOR UPDATE`;
      const member = rows[0];
      if (!member) return { outcome: 'NOT_A_MEMBER' } as const;
      const current = kind === 'SEEN' ? member.seen_seq : member.delivered_seq;
      if (seq < current) return { outcome: 'BACKWARDS' } as const;
      if (seq > current) {
        const advanceDelivered = member.delivered_seq < seq;
        if (kind === 'SEEN') {
          await tx.$executeRaw`
            UPDATE chat_members
               SET seen_seq = ${seq}, seen_at = ${at},
                   delivered_seq = GREATEST(delivered_seq, ${seq}),
                   delivered_at = CASE WHEN delivered_seq < ${seq} THEN ${at} ELSE delivered_at END,
                   unread_count = (SELECT count(*) FROM message_seqs
                                    WHERE chat_id = ${chatId} AND seq > ${seq} AND sender_id <> ${user}
                                      AND kind = 'USER' AND deleted_at IS NULL)
             WHERE chat_id = ${chatId} AND user_id = ${user}`;
        } else {
          await tx.chatMember.update({
            where: { chatId_userId: { chatId, userId: user } },
            data: { deliveredSeq: seq, deliveredAt: at },
          });
        }
        const marks: ReceiptKind[] =
          kind === 'SEEN' ? (advanceDelivered ? ['SEEN', 'DELIVERED'] : ['SEEN']) : ['DELIVERED'];
        await tx.receiptMark.createMany({
          data: marks.map((mark) => ({ chatId, userId: user, kind: mark, upToSeq: seq, at })),
          skipDuplicates: true,
        });
      }
      const position = await this.#position(tx, chatId, user);
      return seq > current
        ? ({ outcome: 'ADVANCED', position } as const)
        : ({ outcome: 'UNCHANGED', position } as const);
    });
  }

  /** A member's receipts as positions (message IDs); null when not a member. */
  async position(chatId: string, userId: string): Promise<ReceiptPositionRecord | null> {
    return this.#position(this.prisma, BigInt(chatId), BigInt(userId));
  }

  async #position(
    db: Pick<PrismaClient, 'chatMember' | 'messageSeq'>,
    chatId: bigint,
    userId: bigint,
  ): Promise<ReceiptPositionRecord> {
    const member = await db.chatMember.findUniqueOrThrow({ where: { chatId_userId: { chatId, userId } } });
    const seqs = [member.deliveredSeq, member.seenSeq].filter((seq) => seq > 0n);
    const rows = seqs.length
      ? await db.messageSeq.findMany({ where: { chatId, seq: { in: seqs } }, select: { seq: true, messageId: true } })
      : [];
    const idAt = (seq: bigint) => rows.find((row) => row.seq === seq)?.messageId.toString() ?? null;
    return {
      chatId: chatId.toString(),
      userId: userId.toString(),
      deliveredUpToMessageId: idAt(member.deliveredSeq),
      deliveredAt: member.deliveredAt?.toISOString() ?? null,
      seenUpToMessageId: idAt(member.seenSeq),
      seenAt: member.seenAt?.toISOString() ?? null,
    };
  }

  /** Every member's receipt positions, per chat; one query per batch. */
  positionsLoader(): DataLoader<string, MemberPosition[]> {
    return new DataLoader(async (chatIds) => {
      const rows = await this.prisma.chatMember.findMany({
        where: { chatId: { in: chatIds.map(BigInt) } },
        select: { chatId: true, userId: true, deliveredSeq: true, seenSeq: true },
      });
      const byChat = new Map<string, MemberPosition[]>();
      for (const row of rows) {
        const key = row.chatId.toString();
        byChat.set(key, [
          ...(byChat.get(key) ?? []),
          { userId: row.userId.toString(), deliveredSeq: row.deliveredSeq, seenSeq: row.seenSeq },
        ]);
      }
      return chatIds.map((id) => byChat.get(id) ?? []);
    }, UNCACHED);
  }

  /** When each member's receipts first reached `seq`: the earliest mark at or past it, per member and kind. */
  async receiptTimes(chatId: string, seq: string): Promise<Map<string, ReceiptTimes>> {
    const rows = await this.prisma.receiptMark.groupBy({
      by: ['userId', 'kind'],
      where: { chatId: BigInt(chatId), upToSeq: { gte: BigInt(seq) } },
      _min: { at: true },
    });
    const times = new Map<string, ReceiptTimes>();
    for (const row of rows) {
      const key = row.userId.toString();
      const entry = times.get(key) ?? { deliveredAt: null, seenAt: null };
      if (row.kind === 'DELIVERED') entry.deliveredAt = row._min.at;
      else entry.seenAt = row._min.at;
      times.set(key, entry);
    }
    return times;
  }
}

function toPlaced(row: {
  messageId: bigint;
  chatId: bigint;
  seq: bigint;
  senderId: bigint;
  kind: 'USER' | 'SYSTEM';
  createdAt: Date;
  version: number;
  editedAt: Date | null;
  deletedAt: Date | null;
}): PlacedMessage {
  return {
    messageId: row.messageId.toString(),
    chatId: row.chatId.toString(),
    seq: row.seq.toString(),
    senderId: row.senderId.toString(),
    kind: row.kind,
    createdAt: row.createdAt,
    version: row.version,
    editedAt: row.editedAt,
    deletedAt: row.deletedAt,
  };
}
