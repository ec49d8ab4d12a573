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
import type { AccountErasureStore } from '../store/account-erasure-store.ts';
import type { MessageStateStore } from '../store/message-state-store.ts';
import { parseSystem, type MessageStore } from '../store/message-store.ts';

export class AccountErasures {
  constructor(
    private readonly erasures: AccountErasureStore,
    private readonly history: MessageStore,
    private readonly state: MessageStateStore,
  ) {}

  async drain(): Promise<void> {
    for (const userId of await this.erasures.pending(10)) {
      if (await this.#rewrite(userId.toString())) {
        await this.erasures.markDone(userId);
        log.info('a deleted account no longer appears by name in history', { userId: userId.toString() });
      }
    }
  }

  /** @returns true when every SYSTEM message naming the user is rewritten in history. */
  async #rewrite(userId: string): Promise<boolean> {
    let complete = true;
    for (const row of await this.erasures.systemMessagesNaming(userId)) {
      const event = parseSystem(row.system);
      if (!event || !mentions(event, userId)) continue;
      const text = renderSystemText(event, await this.erasures.displayNames([event.actorId, ...event.userIds]));
      const messageId = row.messageId.toString();
      if (row.text !== text) await this.erasures.setText(row.messageId, text);
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
}

const mentions = (event: SystemEventRecord, userId: string): boolean =>
  event.actorId === userId || event.userIds.includes(userId);
