/** The records behind the GraphQL event and receipt types (codegen mappers). */
import type { ChatEventRecord } from '@chat/common';
import type { ReceiptTimes } from '../store/message-state-store.ts';
import type { MessageRecord, PendingMessage } from '../store/message-store.ts';

type Event<T extends ChatEventRecord['type']> = Extract<ChatEventRecord, { type: T }>;

export type MessageAddedEvent = Event<'MessageAdded'>;
export type MessageEditedEvent = Event<'MessageEdited'>;
export type MessageDeletedEvent = Event<'MessageDeleted'>;
export type ReactionsChangedEvent = Event<'ReactionsChanged'>;
export type ReceiptsUpdatedEvent = Event<'ReceiptsUpdated'>;
export type TypingChangedEvent = Event<'TypingChanged'>;
export type MembershipChangedEvent = Event<'MembershipChanged'>;
export type ChatRenamedEvent = Event<'ChatRenamed'>;
export type GroupInvitationReceivedEvent = Event<'GroupInvitationReceived'>;

export interface MessageReceiptRecord extends ReceiptTimes {
  userId: string;
}

/** The viewer's data export, as this subgraph knows it: its key. */
export interface DataExportRef {
  userId: string;
}

/** A message as resolvers receive it: acknowledged (pending) or placed. */
export type MessageLike = PendingMessage | MessageRecord;
