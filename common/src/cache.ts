/**
 * A read-through cache for entities (public profiles, connection lists)
 * that never serves a value older than the last completed write.
 *
 * Each entity has a *generation*, bumped by `invalidate` after every write
 * commits. A cached value remembers the generation it was read under, and is
 * served only while that generation is still current. A reader fills the
 * cache with the generation it saw *before* reading the database, and the
 * fill is refused if the generation moved meanwhile: a reader that raced a
 * write can neither serve nor store what it read before the write.
 *
 * In-process in the embedded mode; Redis in the distributed mode, so that
 * every process sees every invalidation (the generation check and the fill
 * are one Lua script, atomic on the server).
 *
 * Redis being away (a restart, a network blip) must not take requests down
 * with it: reads give up after READ_TIMEOUT_MS and count as misses (the
 * database answers), fills are skipped. Invalidations are the exception:
 * they wait for Redis to come back, since serving a stale value would be a
 * wrong answer, not a slow one.
 */
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { log } from './log.ts';
import { createRedisClient } from './redis.ts';

export interface CacheRead<T> {
  /** Current values, by ID. */
  hits: Map<string, T>;
  /** The generation of every ID, to pass to `fill` for those read from the database. */
  generations: Map<string, string>;
}

export interface EntityCache {
  read<T>(namespace: string, ids: readonly string[]): Promise<CacheRead<T>>;
  /**
   * Stores values read from the database, each only if its generation is
   * unchanged since `read` (undefined: `read` could not tell, store nothing).
   */
  fill<T>(
    namespace: string,
    entries: readonly { id: string; value: T; generation: string | undefined }[],
  ): Promise<void>;
  /** Makes every cached value of these IDs stale: call after the write commits. */
  invalidate(namespace: string, ids: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** A cache read slower than this is a miss. */
const READ_TIMEOUT_MS = 250;
/** How long a value stays cached without being read again. */
const VALUE_TTL_MS = 10 * 60_000;
/** Generations outlive every value they may guard. */
const GENERATION_TTL_MS = 24 * 3_600_000;

export function createEntityCache(redisUrl?: string): EntityCache {
  return redisUrl ? new RedisEntityCache(redisUrl) : new MemoryEntityCache();
}

interface Stored {
  g: string;
  v: unknown;
}

export class MemoryEntityCache implements EntityCache {
  readonly #generations = new Map<string, number>();
  /** Least recently used values go first past `maxEntries`; each lives VALUE_TTL_MS from its fill. */
  readonly #values: LRUCache<string, Stored>;

  constructor({ maxEntries = 50_000 }: { maxEntries?: number } = {}) {
    this.#values = new LRUCache({ max: maxEntries, ttl: VALUE_TTL_MS });
  }

  async read<T>(namespace: string, ids: readonly string[]): Promise<CacheRead<T>> {
    const hits = new Map<string, T>();
    const generations = new Map<string, string>();
    for (const id of ids) {
      const key = `${namespace}:${id}`;
      const generation = String(this.#generations.get(key) ?? 0);
      generations.set(id, generation);
      const stored = this.#values.get(key);
      if (stored && stored.g === generation) hits.set(id, stored.v as T);
    }
    return { hits, generations };
  }

  async fill<T>(
    namespace: string,
    entries: readonly { id: string; value: T; generation: string | undefined }[],
  ): Promise<void> {
    for (const { id, value, generation } of entries) {
      const key = `${namespace}:${id}`;
      if (String(this.#generations.get(key) ?? 0) !== generation) continue;
      this.#values.set(key, { g: generation, v: value });
    }
  }

  async invalidate(namespace: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const key = `${namespace}:${id}`;
      this.#generations.set(key, (this.#generations.get(key) ?? 0) + 1);
      this.#values.delete(key);
    }
  }

  async close(): Promise<void> {}
}

/** Sets each value whose generation key still holds the generation it was read under. */
const FILL_SCRIPT = `
for i = 1, #KEYS, 2 do
  local generation = redis.call('GET', KEYS[i]) or '0'
  local stored = cjson.decode(ARGV[(i + 1) / 2])
  if generation == stored.g then redis.call('SET', KEYS[i + 1], ARGV[(i + 1) / 2], 'PX', ${VALUE_TTL_MS}) end
end
return 0`;

export class RedisEntityCache implements EntityCache {
  readonly #redis: Redis;

  constructor(url: string) {
    // Commands wait for a reconnection (invalidations must land); reads bound the wait themselves.
    this.#redis = createRedisClient(url, { purpose: 'cache', maxRetriesPerRequest: null, lazyConnect: false });
    this.#redis.on('error', () => {}); // reconnects by itself; reads and fills degrade meanwhile
  }

  async read<T>(namespace: string, ids: readonly string[]): Promise<CacheRead<T>> {
    const hits = new Map<string, T>();
    const generations = new Map<string, string>();
    if (ids.length === 0) return { hits, generations };
    const keys = ids.flatMap((id) => [`cache:${namespace}:gen:${id}`, `cache:${namespace}:val:${id}`]);
    const values = await withTimeout(this.#redis.mget(keys), READ_TIMEOUT_MS);
    // Unavailable: a miss, with no generation, so that nothing read now is filled.
    if (!values) return { hits, generations };
    ids.forEach((id, index) => {
      const generation = values[2 * index] ?? '0';
      generations.set(id, generation);
      const raw = values[2 * index + 1];
      if (!raw) return;
      const stored = JSON.parse(raw) as Stored;
      if (stored.g === generation) hits.set(id, stored.v as T);
    });
    return { hits, generations };
  }

  async fill<T>(
    namespace: string,
    entries: readonly { id: string; value: T; generation: string | undefined }[],
  ): Promise<void> {
    const known = entries.filter(
      (entry): entry is { id: string; value: T; generation: string } => entry.generation !== undefined,
    );
    if (known.length === 0) return;
    const keys = known.flatMap(({ id }) => [`cache:${namespace}:gen:${id}`, `cache:${namespace}:val:${id}`]);
    const args = known.map(({ value, generation }) => JSON.stringify({ g: generation, v: value } satisfies Stored));
    // Best effort: a value not cached is read from the database next time.
    await withTimeout(this.#redis.eval(FILL_SCRIPT, keys.length, ...keys, ...args), READ_TIMEOUT_MS);
  }

  async invalidate(namespace: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const pipeline = this.#redis.pipeline();
    for (const id of ids) {
      const key = `cache:${namespace}:gen:${id}`;
      pipeline.incr(key);
      pipeline.pexpire(key, GENERATION_TTL_MS);
      pipeline.del(`cache:${namespace}:val:${id}`);
    }
    await pipeline.exec();
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}

/** The promise's value, or undefined when it takes longer than `ms` or fails (logged). */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([
      promise.catch((error: unknown) => void log.warn('cache unavailable', { error: String(error) })),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
