import { buildFederatedSchema, loadConfig, loadTypeDefs, type Runtime, type Subgraph } from '@chat/common';
import { PRESENCE_MODELS } from './env.ts';
import type { Context } from './context.ts';
import { withPermissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';
import { PresenceService } from './services/presence-service.ts';
import { PresenceSweeper } from './services/presence-sweeper.ts';
import { presenceTiming, type PresenceTiming } from './services/presence-timing.ts';
import { PresenceVisibility } from './services/presence-visibility.ts';
import { PresenceStore } from './store/presence-store.ts';

export type { PresenceTiming } from './services/presence-timing.ts';
export { PRESENCE_MODELS, type PresenceConfig } from './env.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

export interface PresenceSubgraph extends Subgraph<Context> {
  /** Runs every `sweepMs` from creation until `close`; tests may also call `sweeper.sweep()`. */
  sweeper: PresenceSweeper;
  /** Stops the sweeper. */
  close(): Promise<void>;
}

/**
 * @param timing the timeouts (the `presence` section of its config, `env.ts`) and the clock; each one left out
 *   takes its default (tests).
 */
export function createPresenceSubgraph(runtime: Runtime, timing: Partial<PresenceTiming> = {}): PresenceSubgraph {
  const store = new PresenceStore(runtime.db.prisma);
  const settings = presenceTiming({ ...loadConfig(PRESENCE_MODELS, {}).presence, ...timing });
  const visibility = new PresenceVisibility(store);
  const sweeper = new PresenceSweeper(store, runtime.pubsub, settings);
  sweeper.start();
  return {
    name: 'presence',
    schema: withPermissions(buildFederatedSchema(typeDefs, resolvers)),
    async createContext(forwarded) {
      const viewer = await runtime.checkSession(forwarded);
      return {
        viewer,
        pubsub: runtime.pubsub,
        presence: new PresenceService(viewer, store, runtime.pubsub, visibility, settings),
      };
    },
    sweeper,
    close: () => sweeper.stop(),
  };
}
