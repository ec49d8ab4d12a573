/** Runs the messages subgraph on its own port (distributed mode). */
import { runSubgraphMain } from '@chat/common';
import { MESSAGES_MODELS } from './env.ts';
import { createMessagesSubgraph } from './index.ts';

await runSubgraphMain('messages', MESSAGES_MODELS, createMessagesSubgraph);
