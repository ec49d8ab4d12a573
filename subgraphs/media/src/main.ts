/** Runs the media subgraph on its own port (distributed mode). */
import { runSubgraphMain } from '@chat/common';
import { createMediaSubgraph } from './index.ts';

await runSubgraphMain('media', createMediaSubgraph, 4005);
