import { subgraphCodegen } from '../../scripts/codegen-config.ts';

export default subgraphCodegen({
  Media: '../store/media-store.ts#MediaRecord',
  User: '../store/media-store.ts#UserRef',
});
