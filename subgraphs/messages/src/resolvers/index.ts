import { DateTimeScalar, type ChatEventRecord } from '@chat/common';
import type { Resolvers } from '../generated/resolvers.ts';
import { messageCursor, type MessageLike } from '../services/message-service.ts';

const chatOf = (event: { chatId: string }) => ({ id: event.chatId });
const userOf = (id: string) => ({ id });

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    messages: (_parent, { chatId, ...page }, { messages }) => messages.history(chatId, page),
  },
  Mutation: {
    sendMessage: (_parent, { input }, { messages }) => messages.sendMessage(input),
    editMessage: (_parent, { id, text }, { messages }) => messages.editMessage(id, text),
    deleteMessage: (_parent, { id, forEveryone }, { messages }) => messages.deleteMessage(id, forEveryone ?? false),
    reactToMessage: (_parent, { messageId, emoji }, { messages }) => messages.react(messageId, emoji, true),
    unreactToMessage: (_parent, { messageId, emoji }, { messages }) => messages.react(messageId, emoji, false),
    markDelivered: (_parent, { chatId, upToMessageId }, { messages }) => messages.markReceipt('DELIVERED', chatId, upToMessageId),
    markSeen: (_parent, { chatId, upToMessageId }, { messages }) => messages.markReceipt('SEEN', chatId, upToMessageId),
    setTyping: (_parent, { chatId, typing }, { messages }) => messages.setTyping(chatId, typing),
  },
  Subscription: {
    messageAdded: {
      subscribe: (_parent, { chatId, after }, { messages, pubsub }) =>
        messages.subscribe({ chatId, after, types: ['MessageAdded'] }, (topic) => pubsub.asyncIterableIterator<ChatEventRecord>(topic)),
      resolve: (event: ChatEventRecord): MessageLike => {
        if (event.type !== 'MessageAdded') throw new Error(`messageAdded received a ${event.type} event`);
        return event.message;
      },
    },
    chatEvents: {
      subscribe: (_parent, { chatId, after }, { messages, pubsub }) =>
        messages.subscribe({ chatId, after }, (topic) => pubsub.asyncIterableIterator<ChatEventRecord>(topic)),
      resolve: (event: ChatEventRecord): ChatEventRecord => event,
    },
  },
  ChatEvent: {
    __resolveType: (event) => event.type,
  },
  MessageAdded: { chat: chatOf },
  MessageEdited: { chat: chatOf },
  MessageDeleted: { chat: chatOf },
  ReactionsChanged: { chat: chatOf, user: (event) => userOf(event.userId) },
  ReceiptsUpdated: {
    chat: chatOf,
    user: (event) => userOf(event.userId),
    deliveredUpTo: (event, _args, { messages }) => messages.messageOrNull(event.deliveredUpToMessageId),
    seenUpTo: (event, _args, { messages }) => messages.messageOrNull(event.seenUpToMessageId),
  },
  ReceiptPosition: {
    chat: chatOf,
    user: (position) => userOf(position.userId),
    deliveredUpTo: (position, _args, { messages }) => messages.messageOrNull(position.deliveredUpToMessageId),
    seenUpTo: (position, _args, { messages }) => messages.messageOrNull(position.seenUpToMessageId),
  },
  TypingChanged: { chat: chatOf, user: (event) => userOf(event.userId) },
  MembershipChanged: {
    chat: chatOf,
    actor: (event) => userOf(event.actorId),
    users: (event) => event.userIds.map(userOf),
  },
  ChatRenamed: { chat: chatOf, actor: (event) => userOf(event.actorId) },
  GroupInvitationReceived: { invitation: (event) => ({ chatId: event.chatId }) },
  SystemEvent: {
    actor: (system) => userOf(system.actorId),
    users: (system) => system.userIds.map(userOf),
    role: (system) => system.role ?? null,
    title: (system) => system.title ?? null,
  },
  MessageReceipt: { user: (receipt) => userOf(receipt.userId) },
  DataExport: {
    __resolveReference: (reference, { messages }) => messages.exportReference(reference.userId),
    messages: (data, _args, { messages }) => messages.sentByViewer(data.userId),
  },
  Message: {
    __resolveReference: (reference, { messages }) => messages.messageById(reference.id),
    chat: (message) => ({ id: message.chatId }),
    sender: (message) => ({ id: message.senderId }),
    media: (message, _args, { messages }) => messages.mediaOf(message),
    createdAt: (message) => message.createdAt,
    cursor: (message) => ('seq' in message ? messageCursor(message.seq) : null),
    kind: (message) => message.kind ?? 'USER',
    systemEvent: (message) => message.system ?? null,
    editedAt: (message) => ('editedAt' in message ? message.editedAt : null),
    deletedAt: (message) => ('deletedAt' in message ? message.deletedAt : null),
    reactions: (message, _args, { messages }) => messages.reactions(message),
    status: (message, _args, { messages }) => messages.status(message),
    receipts: (message, _args, { messages }) => messages.receipts(message),
  },
};
