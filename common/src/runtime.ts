/**
 * What every subgraph needs from the outside world, opened once per process
 * from configuration: the relational database, the event bus, the ID
 * generator and the token service. In the embedded mode the gateway opens one
 * runtime and mounts every subgraph on it.
 */
import {
  DatabaseConnectionError,
  migratedTemplate,
  openDatabase,
  WorkerIdInUseError,
  type Database,
} from '@chat/prisma';
import { log } from './log.ts';
import { tokenRefused, TokenService, type Viewer } from './auth.ts';
import { InternalIdentity } from './identity.ts';
import { ConfigError } from './env.ts';
import { generateSecrets, type RuntimeConfig } from './config/index.ts';
import { createEntityCache, MemoryEntityCache, type EntityCache } from './cache.ts';
import { createEventBus, type PubSubEngine } from './pubsub.ts';
import { createRateLimiter, MemoryRateLimiter, type RateLimiter } from './rate-limit.ts';
import { Snowflake } from './snowflake.ts';
import { acquireDataDirLock } from './data-dir-lock.ts';
import { SESSION_CACHE } from './sessions.ts';

export interface Runtime {
  config: RuntimeConfig;
  db: Database;
  pubsub: PubSubEngine;
  /** Entity caches shared by every process (Redis) or kept in this one (embedded). */
  cache: EntityCache;
  /** Rate limits shared by every process (Redis) or kept in this one (embedded). */
  limits: RateLimiter;
  ids: Snowflake;
  /**
   * Access tokens: issued where the signing keys are (the users subgraph),
   * otherwise null; verifying them is the gateway's job.
   */
  tokens: TokenService | null;
  /** Verifies the identity the gateway forwards to a subgraph served on its own port. */
  identity: InternalIdentity;
  /**
   * The viewer the gateway vouches for, if their session is still going.
   * @throws UNAUTHENTICATED (reason SESSION_ENDED) once it was ended (logout, password change, reuse of a refresh token, account deletion).
   */
  checkSession(viewer: Viewer | null): Promise<Viewer | null>;
  /** Human-readable description of the storage and transport in use. */
  describe(): string;
  close(): Promise<void>;
}

/** Opens what `config` names (a process's composed config, of which it reads the runtime's models). */
export async function createRuntime(config: RuntimeConfig): Promise<Runtime> {
  const { database, redis, server } = config;
  const releaseLock = database ? undefined : acquireDataDirLock(server.dataDir);
  try {
    const db = await openDatabase(
      database
        ? { kind: 'postgres', url: database.url, workerId: database.workerId }
        : { kind: 'embedded', dataDir: `${server.dataDir}/pglite` },
    );
    const ids = await leaseSnowflake(db).catch(async (error: unknown) => {
      await db.close();
      throw error;
    });
    const bus = createEventBus(redis?.url);
    const cache = createEntityCache(redis?.url);
    const limits = createRateLimiter(redis?.url);
    const { secrets } = config;
    const tokens = secrets.jwtPrivateKeys
      ? await TokenService.create({
          signingKeys: secrets.jwtPrivateKeys,
          signingKeyId: secrets.jwtSigningKeyId,
          accessTokenTtlSeconds: config.tokens.accessTokenTtlSeconds,
        })
      : null;
    return {
      config,
      db,
      pubsub: bus.pubsub,
      cache,
      limits,
      ids: ids.generator,
      tokens,
      identity: new InternalIdentity(secrets.internalTokenSecret),
      checkSession: sessionGuard(db, cache),
      describe: () =>
        [
          database ? `postgres ${redact(database.url)}` : `embedded PGlite in ${server.dataDir}/pglite`,
          redis ? `redis pub/sub ${redact(redis.url)}` : 'in-process pub/sub',
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
    if (error instanceof WorkerIdInUseError)
      throw new ConfigError(`Invalid configuration:\n  WORKER_ID: ${error.message}`);
    if (error instanceof DatabaseConnectionError && error.rejectedCredentials)
      throw new ConfigError(`Invalid configuration:\n  DATABASE_URL: ${error.message}`);
    throw error;
  }
}

/**
 * Refuses viewers whose session has ended. Read through the entity cache, so
 * an operation costs one cache read, and an ended session is refused in
 * every process as soon as it is invalidated. The cached value is the user
 * the session belongs to while it goes on, '' once it ended or for an
 * unknown session (a session never restarts, so '' is final).
 */
function sessionGuard(db: Database, cache: EntityCache): Runtime['checkSession'] {
  return async (viewer) => {
    if (!viewer) return null;
    const sessionId = viewer.sessionId;
    const { hits, generations } = await cache.read<string>(SESSION_CACHE, [sessionId]);
    let owner = hits.get(sessionId);
    if (owner === undefined) {
      const row = /^\d{1,20}$/.test(sessionId)
        ? await db.prisma.authSession.findUnique({
            where: { id: BigInt(sessionId) },
            select: { userId: true, endedAt: true, expiresAt: true },
          })
        : null;
      owner = row && !row.endedAt && row.expiresAt.getTime() > Date.now() ? row.userId.toString() : '';
      await cache.fill(SESSION_CACHE, [{ id: sessionId, value: owner, generation: generations.get(sessionId) }]);
    }
    if (owner !== viewer.id) throw tokenRefused('The session has ended; log in again.', 'SESSION_ENDED');
    return viewer;
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
 * in-process tests (`*.test.ts` beside the code). The database starts as a
 * copy of a migrated template made once for all test files (`migratedTemplate`).
 */
export async function createMemoryRuntime(): Promise<Runtime> {
  const db = await openDatabase({ kind: 'embedded', dataDir: 'memory://', loadDataDir: await migratedTemplate() });
  const bus = createEventBus();
  const generated = generateSecrets();
  const secrets = {
    jwtPrivateKeys: JSON.parse(generated.JWT_PRIVATE_KEYS),
    internalTokenSecret: new TextEncoder().encode(generated.INTERNAL_TOKEN_SECRET),
    passwordPepper: new TextEncoder().encode(generated.PASSWORD_PEPPER),
  };
  const cache = new MemoryEntityCache();
  const tokens = await TokenService.create({ signingKeys: secrets.jwtPrivateKeys });
  return {
    config: {
      server: { nodeEnv: 'test', production: false, host: '127.0.0.1', port: 4000, dataDir: 'memory://' },
      database: null,
      redis: null,
      secrets,
      tokens: { accessTokenTtlSeconds: 900 },
      logging: { silent: process.env.LOG_LEVEL === 'silent', debug: Boolean(process.env.DEBUG) },
    },
    db,
    pubsub: bus.pubsub,
    cache,
    limits: new MemoryRateLimiter(),
    ids: new Snowflake({ worker: 0 }),
    tokens,
    identity: new InternalIdentity(secrets.internalTokenSecret),
    checkSession: sessionGuard(db, cache),
    describe: () => 'in-memory PGlite, in-process pub/sub',
    close: async () => {
      await bus.close();
      await db.close();
    },
  };
}
