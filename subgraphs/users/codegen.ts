import { subgraphCodegen } from '../../scripts/codegen-config.ts';

export default subgraphCodegen({
  User: '../store/user-store.ts#UserRecord',
  Contact: '../store/connection-store.ts#ContactRecord',
  Session: '../store/session-store.ts#SessionRecord',
  AuthPayload: '../services/auth-service.ts#AuthResult',
  DataExport: '../services/account-service.ts#DataExportRecord',
});
