/**
 * Who may call what in the messages subgraph (common/src/permissions.ts):
 * every root field needs a logged-in viewer, and those naming a chat
 * (`chatId`, or `input.chatId` for sendMessage) need a member of it. Fields
 * acting on one message (edit, delete, react) are checked by their services
 * against the message's chat, which only it knows. Fields of object types
 * are allowed: messages and events reach a client only through a member's
 * root field, the viewer's own event topic or export, or an entity reference,
 * which MessageAccess.messageById refuses to non-members.
 */
import {
  allow,
  applyPermissions,
  isAuthenticated,
  parseId,
  permissionRule,
  sameRule,
  unauthenticated,
  type PermissionRule,
  type PermissionRules,
} from '@chat/common';
import type { GraphQLSchema } from 'graphql';
import type { Context } from './context.ts';
import { chatNotFound } from './services/message-access.ts';
import { isMember } from './store/membership-store.ts';

type ChatIdOf = (args: Readonly<Record<string, unknown>>) => unknown;

/**
 * The viewer is a member of the chat `chatIdOf` names: UNAUTHENTICATED
 * without a viewer, NOT_FOUND for no such chat and for a non-member alike
 * (IDs cannot be probed), as the services refuse them. Membership comes from the operation's
 * MessageAccess (`standingIn`), whose checks then reuse the answer: one
 * look-up per chat per operation, rule and services together, and none kept
 * beyond the operation (a subscription's context lives as long as it does;
 * it is checked once, when it opens). A malformed ID passes, for the
 * resolver to refuse it as BAD_USER_INPUT naming its argument; no ID at all
 * (the subscriptions' "every chat of the viewer") needs only a viewer.
 */
function isChatMember(name: string, chatIdOf: ChatIdOf): PermissionRule {
  return permissionRule<Context>(
    `messages.isChatMember(${name})`,
    'no_cache',
    async (_parent, args, { viewer, messages }) => {
      if (!viewer) return unauthenticated();
      const given = chatIdOf(args);
      if (given === undefined || given === null) return true;
      const chatId = typeof given === 'string' ? parseId(given) : undefined;
      if (chatId === undefined) return true;
      const { access } = await messages.access.standingIn(chatId.toString());
      return isMember(access) || chatNotFound();
    },
  );
}

const byChatId = isChatMember('chatId', (args) => args.chatId);

export const permissions: PermissionRules = {
  Query: {
    messages: byChatId,
    // Entity references from other subgraphs, on behalf of a logged-in viewer only.
    _entities: isAuthenticated,
    // The subgraph's SDL, which introspection shows too.
    _service: allow,
  },
  Mutation: {
    sendMessage: isChatMember('input.chatId', (args) => (args.input as { chatId?: unknown } | undefined)?.chatId),
    ...sameRule(byChatId, 'markDelivered', 'markSeen', 'setTyping'),
    // The chat is the message's: the services check membership (NOT_FOUND, as for an unknown message) and who may do what.
    ...sameRule(isAuthenticated, 'editMessage', 'deleteMessage', 'reactToMessage', 'unreactToMessage'),
  },
  // Checked when the subscription opens; `chatId` is optional (every chat of the viewer).
  Subscription: sameRule(byChatId, 'messageAdded', 'chatEvents'),
  Message: {
    ...sameRule(
      allow,
      'id',
      'chat',
      'sender',
      'text',
      'clientMessageId',
      'createdAt',
      'cursor',
      'kind',
      'systemEvent',
      'editedAt',
      'deletedAt',
    ),
    // References only: the media subgraph decides who may see each media.
    media: allow,
    // reactedByMe is the viewer's own.
    reactions: allow,
    // Sender only: ReceiptService answers null to everyone else.
    ...sameRule(allow, 'status', 'receipts'),
  },
  Reaction: sameRule(allow, 'emoji', 'count', 'reactedByMe'),
  MessageReceipt: sameRule(allow, 'user', 'deliveredAt', 'seenAt'),
  ReceiptPosition: sameRule(allow, 'chat', 'user', 'deliveredUpTo', 'deliveredAt', 'seenUpTo', 'seenAt'),
  SystemEvent: sameRule(allow, 'action', 'actor', 'users', 'role', 'title'),
  // Events arrive only on the viewer's own topic, for chats they are in.
  MessageAdded: sameRule(allow, 'chat', 'message'),
  MessageEdited: sameRule(allow, 'chat', 'message'),
  MessageDeleted: sameRule(allow, 'chat', 'message', 'forEveryone'),
  ReactionsChanged: sameRule(allow, 'chat', 'message', 'user', 'emoji', 'added'),
  ReceiptsUpdated: sameRule(allow, 'chat', 'user', 'deliveredUpTo', 'deliveredAt', 'seenUpTo', 'seenAt'),
  TypingChanged: sameRule(allow, 'chat', 'user', 'typing', 'expiresAt'),
  MembershipChanged: sameRule(allow, 'chat', 'action', 'actor', 'users', 'role'),
  ChatRenamed: sameRule(allow, 'chat', 'actor', 'title'),
  // Published to the invitee's topic only; the chats subgraph resolves the invitation for its invitee only.
  GroupInvitationReceived: sameRule(allow, 'chatId', 'invitation'),
  GroupInvitation: { chatId: allow },
  MessageConnection: sameRule(allow, 'edges', 'pageInfo'),
  MessageEdge: sameRule(allow, 'cursor', 'node'),
  PageInfo: sameRule(allow, 'hasNextPage', 'endCursor', 'hasPreviousPage', 'startCursor'),
  Chat: { id: allow },
  User: { id: allow },
  Media: { id: allow },
  // The viewer's own export only: ExportService.exportReference and sentByViewer refuse anyone else's (FORBIDDEN).
  DataExport: sameRule(allow, 'userId', 'messages'),
  _Service: { sdl: allow },
};

/** The messages subgraph's schema behind its permissions. */
export const withPermissions = (schema: GraphQLSchema): GraphQLSchema => applyPermissions(schema, permissions);
