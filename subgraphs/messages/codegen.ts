import { subgraphCodegen } from '../../scripts/codegen-config.ts';

export default subgraphCodegen({
  Message: '../store/message-store.ts#PendingMessage',
  Chat: '../store/membership-store.ts#ChatRef',
  User: '../store/membership-store.ts#UserRef',
});
