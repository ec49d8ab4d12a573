/** Runs the presence subgraph on its own port (distributed mode). */
import { runSubgraphMain } from '@chat/common';
import { createPresenceSubgraph } from './index.ts';

await runSubgraphMain('presence', createPresenceSubgraph, 4004);
