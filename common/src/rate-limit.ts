/**
 * Fixed-window rate limits shared by every process: in-process in the
 * embedded mode, Redis in the distributed mode (INCR with the window as its
 * expiry, atomic on the server). When Redis is away the limiter lets
 * requests through rather than failing them: a limit protects the service,
 * and is not worth an outage of its own.
 */
import type { Redis } from 'ioredis';
import { log } from './log.ts';
import { createRedisClient } from './redis.ts';

export interface RateDecision {
  allowed: boolean;
  /** When the window ends: how long to wait before asking again. */
  retryAfterMs: number;
}

export interface RateLimiter {
  /** Counts one use of `key`; allowed while the window holds at most `limit` uses. */
  hit(key: string, limit: number, windowMs: number): Promise<RateDecision>;
  close(): Promise<void>;
}

export function createRateLimiter(redisUrl?: string): RateLimiter {
  return redisUrl ? new RedisRateLimiter(redisUrl) : new MemoryRateLimiter();
}

export class MemoryRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, { count: number; endsAt: number }>();

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    const now = Date.now();
    let window = this.#windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + windowMs };
      this.#windows.set(key, window);
      if (this.#windows.size > 100_000)
        for (const [old, { endsAt }] of this.#windows) if (endsAt <= now) this.#windows.delete(old);
    }
    window.count += 1;
    return { allowed: window.count <= limit, retryAfterMs: window.endsAt - now };
  }

  async close(): Promise<void> {}
}

const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { count, redis.call('PTTL', KEYS[1]) }`;

export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;

  constructor(url: string) {
    this.#redis = createRedisClient(url, { purpose: 'rate limits', maxRetriesPerRequest: 1, lazyConnect: false });
    this.#redis.on('error', () => {});
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateDecision> {
    try {
      const [count, ttl] = (await this.#redis.eval(HIT_SCRIPT, 1, `rate:${key}`, windowMs)) as [number, number];
      return { allowed: count <= limit, retryAfterMs: ttl > 0 ? ttl : windowMs };
    } catch (error) {
      log.warn('rate limits unavailable; letting the request through', { error: String(error) });
      return { allowed: true, retryAfterMs: 0 };
    }
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
