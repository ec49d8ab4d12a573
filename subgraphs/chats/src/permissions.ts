/**
 * Who may call what in the chats subgraph (common/src/permissions.ts): every
 * root field needs a logged-in viewer, and those naming a chat need a member
 * of it. Fields of object types are allowed: a Chat reaches a client only
 * through a member's root field, the viewer's own chat list or export, or an
 * entity reference, which ChatService.chatReference refuses to non-members.
 */
import {
  allow,
  applyPermissions,
  isAuthenticated,
  parseId,
  permissionRule,
  sameRule,
  unauthenticated,
  type PermissionRules,
} from '@chat/common';
import type { GraphQLSchema } from 'graphql';
import type { Context } from './context.ts';

/**
 * The viewer is a member of the chat whose ID is the argument `argument`:
 * UNAUTHENTICATED without a viewer, NOT_FOUND for no such chat and for a
 * non-member alike (IDs cannot be probed). It is ChatService.chat, the check `chat(id)` makes, through
 * the operation's batched and cached loaders: `chat(id)` then costs no more
 * queries than before, and a mutation two (its own check under the chat's row
 * lock stays). A malformed ID passes, for the resolver to refuse it as
 * BAD_USER_INPUT naming its own argument. Not cached by shield: the service
 * clears its loaders after a change, so a later field of the same operation
 * (after `leaveChat`, say) sees the membership as it now is.
 */
const isChatMember = (argument: 'id' | 'chatId') =>
  permissionRule<Context>(`chats.isChatMember(${argument})`, 'no_cache', async (_parent, args, { viewer, chats }) => {
    if (!viewer) return unauthenticated();
    const chatId = args[argument];
    if (typeof chatId !== 'string' || parseId(chatId) === undefined) return true;
    await chats.chat(chatId);
    return true;
  });

export const permissions: PermissionRules = {
  Query: {
    chat: isChatMember('id'),
    chats: isAuthenticated,
    // The viewer's own invitations only.
    groupInvitations: isAuthenticated,
    // Entity references from other subgraphs, on behalf of a logged-in viewer only.
    _entities: isAuthenticated,
    // The subgraph's SDL, which introspection shows too.
    _service: allow,
  },
  Mutation: {
    ...sameRule(isAuthenticated, 'createDirectChat', 'createGroupChat'),
    // The invitee is not a member yet: ChatService answers NOT_FOUND without a pending invitation of the viewer.
    ...sameRule(isAuthenticated, 'acceptGroupInvitation', 'declineGroupInvitation'),
    ...sameRule(
      isChatMember('chatId'),
      'addChatMembers',
      'removeChatMember',
      'leaveChat',
      'setChatMemberRole',
      'renameChat',
    ),
  },
  Chat: {
    ...sameRule(allow, 'id', 'kind', 'title', 'members', 'memberCount', 'lastMessage', 'createdAt', 'lastActivityAt'),
    // The viewer's own standing: NOT_FOUND (viewerRole) or 0 (unreadCount) for a non-member, from ChatService.
    ...sameRule(allow, 'viewerRole', 'unreadCount'),
  },
  ChatMember: sameRule(allow, 'user', 'role', 'joinedAt'),
  // Reaches only its invitee: through groupInvitations or an entity reference, both of the viewer's own invitations.
  GroupInvitation: sameRule(allow, 'chatId', 'title', 'inviter', 'invitedAt', 'expiresAt'),
  GroupInvitationConnection: sameRule(allow, 'edges', 'pageInfo'),
  GroupInvitationEdge: sameRule(allow, 'cursor', 'node'),
  ChatConnection: sameRule(allow, 'edges', 'pageInfo'),
  ChatEdge: sameRule(allow, 'cursor', 'node'),
  PageInfo: sameRule(allow, 'hasNextPage', 'endCursor', 'hasPreviousPage', 'startCursor'),
  User: { id: allow },
  Message: { id: allow },
  // The viewer's own export only: ChatService.exportReference and allOfViewer refuse anyone else's (FORBIDDEN).
  DataExport: sameRule(allow, 'userId', 'chats'),
  _Service: { sdl: allow },
};

/** The chats subgraph's schema behind its permissions. */
export const withPermissions = (schema: GraphQLSchema): GraphQLSchema => applyPermissions(schema, permissions);
