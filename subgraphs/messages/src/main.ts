/** Runs the messages subgraph on its own port (distributed mode). */
import { runSubgraphMain } from '@chat/common';
import { createMessagesSubgraph } from './index.ts';

await runSubgraphMain('messages', createMessagesSubgraph, 4003);
