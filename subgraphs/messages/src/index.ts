import { buildFederatedSchema, loadTypeDefs, type Runtime, type Subgraph } from '@chat/common';
import type { Context } from './context.ts';
import { openMessageInfrastructure } from './infrastructure.ts';
import { resolvers } from './resolvers/index.ts';
import { MessageService } from './services/message-service.ts';
import { MembershipStore } from './store/membership-store.ts';
import { SendKeyStore } from './store/send-key-store.ts';

export { createMessagePipeline } from './infrastructure.ts';
export { ChatSequencer } from './store/sequencer.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

export function createMessagesSubgraph(runtime: Runtime): Subgraph<Context> {
  const { store, messageLog, close } = openMessageInfrastructure(runtime, { consume: runtime.config.env.MESSAGE_CONSUMER === 'on' });
  const membership = new MembershipStore(runtime.db.prisma);
  const keys = new SendKeyStore(runtime.db.prisma);
  const nextId = () => runtime.ids.next();
  return {
    name: 'messages',
    schema: buildFederatedSchema(typeDefs, resolvers),
    async createContext(headers) {
      const viewer = await runtime.tokens.viewerFromAuthorization(headers.authorization);
      return { viewer, pubsub: runtime.pubsub, messages: new MessageService(viewer, store, membership, keys, messageLog, nextId) };
    },
    close,
  };
}
export { CassandraMessageStore } from './store/cassandra-message-store.ts';
export type { MessageRecord, PendingMessage } from './store/message-store.ts';
export { deleteEmptyGroups } from './pipeline/kafka-log.ts';
