import { buildFederatedSchema, loadTypeDefs, type Runtime, type Subgraph } from '@chat/common';
import type { Context } from './context.ts';
import { resolvers } from './resolvers/index.ts';
import { PresenceService } from './services/presence-service.ts';
import { PresenceStore } from './store/presence-store.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

export function createPresenceSubgraph(runtime: Runtime): Subgraph<Context> {
  const store = new PresenceStore(runtime.db.prisma);
  return {
    name: 'presence',
    schema: buildFederatedSchema(typeDefs, resolvers),
    async createContext(headers) {
      const viewer = await runtime.tokens.viewerFromAuthorization(headers.authorization);
      return { viewer, pubsub: runtime.pubsub, presence: new PresenceService(viewer, store, runtime.pubsub) };
    },
  };
}
