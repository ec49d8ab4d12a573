/** Runs the users subgraph on its own port (distributed mode). */
import { runSubgraphMain } from '@chat/common';
import { createUsersSubgraph } from './index.ts';

await runSubgraphMain('users', createUsersSubgraph, 4001);
