/**
 * Whose presence a viewer may see, decided here and nowhere else: their own,
 * and that of everyone who shares a chat with them or is connected with them,
 * unless either of the two blocked the other (a block hides presence both
 * ways, even with a shared chat). The rule itself is one query in the store.
 */
import DataLoader from 'dataloader';
import type { PresenceStore } from '../store/presence-store.ts';

export class PresenceVisibility {
  constructor(private readonly store: PresenceStore) {}

  /** Which of `userIds` the viewer may see, in one query (none for the viewer alone). */
  async visibleTo(viewerId: string, userIds: readonly string[]): Promise<Set<string>> {
    const others = [...new Set(userIds.filter((id) => id !== viewerId))];
    const visible = others.length > 0 ? await this.store.visibleAmong(viewerId, others) : new Set<string>();
    if (userIds.includes(viewerId)) visible.add(viewerId);
    return visible;
  }

  /** Everyone whose presence the viewer may see, the viewer excluded (when subscribing without `userIds`). */
  everyoneVisibleTo(viewerId: string): Promise<string[]> {
    return this.store.visiblePartners(viewerId);
  }

  /** Batches the checks of one operation into one query. */
  loader(viewerId: string): DataLoader<string, boolean> {
    return new DataLoader(async (userIds) => {
      const visible = await this.visibleTo(viewerId, userIds);
      return userIds.map((id) => visible.has(id));
    });
  }
}
