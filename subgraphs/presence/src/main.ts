/** Runs the presence subgraph on its own port (distributed mode). */
import { runSubgraphMain } from '@chat/common';
import { PRESENCE_MODELS } from './env.ts';
import { createPresenceSubgraph } from './index.ts';

await runSubgraphMain('presence', PRESENCE_MODELS, (runtime, { presence }) =>
  createPresenceSubgraph(runtime, presence),
);
