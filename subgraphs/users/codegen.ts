import { subgraphCodegen } from '../../scripts/codegen-config.ts';

export default subgraphCodegen({
  User: '../store/user-store.ts#UserRecord',
  Contact: '../store/connection-store.ts#ContactRecord',
  DataExport: '../services/account-service.ts#DataExportRecord',
});
