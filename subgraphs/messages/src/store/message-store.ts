/**
 * Message history, behind an interface: Postgres (Prisma) in the embedded
 * mode, Cassandra in the distributed mode. Only the message pipeline writes
 * it, idempotently by message ID; the service reads it. Records are JSON-safe
 * and never expose storage types.
 */
import type { MessageEventRecord, SystemEventRecord } from '@chat/common';
import type { PrismaClient } from '@chat/prisma';

/**
 * A message as sent and acknowledged, before the pipeline has placed it in
 * its chat. JSON-safe (IDs as decimal strings, the time as ISO-8601), since
 * it travels through the log and pub/sub.
 */
export type PendingMessage = Pick<
  MessageEventRecord,
  'id' | 'chatId' | 'senderId' | 'text' | 'clientMessageId' | 'createdAt'
> &
  /** `kind` is USER when absent (messages logged before SYSTEM messages existed). */
  Partial<Pick<MessageEventRecord, 'kind' | 'system'>>;

/**
 * A message placed in its chat, in its current state: `seq` is its position
 * there (1, 2, 3, …), the order of delivery; `version` counts the writes to
 * it (1 as sent, +1 per edit or deletion).
 */
export type MessageRecord = MessageEventRecord;

/** The record of a message as the pipeline first places it. */
export function placedRecord(message: PendingMessage, seq: string): MessageRecord {
  return {
    id: message.id,
    chatId: message.chatId,
    senderId: message.senderId,
    text: message.text,
    clientMessageId: message.clientMessageId,
    createdAt: message.createdAt,
    seq,
    kind: message.kind ?? 'USER',
    system: message.system ?? null,
    editedAt: null,
    deletedAt: null,
    version: 1,
  };
}

export interface MessageStore {
  /** Stores a placed message. Writing the same message again changes nothing. */
  write(message: MessageRecord): Promise<void>;

  /**
   * Writes the mutable state of a stored message (text, editedAt, deletedAt)
   * at `message.version`; a write at a lower version than the stored one
   * changes nothing, so writes arriving out of order end in the newest state.
   */
  update(message: MessageRecord): Promise<void>;

  /** A chat's messages newest first, at most `limit`, only those before `beforeSeq` when given. */
  page(chatId: string, limit: number, beforeSeq?: string): Promise<MessageRecord[]>;

  /**
   * A chat's messages oldest first, those after `afterSeq` (and before
   * `beforeSeq` when given), at most `limit`: what a resuming subscriber missed.
   */
  range(chatId: string, afterSeq: string, limit: number, beforeSeq?: string): Promise<MessageRecord[]>;

  /**
   * The position of the chat's last message sent at or before `at` (null when
   * there is none): where "history at a point in time" starts.
   */
  seqAt(chatId: string, at: Date): Promise<string | null>;

  /** The messages with these IDs, in the same order; null for an unknown ID. */
  byIds(ids: readonly string[]): Promise<(MessageRecord | null)[]>;

  close(): Promise<void>;
}

interface MessageRow {
  id: bigint;
  chatId: bigint;
  seq: bigint;
  senderId: bigint;
  text: string;
  clientMessageId: string;
  createdAt: Date;
  kind: 'USER' | 'SYSTEM';
  system: string | null;
  editedAt: Date | null;
  deletedAt: Date | null;
  version: number;
}

/** A stored SYSTEM event, or null (also for unreadable JSON: the message then shows its text only). */
export function parseSystem(json: string | null | undefined): SystemEventRecord | null {
  if (!json) return null;
  try {
    return JSON.parse(json) as SystemEventRecord;
  } catch {
    return null;
  }
}

function toRecord(row: MessageRow): MessageRecord {
  return {
    id: row.id.toString(),
    chatId: row.chatId.toString(),
    seq: row.seq.toString(),
    senderId: row.senderId.toString(),
    text: row.text,
    clientMessageId: row.clientMessageId,
    createdAt: row.createdAt.toISOString(),
    kind: row.kind,
    system: parseSystem(row.system),
    editedAt: row.editedAt?.toISOString() ?? null,
    deletedAt: row.deletedAt?.toISOString() ?? null,
    version: row.version,
  };
}

export class PrismaMessageStore implements MessageStore {
  constructor(private readonly prisma: PrismaClient) {}

  async write(message: MessageRecord): Promise<void> {
    // One raw statement: on the send path, Prisma's createMany costs twice the CPU for the same INSERT.
    await this.prisma.$executeRaw`
      INSERT INTO messages (id, chat_id, seq, sender_id, text, client_message_id, created_at, kind, system, edited_at, deleted_at, version)
      VALUES (${BigInt(message.id)}, ${BigInt(message.chatId)}, ${BigInt(message.seq)}, ${BigInt(message.senderId)}, ${message.text},
              ${message.clientMessageId}, ${new Date(message.createdAt)}, ${message.kind}::"MessageKind",
              ${message.system ? JSON.stringify(message.system) : null}, ${message.editedAt ? new Date(message.editedAt) : null},
              ${message.deletedAt ? new Date(message.deletedAt) : null}, ${message.version})
      ON CONFLICT DO NOTHING`;
  }

  async update(message: MessageRecord): Promise<void> {
    await this.prisma.message.updateMany({
      where: { id: BigInt(message.id), version: { lt: message.version } },
      data: {
        text: message.text,
        editedAt: message.editedAt ? new Date(message.editedAt) : null,
        deletedAt: message.deletedAt ? new Date(message.deletedAt) : null,
        version: message.version,
      },
    });
  }

  async page(chatId: string, limit: number, beforeSeq?: string): Promise<MessageRecord[]> {
    const rows = await this.prisma.message.findMany({
      where: { chatId: BigInt(chatId), ...(beforeSeq === undefined ? {} : { seq: { lt: BigInt(beforeSeq) } }) },
      orderBy: { seq: 'desc' },
      take: limit,
    });
    return rows.map(toRecord);
  }

  async range(chatId: string, afterSeq: string, limit: number, beforeSeq?: string): Promise<MessageRecord[]> {
    const rows = await this.prisma.message.findMany({
      where: {
        chatId: BigInt(chatId),
        seq: { gt: BigInt(afterSeq), ...(beforeSeq === undefined ? {} : { lt: BigInt(beforeSeq) }) },
      },
      orderBy: { seq: 'asc' },
      take: limit,
    });
    return rows.map(toRecord);
  }

  async seqAt(chatId: string, at: Date): Promise<string | null> {
    const row = await this.prisma.message.findFirst({
      where: { chatId: BigInt(chatId), createdAt: { lte: at } },
      orderBy: [{ createdAt: 'desc' }, { seq: 'desc' }],
      select: { seq: true },
    });
    return row ? row.seq.toString() : null;
  }

  async byIds(ids: readonly string[]): Promise<(MessageRecord | null)[]> {
    const rows = await this.prisma.message.findMany({ where: { id: { in: ids.map(BigInt) } } });
    const byId = new Map(rows.map((row) => [row.id.toString(), toRecord(row)]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  async close(): Promise<void> {}
}
