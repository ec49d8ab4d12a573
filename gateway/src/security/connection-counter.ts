/**
 * Counts open connections per user and per client address, in this process
 * or, with Redis, across every gateway instance.
 *
 * In Redis each counted subject is a sorted set of the connections that hold
 * a slot in it (`<prefix>:ws:conn:user:<id>`, `<prefix>:ws:conn:ip:<address>`),
 * each scored with the time its lease runs out (Redis's clock, so instances'
 * clocks do not matter). A gateway renews the leases of its open connections
 * every third of the lease and removes them when they close. A gateway that
 * dies without closing them stops renewing: its connections stop counting
 * when their leases run out (`WS_CONNECTION_LEASE_SECONDS`, 60 s), and the
 * whole set expires once no instance renews anything in it. Taking a slot
 * first drops expired leases, then checks every subject's limit and takes a
 * slot in each, all in one script: two instances cannot both take the last
 * slot, and a refused connection holds nothing.
 *
 * Redis unavailable: connections are admitted (and logged), like the rate
 * limits: a limit protects the service and is not worth an outage of its own.
 */
import { randomBytes } from 'node:crypto';
import { createRedisClient, log } from '@chat/common';
type Redis = ReturnType<typeof createRedisClient>;

export interface Slot {
  /** The counted subject, e.g. `user:42` or `ip:203.0.113.7`. */
  subject: string;
  max: number;
}

export interface ConnectionCounter {
  /**
   * Takes a slot in every subject for `connection`, or in none; slots it
   * holds already (taken by an earlier call) are kept either way.
   * @returns the index of the first subject that is full, or -1 when the slots were taken
   */
  acquire(connection: string, slots: readonly Slot[]): Promise<number>;
  /** Frees the connection's slots (a no-op for slots it does not hold). */
  release(connection: string): Promise<void>;
  /** A name for a new connection, unique across instances. */
  newConnectionId(): string;
  /** Frees every slot this process holds, and stops. */
  close(): Promise<void>;
}

abstract class BaseCounter {
  readonly #instance = randomBytes(6).toString('hex');
  #sequence = 0;

  newConnectionId(): string {
    this.#sequence += 1;
    return `${this.#instance}:${this.#sequence}`;
  }
}

export class MemoryConnectionCounter extends BaseCounter implements ConnectionCounter {
  readonly #subjects = new Map<string, Set<string>>();
  readonly #held = new Map<string, string[]>();

  async acquire(connection: string, slots: readonly Slot[]): Promise<number> {
    const full = slots.findIndex(({ subject, max }) => (this.#subjects.get(subject)?.size ?? 0) >= max);
    if (full >= 0) return full;
    for (const { subject } of slots) {
      let members = this.#subjects.get(subject);
      if (!members) this.#subjects.set(subject, (members = new Set()));
      members.add(connection);
    }
    this.#held.set(connection, [...(this.#held.get(connection) ?? []), ...slots.map(({ subject }) => subject)]);
    return -1;
  }

  async release(connection: string): Promise<void> {
    for (const subject of this.#held.get(connection) ?? []) {
      const members = this.#subjects.get(subject);
      members?.delete(connection);
      if (members?.size === 0) this.#subjects.delete(subject);
    }
    this.#held.delete(connection);
  }

  async close(): Promise<void> {
    this.#subjects.clear();
    this.#held.clear();
  }
}

const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: the subjects' sets. ARGV: connection, lease ms, then each subject's limit. Returns the 1-based full subject, or 0. */
const ACQUIRE = `${NOW_MS}
local lease = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[1])
  redis.call('PEXPIRE', key, lease)
end
return 0`;

/** KEYS: sets; ARGV: lease ms, then the connection held in each set. Renews leases that still exist. */
const RENEW = `${NOW_MS}
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if redis.call('ZADD', key, 'XX', 'CH', now + lease, ARGV[1 + i]) == 1 then redis.call('PEXPIRE', key, lease) end
end
return 0`;

export class RedisConnectionCounter extends BaseCounter implements ConnectionCounter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #leaseMs: number;
  readonly #held = new Map<string, string[]>();
  readonly #timer: NodeJS.Timeout;

  constructor(url: string, { keyPrefix, leaseMs }: { keyPrefix: string; leaseMs: number }) {
    super();
    this.#redis = createRedisClient(url, {
      purpose: 'connection limits',
      maxRetriesPerRequest: 1,
      connectionName: 'gateway-connection-limits',
    });
    this.#redis.on('error', () => {});
    this.#prefix = `${keyPrefix}:ws:conn:`;
    this.#leaseMs = leaseMs;
    this.#timer = setInterval(() => void this.#renew(), Math.max(500, Math.floor(leaseMs / 3)));
    this.#timer.unref();
  }

  async acquire(connection: string, slots: readonly Slot[]): Promise<number> {
    const keys = slots.map(({ subject }) => this.#prefix + subject);
    const before = this.#held.get(connection) ?? [];
    this.#held.set(connection, [...before, ...keys]); // before the script: a renewal must not miss it, a release must find it
    try {
      const full = Number(
        await this.#redis.eval(
          ACQUIRE,
          keys.length,
          ...keys,
          connection,
          this.#leaseMs,
          ...slots.map(({ max }) => max),
        ),
      );
      if (full > 0) {
        if (before.length > 0) this.#held.set(connection, before);
        else this.#held.delete(connection);
      }
      return full - 1;
    } catch (error) {
      log.warn('connection limits unavailable; admitting the connection', { error: String(error) });
      return -1;
    }
  }

  async release(connection: string): Promise<void> {
    const keys = this.#held.get(connection);
    if (!keys) return;
    this.#held.delete(connection);
    try {
      const pipeline = this.#redis.pipeline();
      for (const key of keys) pipeline.zrem(key, connection);
      await pipeline.exec();
    } catch (error) {
      log.warn('could not free a connection slot; it frees itself when its lease runs out', { error: String(error) });
    }
  }

  async #renew(): Promise<void> {
    const pairs = [...this.#held].flatMap(([connection, keys]) => keys.map((key) => [key, connection] as const));
    for (let start = 0; start < pairs.length; start += 500) {
      const batch = pairs.slice(start, start + 500);
      try {
        await this.#redis.eval(
          RENEW,
          batch.length,
          ...batch.map(([key]) => key),
          this.#leaseMs,
          ...batch.map(([, connection]) => connection),
        );
      } catch (error) {
        log.warn('could not renew connection leases', { error: String(error) });
        return;
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#held.keys()].map((connection) => this.release(connection)));
    this.#redis.disconnect();
  }
}

export function createConnectionCounter(
  redisUrl: string | undefined,
  options: { keyPrefix: string; leaseMs: number },
): ConnectionCounter {
  return redisUrl ? new RedisConnectionCounter(redisUrl, options) : new MemoryConnectionCounter();
}
