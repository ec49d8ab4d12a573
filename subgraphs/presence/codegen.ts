import { subgraphCodegen } from '../../scripts/codegen-config.ts';

export default subgraphCodegen({
  User: '../store/presence-store.ts#UserPresenceRef',
  Presence: '../store/presence-store.ts#PresenceRecord',
});
