/**
 * What taking a deleted account's name out of history reads and writes in
 * Postgres: the erasures still to do (account_erasures, requested by the
 * users subgraph), the outbox copies of SYSTEM messages (message_keys), and
 * the users' display names as they are now.
 */
import type { PrismaClient } from '@chat/prisma';

/** The outbox copy of a SYSTEM message that may name a user. */
export interface SystemMessageKey {
  messageId: bigint;
  /** The event, as JSON; null when the row holds none. */
  system: string | null;
  text: string;
}

export class AccountErasureStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** The users whose erasure is not done yet, oldest request first, at most `limit`. */
  async pending(limit: number): Promise<bigint[]> {
    const rows = await this.prisma.accountErasure.findMany({
      where: { doneAt: null },
      orderBy: { requestedAt: 'asc' },
      take: limit,
    });
    return rows.map((row) => row.userId);
  }

  async markDone(userId: bigint): Promise<void> {
    await this.prisma.accountErasure.update({ where: { userId }, data: { doneAt: new Date() } });
  }

  /** SYSTEM messages the user sent or whose event may name them (a textual match: parse `system` to be sure). */
  async systemMessagesNaming(userId: string): Promise<SystemMessageKey[]> {
    const rows = await this.prisma.$queryRaw<{ message_id: bigint; system: string | null; text: string }[]>`
      SELECT message_id, system, text FROM message_keys
       WHERE kind = 'SYSTEM' AND (sender_id = ${BigInt(userId)} OR system LIKE ${`%"${userId}"%`})`;
    return rows.map((row) => ({ messageId: row.message_id, system: row.system, text: row.text }));
  }

  /** Replaces the text of a message's outbox copy. */
  async setText(messageId: bigint, text: string): Promise<void> {
    await this.prisma.messageKey.updateMany({ where: { messageId }, data: { text } });
  }

  /** Each user's display name now, by id. */
  async displayNames(ids: readonly string[]): Promise<Map<string, string>> {
    const rows = await this.prisma.user.findMany({
      where: { id: { in: ids.map(BigInt) } },
      select: { id: true, displayName: true },
    });
    return new Map(rows.map((row) => [row.id.toString(), row.displayName]));
  }
}
