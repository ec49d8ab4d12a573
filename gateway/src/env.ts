import { parseEnv, ZOptionalUrlSchema, ZRuntimeEnvSchema } from '@chat/common';
import { z } from 'zod';

/**
 * The gateway's configuration: the runtime's, plus where each subgraph runs.
 * A subgraph without a URL is mounted in this process (the embedded default).
 */
export const ZGatewayEnvSchema = ZRuntimeEnvSchema.extend({
  SUBGRAPH_USERS_URL: ZOptionalUrlSchema,
  SUBGRAPH_CHATS_URL: ZOptionalUrlSchema,
  SUBGRAPH_MESSAGES_URL: ZOptionalUrlSchema,
  SUBGRAPH_PRESENCE_URL: ZOptionalUrlSchema,
});

export type GatewayEnv = z.infer<typeof ZGatewayEnvSchema>;

export const loadGatewayEnv = (env: NodeJS.ProcessEnv = process.env): GatewayEnv => parseEnv(ZGatewayEnvSchema, env);
