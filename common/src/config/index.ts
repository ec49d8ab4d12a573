/** The models `common` offers, and the composition every runtime reads. */
import type { LoadedConfig } from '../env.ts';
import { LoggingModel } from './logging.ts';
import { secretsModel, TokensModel, type SecretsOptions } from './secrets.ts';
import { DatabaseModel, RedisModel } from './stores.ts';

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
