/** Runs the chats subgraph on its own port (distributed mode). */
import { runSubgraphMain } from '@chat/common';
import { CHATS_MODELS } from './env.ts';
import { createChatsSubgraph } from './index.ts';

await runSubgraphMain('chats', CHATS_MODELS, createChatsSubgraph);
