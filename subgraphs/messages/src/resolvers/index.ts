import { DateTimeScalar } from '@chat/common';
import type { Resolvers } from '../generated/resolvers.ts';
import { filterAsyncIterator } from '../services/filter-iterator.ts';
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
      subscribe: async (_parent, { chatId }, { messages, pubsub }) => {
        const watch = await messages.watch(chatId);
        return filterAsyncIterator(pubsub.asyncIterableIterator<MessageRecord>(watch.topic), watch.accept);
      },
      resolve: (message: MessageRecord): MessageRecord => message,
    },
  },
  Message: {
    __resolveReference: (reference, { messages }) => messages.messageById(reference.id),
    chat: (message) => ({ id: message.chatId }),
    sender: (message) => ({ id: message.senderId }),
    createdAt: (message) => message.createdAt,
  },
};
