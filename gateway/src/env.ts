import { parseEnv, ZRuntimeEnvSchema } from '@chat/common';
import { z } from 'zod';

const optionalUrl = z.preprocess((value) => (value === '' ? undefined : value), z.string().url().optional());

/**
 * The gateway's configuration: the runtime's, plus where each subgraph runs.
 * A subgraph without a URL is mounted in this process (the embedded default).
 */
export const ZGatewayEnvSchema = ZRuntimeEnvSchema.extend({
  SUBGRAPH_USERS_URL: optionalUrl,
  SUBGRAPH_CHATS_URL: optionalUrl,
  SUBGRAPH_MESSAGES_URL: optionalUrl,
  SUBGRAPH_PRESENCE_URL: optionalUrl,
});

export type GatewayEnv = z.infer<typeof ZGatewayEnvSchema>;

export const loadGatewayEnv = (env: NodeJS.ProcessEnv = process.env): GatewayEnv => parseEnv(ZGatewayEnvSchema, env);
