import { DateTimeScalar } from '@chat/common';
import type { Resolvers } from '../generated/resolvers.ts';
import { invitationExpiry } from '../services/group-admission.ts';

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  Query: {
    chat: (_parent, { id }, { chats }) => chats.chat(id),
    chats: (_parent, { first, after }, { chats }) => chats.chats(first, after),
    groupInvitations: (_parent, { first, after }, { chats }) => chats.invitations(first, after),
  },
  Mutation: {
    createDirectChat: (_parent, { userId }, { chats }) => chats.createDirectChat(userId),
    createGroupChat: (_parent, { input }, { chats }) => chats.createGroupChat(input),
    addChatMembers: (_parent, { chatId, userIds }, { chats }) => chats.addMembers(chatId, userIds),
    removeChatMember: (_parent, { chatId, userId }, { chats }) => chats.removeMember(chatId, userId),
    leaveChat: (_parent, { chatId }, { chats }) => chats.leave(chatId),
    setChatMemberRole: (_parent, { chatId, userId, role }, { chats }) => chats.setMemberRole(chatId, userId, role),
    renameChat: (_parent, { chatId, title }, { chats }) => chats.rename(chatId, title),
    acceptGroupInvitation: (_parent, { chatId }, { chats }) => chats.acceptInvitation(chatId),
    declineGroupInvitation: (_parent, { chatId }, { chats }) => chats.declineInvitation(chatId),
  },
  Chat: {
    __resolveReference: (reference, { chats }) => chats.chatReference(reference.id),
    members: (chat, _args, { chats }) => chats.members(chat),
    memberCount: (chat, _args, { chats }) => chats.memberCount(chat),
    viewerRole: (chat, _args, { chats }) => chats.viewerRole(chat),
    lastMessage: (chat) => (chat.lastMessageId ? { id: chat.lastMessageId } : null),
    unreadCount: (chat, _args, { chats }) => chats.unreadCount(chat),
  },
  GroupInvitation: {
    __resolveReference: (reference, { chats }) => chats.invitationReference(reference.chatId),
    inviter: (invitation) => ({ id: invitation.inviterId }),
    expiresAt: (invitation) => invitationExpiry(invitation.invitedAt),
  },
  ChatMember: {
    user: (member) => ({ id: member.userId }),
  },
  DataExport: {
    __resolveReference: (reference, { chats }) => chats.exportReference(reference.userId),
    chats: (data, _args, { chats }) => chats.allOfViewer(data.userId),
  },
};
