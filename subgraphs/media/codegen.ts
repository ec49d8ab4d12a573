import { subgraphCodegen } from '../../scripts/codegen-config.ts';

export default subgraphCodegen({
  Media: '../store/media-store.ts#MediaRecord',
});
