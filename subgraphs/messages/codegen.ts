import { subgraphCodegen } from '../../scripts/codegen-config.ts';

export default subgraphCodegen({
  Message: '../services/event-types.ts#MessageLike',
  Chat: '../store/membership-store.ts#ChatRef',
  User: '../store/membership-store.ts#UserRef',
  Reaction: '../store/message-state-store.ts#ReactionRecord',
  MessageReceipt: '../services/event-types.ts#MessageReceiptRecord',
  ReceiptPosition: '../store/message-state-store.ts#ReceiptPositionRecord',
  SystemEvent: '@chat/common#SystemEventRecord',
  ChatEvent: '@chat/common#ChatEventRecord',
  MessageAdded: '../services/event-types.ts#MessageAddedEvent',
  MessageEdited: '../services/event-types.ts#MessageEditedEvent',
  MessageDeleted: '../services/event-types.ts#MessageDeletedEvent',
  ReactionsChanged: '../services/event-types.ts#ReactionsChangedEvent',
  ReceiptsUpdated: '../services/event-types.ts#ReceiptsUpdatedEvent',
  TypingChanged: '../services/event-types.ts#TypingChangedEvent',
  MembershipChanged: '../services/event-types.ts#MembershipChangedEvent',
  ChatRenamed: '../services/event-types.ts#ChatRenamedEvent',
  GroupInvitationReceived: '../services/event-types.ts#GroupInvitationReceivedEvent',
  DataExport: '../services/event-types.ts#DataExportRef',
});
