/** Who may see and change presence, and how changes are announced. */
import { badInput, requireId, Topics, unauthenticated, type PubSubEngine, type Viewer } from '@chat/common';
import type DataLoader from 'dataloader';
import type { PresenceRecord, PresenceStatus, PresenceStore, UserPresenceRef } from '../store/presence-store.ts';

export const MAX_WATCHED_USERS = 500;

/** The event published on a user's presence topic: JSON-safe. */
export interface PresenceEvent {
  userId: string;
  status: PresenceStatus;
  lastSeenAt: string;
}

export class PresenceService {
  readonly #loader: DataLoader<string, PresenceRecord>;

  constructor(
    private readonly viewer: Viewer | null,
    private readonly store: PresenceStore,
    private readonly pubsub: PubSubEngine,
  ) {
    this.#loader = store.loader();
  }

  #requireViewer(): Viewer {
    if (!this.viewer) throw unauthenticated();
    return this.viewer;
  }

  presenceOf(userId: string): Promise<PresenceRecord> {
    this.#requireViewer();
    return this.#loader.load(userId);
  }

  async setPresence(status: PresenceStatus): Promise<UserPresenceRef> {
    const viewer = this.#requireViewer();
    const now = new Date();
    const presence = await this.store.set(viewer.id, status, now);
    const event: PresenceEvent = { userId: viewer.id, status, lastSeenAt: now.toISOString() };
    await this.pubsub.publish(Topics.presence(viewer.id), event);
    return { id: viewer.id, presence };
  }

  /** Topics to listen to for `presenceChanged(userIds)`. */
  async watchTopics(userIds: readonly string[] | null | undefined): Promise<string[]> {
    const viewer = this.#requireViewer();
    let ids: string[];
    if (userIds) {
      if (userIds.length > MAX_WATCHED_USERS) throw badInput(`userIds may name at most ${MAX_WATCHED_USERS} users.`);
      ids = [...new Set(userIds.map((id) => requireId(id, 'userIds').toString()))];
    } else {
      ids = await this.store.chatPartners(viewer.id);
    }
    return ids.map(Topics.presence);
  }
}
