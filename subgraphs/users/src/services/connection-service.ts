/** Who may connect with whom, and how each change is announced to both users. */
import type { PubSubEngine, Viewer } from '@chat/common';
import type { ConnectionStore } from '../store/connection-store.ts';

export class ConnectionService {
  constructor(
    private readonly viewer: Viewer | null,
    private readonly store: ConnectionStore,
    private readonly pubsub: PubSubEngine,
  ) {}
}
