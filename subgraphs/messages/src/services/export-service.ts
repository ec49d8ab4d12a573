/** The messages part of a user's data export: their own messages only. */
import { forbidden } from '@chat/common';
import type { MessageRecord } from '../store/message-store.ts';
import type { MessageAccess, MessageServiceDeps } from './message-access.ts';

export class ExportService {
  constructor(
    private readonly access: MessageAccess,
    private readonly deps: MessageServiceDeps,
  ) {}

  /** The export entity, for the viewer's own export only. */
  exportReference(userId: string): { userId: string } {
    if (this.access.requireViewer().id !== userId) throw forbidden('Only your own data can be exported.');
    return { userId };
  }

  /**
   * Every message the viewer sent, oldest first, in their current state, for
   * their data export: found by sender in the relational index, read from
   * history in batches (one single-partition read each in Cassandra).
   */
  async sentByViewer(userId: string): Promise<MessageRecord[]> {
    this.exportReference(userId);
    const ids = await this.deps.state.sentBy(userId);
    const out: MessageRecord[] = [];
    for (let start = 0; start < ids.length; start += 200) {
      const batch = await this.deps.store.byIds(ids.slice(start, start + 200));
      out.push(...batch.filter((message): message is MessageRecord => message !== null));
    }
    return out;
  }
}
