/**
 * What every subgraph needs from the outside world, opened once per process
 * from configuration: the relational database, the event bus, the ID
 * generator and the token service. In the embedded mode the gateway opens one
 * runtime and mounts every subgraph on it.
 */
import { openDatabase, type Database } from '@chat/prisma';
import { TokenService } from './auth.ts';
import { parseEnv, ZRuntimeEnvSchema, type RuntimeConfig } from './env.ts';
import { createEventBus, type PubSubEngine } from './pubsub.ts';
import { Snowflake } from './snowflake.ts';
import { acquireDataDirLock } from './data-dir-lock.ts';

export interface Runtime {
  config: RuntimeConfig;
  db: Database;
  pubsub: PubSubEngine;
  ids: Snowflake;
  tokens: TokenService;
  /** Human-readable description of the storage and transport in use. */
  describe(): string;
  close(): Promise<void>;
}

export async function createRuntime(config: RuntimeConfig): Promise<Runtime> {
  const { env } = config;
  const releaseLock = env.DATABASE_URL ? undefined : acquireDataDirLock(config.dataDir);
  try {
    const db = await openDatabase(
      env.DATABASE_URL ? { kind: 'postgres', url: env.DATABASE_URL } : { kind: 'embedded', dataDir: `${config.dataDir}/pglite` },
    );
    const bus = createEventBus(env.REDIS_URL);
    return {
      config,
      db,
      pubsub: bus.pubsub,
      ids: new Snowflake({ worker: db.workerId }),
      tokens: new TokenService({ secret: config.jwtSecret, accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS }),
      describe: () =>
        [
          env.DATABASE_URL ? `postgres ${redact(env.DATABASE_URL)}` : `embedded PGlite in ${config.dataDir}/pglite`,
          env.REDIS_URL ? `redis pub/sub ${redact(env.REDIS_URL)}` : 'in-process pub/sub',
        ].join(', '),
      close: async () => {
        await bus.close();
        await db.close();
        releaseLock?.();
      },
    };
  } catch (error) {
    releaseLock?.();
    throw error;
  }
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/**
 * A runtime on a throw-away in-memory database and in-process pub/sub, for
 * in-process tests (`*.test.ts` beside the code).
 */
export async function createMemoryRuntime(): Promise<Runtime> {
  const db = await openDatabase({ kind: 'embedded', dataDir: 'memory://' });
  const bus = createEventBus();
  const jwtSecret = new TextEncoder().encode('in-memory-test-secret-0123456789abcdef');
  return {
    config: { env: { ...parseEnv(ZRuntimeEnvSchema, {}), NODE_ENV: 'test' }, dataDir: 'memory://', jwtSecret },
    db,
    pubsub: bus.pubsub,
    ids: new Snowflake({ worker: 0 }),
    tokens: new TokenService({ secret: jwtSecret }),
    describe: () => 'in-memory PGlite, in-process pub/sub',
    close: async () => {
      await bus.close();
      await db.close();
    },
  };
}
