/**
 * Whose presence a viewer may see, decided here and nowhere else: their own,
 * and that of everyone who shares a chat with them. (Contacts join with a
 * later issue: add them to `visibleTo`.)
 */
import DataLoader from 'dataloader';
import type { PresenceStore } from '../store/presence-store.ts';

export class PresenceVisibility {
  constructor(private readonly store: PresenceStore) {}

  /** Which of `userIds` the viewer may see, in one query (none for the viewer alone). */
  async visibleTo(viewerId: string, userIds: readonly string[]): Promise<Set<string>> {
    const others = [...new Set(userIds.filter((id) => id !== viewerId))];
    const visible = others.length > 0 ? await this.store.sharingAChatWith(viewerId, others) : new Set<string>();
    if (userIds.includes(viewerId)) visible.add(viewerId);
    return visible;
  }

  /** Batches the checks of one operation into one query. */
  loader(viewerId: string): DataLoader<string, boolean> {
    return new DataLoader(async (userIds) => {
      const visible = await this.visibleTo(viewerId, userIds);
      return userIds.map((id) => visible.has(id));
    });
  }
}
