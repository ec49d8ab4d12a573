/**
 * What every subgraph needs from the outside world, opened once per process
 * from configuration: the relational database, the event bus, the ID
 * generator and the token service. In the embedded mode the gateway opens one
 * runtime and mounts every subgraph on it.
 */
import { openDatabase, WorkerIdInUseError, type Database } from '@chat/prisma';
import { log } from './log.ts';
import { TokenService, type RevocationCheck } from './auth.ts';
import { ConfigError, parseEnv, ZRuntimeEnvSchema, type RuntimeConfig } from './env.ts';
import { createEntityCache, MemoryEntityCache, type EntityCache } from './cache.ts';
import { createEventBus, type PubSubEngine } from './pubsub.ts';
import { createRateLimiter, MemoryRateLimiter, type RateLimiter } from './rate-limit.ts';
import { Snowflake } from './snowflake.ts';
import { acquireDataDirLock } from './data-dir-lock.ts';

export interface Runtime {
  config: RuntimeConfig;
  db: Database;
  pubsub: PubSubEngine;
  /** Entity caches shared by every process (Redis) or kept in this one (embedded). */
  cache: EntityCache;
  /** Rate limits shared by every process (Redis) or kept in this one (embedded). */
  limits: RateLimiter;
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
      env.DATABASE_URL
        ? { kind: 'postgres', url: env.DATABASE_URL, workerId: env.WORKER_ID }
        : { kind: 'embedded', dataDir: `${config.dataDir}/pglite` },
    );
    const ids = await leaseSnowflake(db).catch(async (error: unknown) => {
      await db.close();
      throw error;
    });
    const bus = createEventBus(env.REDIS_URL);
    const cache = createEntityCache(env.REDIS_URL);
    const limits = createRateLimiter(env.REDIS_URL);
    const tokens = new TokenService({ secret: config.jwtSecret, accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS });
    tokens.useRevocationCheck(sessionCutOffs(db, cache));
    return {
      config,
      db,
      pubsub: bus.pubsub,
      cache,
      limits,
      ids: ids.generator,
      tokens,
      describe: () =>
        [
          env.DATABASE_URL ? `postgres ${redact(env.DATABASE_URL)}` : `embedded PGlite in ${config.dataDir}/pglite`,
          env.REDIS_URL ? `redis pub/sub ${redact(env.REDIS_URL)}` : 'in-process pub/sub',
        ].join(', '),
      close: async () => {
        await ids.stop();
        await cache.close();
        await limits.close();
        await bus.close();
        await db.close();
        releaseLock?.();
      },
    };
  } catch (error) {
    releaseLock?.();
    if (error instanceof WorkerIdInUseError) throw new ConfigError(`Invalid configuration:\n  WORKER_ID: ${error.message}`);
    throw error;
  }
}

/** The cache namespace of users' session cut-offs; invalidate it after changing `users.sessions_valid_after`. */
export const SESSION_CACHE = 'session';

/**
 * Tokens issued before the user's session cut-off (`users.sessions_valid_after`,
 * set when the account is deleted) are refused. Read through the entity
 * cache, so a request costs one cache read, and a cut-off applies in every
 * process as soon as it is invalidated. A user who does not exist is refused.
 */
function sessionCutOffs(db: Database, cache: EntityCache): RevocationCheck {
  return async (userId, issuedAtSeconds) => {
    const { hits, generations } = await cache.read<number>(SESSION_CACHE, [userId]);
    let validAfterMs = hits.get(userId);
    if (validAfterMs === undefined) {
      const row = /^\d{1,20}$/.test(userId)
        ? await db.prisma.user.findUnique({ where: { id: BigInt(userId) }, select: { sessionsValidAfter: true } })
        : null;
      validAfterMs = row ? (row.sessionsValidAfter?.getTime() ?? 0) : Number.MAX_SAFE_INTEGER;
      await cache.fill(SESSION_CACHE, [{ id: userId, value: validAfterMs, generation: generations.get(userId) }]);
    }
    return issuedAtSeconds * 1000 < validAfterMs;
  };
}

/** How often the last issued millisecond of this process's worker is recorded. */
const LEASE_INTERVAL_MS = 1_000;

/**
 * A Snowflake generator for the worker number the database gave this
 * process, starting after the last millisecond recorded for that number (plus
 * one recording interval, which covers what a crashed holder issued after its
 * last record), and recording its own progress every second and at close.
 */
async function leaseSnowflake(db: Database): Promise<{ generator: Snowflake; stop(): Promise<void> }> {
  const workerId = db.workerId;
  const row = await db.prisma.snowflakeWorker.findUnique({ where: { workerId } });
  const notBefore = row ? Number(row.lastMs) + LEASE_INTERVAL_MS + 1 : 0;
  const generator = new Snowflake({ worker: workerId, notBefore });
  const record = () =>
    db.prisma.snowflakeWorker.upsert({
      where: { workerId },
      create: { workerId, lastMs: BigInt(generator.lastIssuedMs) },
      update: { lastMs: BigInt(generator.lastIssuedMs) },
    });
  await record();
  let pending: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    pending = record().catch((error: unknown) => log.warn('could not record the Snowflake worker lease', { error }));
  }, LEASE_INTERVAL_MS);
  timer.unref();
  return {
    generator,
    stop: async () => {
      clearInterval(timer);
      await pending;
      await record();
    },
  };
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
  const cache = new MemoryEntityCache();
  const tokens = new TokenService({ secret: jwtSecret });
  tokens.useRevocationCheck(sessionCutOffs(db, cache));
  return {
    config: { env: { ...parseEnv(ZRuntimeEnvSchema, {}), NODE_ENV: 'test' }, dataDir: 'memory://', jwtSecret },
    db,
    pubsub: bus.pubsub,
    cache,
    limits: new MemoryRateLimiter(),
    ids: new Snowflake({ worker: 0 }),
    tokens,
    describe: () => 'in-memory PGlite, in-process pub/sub',
    close: async () => {
      await bus.close();
      await db.close();
    },
  };
}
