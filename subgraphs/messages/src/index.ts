import { buildFederatedSchema, loadConfig, loadTypeDefs, type Runtime, type Subgraph } from '@chat/common';
import { MESSAGES_MODELS, type MessagesConfig } from './env.ts';
import type { Context } from './context.ts';
import { withPermissions } from './permissions.ts';
import { openMessageInfrastructure } from './infrastructure.ts';
import { AccountErasureStore } from './store/account-erasure-store.ts';
import { AttachmentStore } from './store/attachment-store.ts';
import { AccountErasures } from './pipeline/account-erasures.ts';
import { OutboxRelay } from './pipeline/outbox-relay.ts';
import { resolvers } from './resolvers/index.ts';
import { createMessageServices, type MessageServiceDeps } from './services/index.ts';
import { MembershipStore } from './store/membership-store.ts';
import { MessageStateStore } from './store/message-state-store.ts';
import { SendKeyStore } from './store/send-key-store.ts';

export { createMessagePipeline } from './infrastructure.ts';
export {
  CONSUMER_MODELS,
  MESSAGE_STORE_MODELS,
  MESSAGES_MODELS,
  type MessagesConfig,
  type MessageStoreConfig,
} from './env.ts';
export { ChatSequencer } from './store/sequencer.ts';
export { MessageStateStore } from './store/message-state-store.ts';
export { PrismaMessageStore, placedRecord } from './store/message-store.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

/** @param config this subgraph's settings (`env.ts`); each one left out takes its default (tests). */
export function createMessagesSubgraph(runtime: Runtime, config: Partial<MessagesConfig> = {}): Subgraph<Context> {
  const { messages, kafka, cassandra } = { ...loadConfig(MESSAGES_MODELS, {}), ...config };
  const consume = messages.consume;
  const { store, messageLog, close } = openMessageInfrastructure(runtime, { kafka, cassandra }, { consume });
  const keys = new SendKeyStore(runtime.db.prisma);
  const state = new MessageStateStore(runtime.db.prisma);
  const relay = new OutboxRelay(
    keys,
    messageLog,
    runtime.pubsub,
    new AccountErasures(new AccountErasureStore(runtime.db.prisma), store, state),
  );
  const deps: MessageServiceDeps = {
    store,
    membership: new MembershipStore(runtime.db.prisma),
    keys,
    attachments: new AttachmentStore(runtime.db.prisma),
    state,
    messageLog,
    pubsub: runtime.pubsub,
    nextId: () => runtime.ids.next(),
    rules: {
      editWindowMs: messages.editWindowMs,
      deleteWindowMs: messages.deleteWindowMs,
      typingTtlMs: messages.typingTtlMs,
    },
  };
  return {
    name: 'messages',
    schema: withPermissions(buildFederatedSchema(typeDefs, resolvers)),
    async createContext(forwarded) {
      const viewer = await runtime.checkSession(forwarded);
      return { viewer, pubsub: runtime.pubsub, messages: createMessageServices(viewer, deps) };
    },
    close: async () => {
      await relay.close();
      await close();
    },
  };
}
export { CassandraMessageStore } from './store/cassandra-message-store.ts';
export { AttachmentStore, MediaNotAttachableError } from './store/attachment-store.ts';
export type { MessageRecord, PendingMessage } from './store/message-store.ts';
export { deleteEmptyGroups, KafkaMessageLog, startMessageConsumer } from './pipeline/kafka-log.ts';
