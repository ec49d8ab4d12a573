/** Runs the media subgraph on its own port (distributed mode). */
import { runSubgraphMain } from '@chat/common';
import { MEDIA_MODELS } from './env.ts';
import { createMediaSubgraph } from './index.ts';

await runSubgraphMain('media', MEDIA_MODELS, createMediaSubgraph);
