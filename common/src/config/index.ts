/**
 * The models `common` offers, and the composition every runtime reads. Also
 * `@chat/common/config`: what a model or a composition needs, without the
 * rest of `common` (Prisma, Redis, GraphQL) loaded.
 */
import type { ConfigModels, LoadedConfig } from '../env.ts';
import type { SubgraphName } from '../subgraph-names.ts';
import { LoggingModel } from './logging.ts';
import { secretsModel, TokensModel, type SecretsOptions } from './secrets.ts';
import { DatabaseModel, RedisModel } from './stores.ts';

export * from '../env.ts';
export * from '../subgraph-names.ts';
export * from './logging.ts';
export * from './mail.ts';
export * from './media-storage.ts';
export * from './secrets.ts';
export * from './stores.ts';

/** What `createRuntime` reads: the database, Redis, secrets, token lifetime and logging. */
export function runtimeModels(options: SecretsOptions) {
  return {
    database: DatabaseModel,
    redis: RedisModel,
    secrets: secretsModel(options),
    tokens: TokensModel,
    logging: LoggingModel,
  };
}

export type RuntimeConfig = LoadedConfig<ReturnType<typeof runtimeModels>>;

/**
 * What a subgraph's own process reads: the runtime's models (the signing keys
 * and pepper only for users, which issues tokens) and the subgraph's own.
 */
export function subgraphProcessModels<M extends ConfigModels>(name: SubgraphName, models: M) {
  return { ...runtimeModels({ issuesTokens: name === 'users' }), ...models };
}
