import { subgraphCodegen } from '../../scripts/codegen-config.ts';

export default subgraphCodegen({
  Chat: '../store/chat-store.ts#ChatRecord',
  ChatMember: '../store/chat-store.ts#ChatMemberRecord',
  GroupInvitation: '../store/chat-store.ts#GroupInvitationRecord',
  User: '../store/chat-store.ts#UserRef',
  Message: '../store/chat-store.ts#MessageRef',
  DataExport: '../services/chat-service.ts#DataExportRef',
});
