/**
 * Takes a deleted account's name out of history: every SYSTEM message that
 * names the user ("Ann added Bob") is rendered again with the names as they
 * are now ("Deleted user added Bob"), in the outbox copy and in history, at
 * a new version (so a late write of the old text cannot win). An erasure is
 * marked done only once every such message is in history with its new text:
 * one still on its way through the log is rewritten on a later pass.
 *
 * Run by the outbox relay (woken by the deletion, and polling).
 */
import { log, renderSystemText, type SystemEventRecord } from '@chat/common';
import type { PrismaClient } from '@chat/prisma';
import type { MessageStateStore } from '../store/message-state-store.ts';
import { parseSystem, type MessageStore } from '../store/message-store.ts';

export class AccountErasures {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly history: MessageStore,
    private readonly state: MessageStateStore,
  ) {}

  async drain(): Promise<void> {
    const pending = await this.prisma.accountErasure.findMany({ where: { doneAt: null }, orderBy: { requestedAt: 'asc' }, take: 10 });
    for (const { userId } of pending) {
      if (await this.#rewrite(userId.toString())) {
        await this.prisma.accountErasure.update({ where: { userId }, data: { doneAt: new Date() } });
        log.info('a deleted account no longer appears by name in history', { userId: userId.toString() });
      }
    }
  }

  /** @returns true when every SYSTEM message naming the user is rewritten in history. */
  async #rewrite(userId: string): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ message_id: bigint; system: string | null; text: string; produced_at: Date | null }[]>`
      SELECT message_id, system, text, produced_at FROM message_keys
       WHERE kind = 'SYSTEM' AND (sender_id = ${BigInt(userId)} OR system LIKE ${`%"${userId}"%`})`;
    let complete = true;
    for (const row of rows) {
      const event = parseSystem(row.system);
      if (!event || !mentions(event, userId)) continue;
      const text = renderSystemText(event, await this.#names([event.actorId, ...event.userIds]));
      const messageId = row.message_id.toString();
      if (row.text !== text) await this.prisma.messageKey.updateMany({ where: { messageId: row.message_id }, data: { text } });
      const [current] = await this.history.byIds([messageId]);
      if (!current) {
        complete = false; // on its way through the log, possibly with the old text: look again next pass
        continue;
      }
      if (current.text === text || current.deletedAt) continue;
      const claim = await this.state.claimRewrite(messageId);
      if (claim) await this.history.update({ ...current, text, version: claim.version });
    }
    return complete;
  }

  async #names(ids: readonly string[]): Promise<Map<string, string>> {
    const rows = await this.prisma.user.findMany({ where: { id: { in: ids.map(BigInt) } }, select: { id: true, displayName: true } });
    return new Map(rows.map((row) => [row.id.toString(), row.displayName]));
  }
}

const mentions = (event: SystemEventRecord, userId: string): boolean => event.actorId === userId || event.userIds.includes(userId);
