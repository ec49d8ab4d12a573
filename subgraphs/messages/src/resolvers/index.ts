import { DateTimeScalar } from '@chat/common';
import type { Resolvers } from '../generated/resolvers.ts';
import { messageCursor } from '../services/message-service.ts';
import type { MessageRecord } from '../store/message-store.ts';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    messages: (_parent, { chatId, first, before }, { messages }) => messages.history(chatId, first, before),
  },
  Mutation: {
    sendMessage: (_parent, { input }, { messages }) => messages.sendMessage(input),
  },
  Subscription: {
    messageAdded: {
      subscribe: (_parent, { chatId, after }, { messages, pubsub }) =>
        messages.subscribe(chatId, after, (topic) => pubsub.asyncIterableIterator<MessageRecord>(topic)),
      resolve: (message: MessageRecord): MessageRecord => message,
    },
  },
  Message: {
    __resolveReference: (reference, { messages }) => messages.messageById(reference.id),
    chat: (message) => ({ id: message.chatId }),
    sender: (message) => ({ id: message.senderId }),
    createdAt: (message) => message.createdAt,
    cursor: (message) => ('seq' in message && typeof message.seq === 'string' ? messageCursor(message.seq) : null),
  },
};
