/**
 * The events of a chat as they travel on each member's `Topics.userEvents`
 * topic: JSON-safe (IDs as decimal strings, times as ISO-8601), since the
 * Redis transport serializes them. The messages subgraph serves them as the
 * `chatEvents` subscription; the chats subgraph publishes the membership
 * and title events, the messages subgraph the rest. docs/EVENTS.md.
 */

export type ChatRoleName = 'OWNER' | 'ADMIN' | 'MEMBER';

/** What a SYSTEM message records (stored as JSON in the message). */
export interface SystemEventRecord {
  action: 'CHAT_CREATED' | 'MEMBERS_ADDED' | 'MEMBER_REMOVED' | 'MEMBER_LEFT' | 'ROLE_CHANGED' | 'CHAT_RENAMED';
  actorId: string;
  userIds: string[];
  role?: ChatRoleName;
  title?: string;
}

/** A message as events carry it: the full current state, so a client can render it without a read. */
export interface MessageEventRecord {
  id: string;
  chatId: string;
  senderId: string;
  text: string;
  clientMessageId: string;
  createdAt: string;
  /** The position in the chat; present on every event of a placed message. */
  seq: string;
  kind: 'USER' | 'SYSTEM';
  system: SystemEventRecord | null;
  editedAt: string | null;
  deletedAt: string | null;
  version: number;
}

export type ChatEventRecord =
  | { type: 'MessageAdded'; chatId: string; message: MessageEventRecord }
  | { type: 'MessageEdited'; chatId: string; message: MessageEventRecord }
  | { type: 'MessageDeleted'; chatId: string; message: MessageEventRecord; forEveryone: boolean }
  | {
      type: 'ReactionsChanged';
      chatId: string;
      message: MessageEventRecord;
      userId: string;
      emoji: string;
      added: boolean;
    }
  | {
      type: 'ReceiptsUpdated';
      chatId: string;
      userId: string;
      deliveredUpToMessageId: string | null;
      deliveredAt: string | null;
      seenUpToMessageId: string | null;
      seenAt: string | null;
    }
  | { type: 'TypingChanged'; chatId: string; userId: string; typing: boolean; expiresAt: string | null }
  | {
      type: 'MembershipChanged';
      chatId: string;
      action: 'MEMBERS_ADDED' | 'MEMBER_REMOVED' | 'MEMBER_LEFT' | 'ROLE_CHANGED';
      actorId: string;
      userIds: string[];
      role: ChatRoleName | null;
    }
  | { type: 'ChatRenamed'; chatId: string; actorId: string; title: string }
  /** Only to the invitee, who is not a member (docs/GROUPS.md#consent). */
  | { type: 'GroupInvitationReceived'; chatId: string; inviterId: string };

export type ChatEventType = ChatEventRecord['type'];
