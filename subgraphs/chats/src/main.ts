/** Runs the chats subgraph on its own port (distributed mode). */
import { runSubgraphMain } from '@chat/common';
import { createChatsSubgraph } from './index.ts';

await runSubgraphMain('chats', createChatsSubgraph, 4002);
