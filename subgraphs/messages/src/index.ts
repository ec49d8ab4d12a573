import { buildFederatedSchema, loadTypeDefs, type Runtime, type Subgraph } from '@chat/common';
import type { Context } from './context.ts';
import { MemberCache } from './pipeline/member-cache.ts';
import { InProcessMessageLog, type MessageLog } from './pipeline/message-log.ts';
import { MessagePipeline } from './pipeline/message-pipeline.ts';
import { resolvers } from './resolvers/index.ts';
import { MessageService } from './services/message-service.ts';
import { MembershipStore } from './store/membership-store.ts';
import { PrismaMessageStore, type MessageStore } from './store/message-store.ts';
import { SendKeyStore } from './store/send-key-store.ts';
import { ChatSequencer } from './store/sequencer.ts';

export const typeDefs = loadTypeDefs(new URL('./schema.graphql', import.meta.url));

export interface MessagesSubgraphOptions {
  /** History storage. @default Postgres through the runtime's Prisma client */
  store?: MessageStore;
  /** Where sendMessage appends. @default the in-process pipeline (embedded mode) */
  messageLog?: MessageLog;
}

/** The pipeline that places, stores and announces messages: run by the log's consumer. */
export function createMessagePipeline(runtime: Runtime, store: MessageStore): MessagePipeline {
  const membership = new MembershipStore(runtime.db.prisma);
  const members = new MemberCache({ load: (chatId) => membership.memberIds(chatId) });
  return new MessagePipeline(new ChatSequencer(runtime.db.prisma), store, members, runtime.pubsub);
}

export function createMessagesSubgraph(runtime: Runtime, options: MessagesSubgraphOptions = {}): Subgraph<Context> {
  const store = options.store ?? new PrismaMessageStore(runtime.db.prisma);
  const messageLog = options.messageLog ?? new InProcessMessageLog(createMessagePipeline(runtime, store));
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
  };
}
export { ChatSequencer } from './store/sequencer.ts';
