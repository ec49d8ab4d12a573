import { DateTimeScalar, type ChatEventRecord } from '@chat/common';
import type { Resolvers } from '../generated/resolvers.ts';
import type { MessageLike } from '../services/event-types.ts';
import { messageCursor } from '../services/message-input.ts';

const chatOf = (event: { chatId: string }) => ({ id: event.chatId });
const userOf = (id: string) => ({ id });

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    messages: (_parent, { chatId, ...page }, { messages }) => messages.history.history(chatId, page),
  },
  Mutation: {
    sendMessage: (_parent, { input }, { messages }) => messages.sending.sendMessage(input),
    editMessage: (_parent, { id, text }, { messages }) => messages.edits.editMessage(id, text),
    deleteMessage: (_parent, { id, forEveryone }, { messages }) =>
      messages.edits.deleteMessage(id, forEveryone ?? false),
    reactToMessage: (_parent, { messageId, emoji }, { messages }) => messages.reactions.react(messageId, emoji, true),
    unreactToMessage: (_parent, { messageId, emoji }, { messages }) =>
      messages.reactions.react(messageId, emoji, false),
    markDelivered: (_parent, { chatId, upToMessageId }, { messages }) =>
      messages.receipts.markReceipt('DELIVERED', chatId, upToMessageId),
    markSeen: (_parent, { chatId, upToMessageId }, { messages }) =>
      messages.receipts.markReceipt('SEEN', chatId, upToMessageId),
    setTyping: (_parent, { chatId, typing }, { messages }) => messages.typing.setTyping(chatId, typing),
  },
  Subscription: {
    messageAdded: {
      subscribe: (_parent, { chatId, after }, { messages, pubsub }) =>
        messages.history.subscribe({ chatId, after, types: ['MessageAdded'] }, (topic) =>
          pubsub.asyncIterableIterator<ChatEventRecord>(topic),
        ),
      resolve: (event: ChatEventRecord): MessageLike => {
        if (event.type !== 'MessageAdded') throw new Error(`messageAdded received a ${event.type} event`);
        return event.message;
      },
    },
    chatEvents: {
      subscribe: (_parent, { chatId, after }, { messages, pubsub }) =>
        messages.history.subscribe({ chatId, after }, (topic) => pubsub.asyncIterableIterator<ChatEventRecord>(topic)),
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
    deliveredUpTo: (event, _args, { messages }) => messages.access.messageOrNull(event.deliveredUpToMessageId),
    seenUpTo: (event, _args, { messages }) => messages.access.messageOrNull(event.seenUpToMessageId),
  },
  ReceiptPosition: {
    chat: chatOf,
    user: (position) => userOf(position.userId),
    deliveredUpTo: (position, _args, { messages }) => messages.access.messageOrNull(position.deliveredUpToMessageId),
    seenUpTo: (position, _args, { messages }) => messages.access.messageOrNull(position.seenUpToMessageId),
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
    __resolveReference: (reference, { messages }) => messages.exports.exportReference(reference.userId),
    messages: (data, _args, { messages }) => messages.exports.sentByViewer(data.userId),
  },
  Message: {
    __resolveReference: (reference, { messages }) => messages.access.messageById(reference.id),
    chat: (message) => ({ id: message.chatId }),
    sender: (message) => ({ id: message.senderId }),
    media: (message, _args, { messages }) => messages.history.mediaOf(message),
    createdAt: (message) => message.createdAt,
    cursor: (message) => ('seq' in message ? messageCursor(message.seq) : null),
    kind: (message) => message.kind ?? 'USER',
    systemEvent: (message) => message.system ?? null,
    editedAt: (message) => ('editedAt' in message ? message.editedAt : null),
    deletedAt: (message) => ('deletedAt' in message ? message.deletedAt : null),
    reactions: (message, _args, { messages }) => messages.reactions.reactions(message),
    status: (message, _args, { messages }) => messages.receipts.status(message),
    receipts: (message, _args, { messages }) => messages.receipts.receipts(message),
  },
};
