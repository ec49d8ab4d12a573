/** The user's own data: exporting it, deleting the account. docs/ACCOUNT-DATA.md. */
import {
  announceEndedSessions,
  forbidden,
  log,
  Topics,
  unauthenticated,
  type ChatEventRecord,
  type EntityCache,
  type PubSubEngine,
  type Viewer,
} from '@chat/common';
import type { AccountStore } from '../store/account-store.ts';
import type { ConnectionStore, ContactRecord } from '../store/connection-store.ts';
import { USER_CACHE } from '../store/user-store.ts';
import type { ConnectionEvent } from './connection-service.ts';
import type { AuthService } from './auth-service.ts';
import { refuse } from '../errors.ts';

/** The root of a data export; the subgraphs add their parts to it (the DataExport entity). */
export interface DataExportRecord {
  userId: string;
  exportedAt?: Date;
}

export class AccountService {
  constructor(
    private readonly viewer: Viewer | null,
    private readonly store: AccountStore,
    private readonly auth: AuthService,
    private readonly connections: ConnectionStore,
    private readonly cache: EntityCache,
    private readonly pubsub: PubSubEngine,
    private readonly nextId: () => bigint,
  ) {}

  #requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  exportMyData(): DataExportRecord {
    return { userId: this.#requireViewer().id, exportedAt: new Date() };
  }

  /** The export entity, for the viewer's own export only. */
  exportReference(userId: string): DataExportRecord {
    if (this.#requireViewer().id !== userId) throw forbidden('Only your own data can be exported.');
    return { userId };
  }

  contacts(data: DataExportRecord): Promise<ContactRecord[]> {
    return this.connections.all(this.exportReference(data.userId).userId);
  }

  /**
   * Erases the viewer's account after checking their password, and ends
   * every session of theirs at once (access tokens included).
   * @throws FORBIDDEN (reason WRONG_PASSWORD) for a wrong password: nothing changes.
   */
  async deleteMyAccount(password: string): Promise<boolean> {
    if (!this.viewer) throw unauthenticated();
    const userId = this.viewer.id;
    if (!(await this.auth.checkPassword(this.viewer, password))) {
      throw refuse('WRONG_PASSWORD', 'The password is not right.');
    }
    const erasure = await this.store.erase(userId, new Date(), this.nextId);
    // Committed: what follows only tells others, and a failure there must not undo or hide the deletion.
    await this.cache.invalidate(USER_CACHE, [userId]);
    if (!erasure) return true;
    await announceEndedSessions({ cache: this.cache, pubsub: this.pubsub }, erasure.sessionIds);
    await this.connections.invalidate([userId, ...erasure.formerContactIds]);
    try {
      await this.pubsub.publish(Topics.outbox, {});
      for (const chat of erasure.chats) {
        await this.pubsub.publish(Topics.membersChanged, { chatId: chat.chatId });
        const events: ChatEventRecord[] = [
          {
            type: 'MembershipChanged',
            chatId: chat.chatId,
            action: 'MEMBER_LEFT',
            actorId: userId,
            userIds: [userId],
            role: null,
          },
        ];
        if (chat.newOwnerId) {
          events.push({
            type: 'MembershipChanged',
            chatId: chat.chatId,
            action: 'ROLE_CHANGED',
            actorId: userId,
            userIds: [chat.newOwnerId],
            role: 'OWNER',
          });
        }
        for (const memberId of chat.remainingIds)
          for (const event of events) await this.pubsub.publish(Topics.userEvents(memberId), event);
      }
      const ended: ConnectionEvent = { userId, status: 'NONE', since: null };
      for (const otherId of erasure.formerContactIds) await this.pubsub.publish(Topics.userConnections(otherId), ended);
    } catch (error) {
      log.warn('an account was deleted but not every member was told', { userId, error: String(error) });
    }
    return true;
  }
}
