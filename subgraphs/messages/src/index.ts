import { buildFederatedSchema, loadTypeDefs, type Runtime, type Subgraph } from '@chat/common';
import type { Context } from './context.ts';
import { resolvers } from './resolvers/index.ts';
import { MessageService } from './services/message-service.ts';
import { MembershipStore } from './store/membership-store.ts';
import { PrismaMessageStore, type MessageStore } from './store/message-store.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

export function createMessagesSubgraph(runtime: Runtime): Subgraph<Context> {
  const store: MessageStore = new PrismaMessageStore(runtime.db.prisma);
  const membership = new MembershipStore(runtime.db.prisma);
  const nextId = () => runtime.ids.next();
  return {
    name: 'messages',
    schema: buildFederatedSchema(typeDefs, resolvers),
    async createContext(headers) {
      const viewer = await runtime.tokens.viewerFromAuthorization(headers.authorization);
      return { viewer, pubsub: runtime.pubsub, messages: new MessageService(viewer, store, membership, runtime.pubsub, nextId) };
    },
  };
}
