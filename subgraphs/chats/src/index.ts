import { buildFederatedSchema, loadConfig, loadTypeDefs, type Runtime, type Subgraph } from '@chat/common';
import { CHATS_MODELS, type ChatsConfig } from './env.ts';
import type { Context } from './context.ts';
import { withPermissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';
import { ChatService } from './services/chat-service.ts';
import { ChatStore } from './store/chat-store.ts';

export { MAX_GROUP_MEMBERS, MAX_TITLE_LENGTH } from './services/chat-input.ts';
export { CHATS_MODELS, type ChatsConfig } from './env.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

/** @param config this subgraph's settings (`env.ts`); each one left out takes its default (tests). */
export function createChatsSubgraph(runtime: Runtime, config: Partial<ChatsConfig> = {}): Subgraph<Context> {
  const { chats } = { ...loadConfig(CHATS_MODELS, {}), ...config };
  const store = new ChatStore(runtime.db.prisma);
  return {
    name: 'chats',
    schema: withPermissions(buildFederatedSchema(typeDefs, resolvers)),
    async createContext(forwarded) {
      const viewer = await runtime.checkSession(forwarded);
      return { viewer, chats: new ChatService(viewer, store, runtime.ids, runtime.pubsub, chats.directChatPolicy) };
    },
  };
}
