/**
 * Places messages in their chat, in Postgres: the chat's next sequence
 * number, its last message and activity time, and every other member's
 * unread count change (USER messages only: SYSTEM ones are not "unread") in one statement, together with a record of the number
 * given to the message. A message that was already placed keeps its number
 * and changes nothing, so redelivery never counts a message twice.
 */
import { isUniqueViolation, type PrismaClient } from '@chat/prisma';
import type { PendingMessage } from './message-store.ts';

export interface Placement {
  seq: string;
  /** false when the message had been placed before (a redelivery). */
  first: boolean;
}

export class ChatSequencer {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * One round trip for a first delivery; a redelivery or a missing chat costs
   * a second read to tell which.
   * @returns the placement, or null when the chat does not exist.
   */
  async place(message: PendingMessage): Promise<Placement | null> {
    const id = BigInt(message.id);
    const chatId = BigInt(message.chatId);
    const senderId = BigInt(message.senderId);
    const kind = message.kind ?? 'USER';
    const createdAt = new Date(message.createdAt);
    for (let attempt = 0; ; attempt++) {
      try {
        // Data-modifying CTEs run as one statement: all of it happens, or none.
        const rows = await this.prisma.$queryRaw<{ seq: bigint }[]>`
          WITH bumped AS (
            UPDATE chats
               SET last_seq = last_seq + 1, last_message_id = ${id}, last_activity_at = ${createdAt}
             WHERE id = ${chatId} AND NOT EXISTS (SELECT 1 FROM message_seqs WHERE message_id = ${id})
            RETURNING last_seq
          ), claimed AS (
            INSERT INTO message_seqs (message_id, chat_id, seq, sender_id, kind, created_at)
            SELECT ${id}, ${chatId}, last_seq, ${senderId}, ${kind}::"MessageKind", ${createdAt} FROM bumped
            RETURNING seq
          ), unread AS (
            UPDATE chat_members SET unread_count = unread_count + 1
             WHERE chat_id = ${chatId} AND user_id <> ${senderId} AND ${kind} = 'USER' AND EXISTS (SELECT 1 FROM claimed)
          )
          SELECT seq FROM claimed`;
        const seq = rows[0]?.seq;
        if (seq !== undefined) return { seq: seq.toString(), first: true };
        const known = await this.prisma.messageSeq.findUnique({ where: { messageId: id } });
        return known ? { seq: known.seq.toString(), first: false } : null;
      } catch (error) {
        // A concurrent placement of the same message won the race on message_seqs: read its number.
        if (attempt >= 2 || !isUniqueViolation(error)) throw error;
      }
    }
  }
}
