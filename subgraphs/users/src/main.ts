/** Runs the users subgraph on its own port (distributed mode). */
import { runSubgraphMain } from '@chat/common';
import { USERS_MODELS } from './env.ts';
import { createUsersSubgraph } from './index.ts';

await runSubgraphMain('users', USERS_MODELS, createUsersSubgraph);
