/**
 * Subscriptions over HTTP (server-sent events, which Yoga serves on the same
 * path as graphql-ws) are held to the graphql-ws limits, so they are no way
 * around them: each open stream counts as a connection of its user and its
 * client address (the same counts, across instances), and opening one counts
 * against the subscribe rate, per caller (the viewer, else the address)
 * rather than per connection. Refusals are RATE_LIMITED, over HTTP with 429.
 * graphql-ws operations are left to the `useServer` hooks (ws-limits.ts).
 */
import type { RateLimiter } from '@chat/common';
import type { ExecutionArgs } from 'graphql';
import { refuse } from '../errors.ts';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../subgraph-hosts.ts';
import { addressBucket } from './client-address.ts';
import type { SecurityLimits } from './config.ts';
import type { ConnectionCounter } from './connection-counter.ts';
import { connectionSlots } from './ws-limits.ts';

type StreamContext = Pick<GatewayContext, 'viewer' | 'clientIp'> & { request?: unknown };

const refused = (reason: 'SUBSCRIBE_RATE' | 'TOO_MANY_CONNECTIONS', message: string, retryAfterSeconds?: number) =>
  refuse(reason, message, {
    ...(retryAfterSeconds ? { retryAfterSeconds } : {}),
    http: { status: 429, ...(retryAfterSeconds ? { headers: { 'Retry-After': String(retryAfterSeconds) } } : {}) },
  });

export function useEventStreamLimits(
  limits: SecurityLimits['ws'],
  { counter, limiter, keyPrefix }: { counter: ConnectionCounter; limiter: RateLimiter | undefined; keyPrefix: string },
): Plugin<StreamContext> {
  return {
    async onSubscribe({ args, subscribeFn, setSubscribeFn, setResultAndStopExecution }) {
      const context = args.contextValue;
      if (!context.request) return; // graphql-ws: limited by its connection
      const userId = context.viewer?.id;
      const rate = limits.subscribeRate;
      if (rate && limiter) {
        const caller = userId ? `user:${userId}` : `ip:${addressBucket(context.clientIp)}`;
        const { allowed, retryAfterMs } = await limiter.hit(`${keyPrefix}:sse:${caller}`, rate.max, rate.windowMs);
        if (!allowed) {
          const seconds = Math.max(1, Math.ceil(retryAfterMs / 1_000));
          setResultAndStopExecution({
            errors: [refused('SUBSCRIBE_RATE', `Too many subscriptions opened; retry in ${seconds} s.`, seconds)],
          });
          return;
        }
      }
      const slots = connectionSlots(limits, { userId, clientIp: context.clientIp });
      if (slots.length === 0) return;
      const id = counter.newConnectionId();
      const full = await counter.acquire(id, slots);
      if (full >= 0) {
        setResultAndStopExecution({ errors: [refused('TOO_MANY_CONNECTIONS', slots[full]!.refusal)] });
        return;
      }
      return holdSlot({ subscribeFn, setSubscribeFn }, () => void counter.release(id));
    },
  };
}

type SubscribeFn = (args: ExecutionArgs) => unknown;

/**
 * Holds a slot exactly as long as the stream the subscription opens, however
 * it ends: `release` runs once, when the stream ends, when it fails to start,
 * or when a later plugin refuses the subscription so that it never starts
 * (envelop then skips the subscribe function, but still calls the
 * `onSubscribeResult` returned here). Return its result from `onSubscribe`.
 */
export function holdSlot(
  { subscribeFn, setSubscribeFn }: { subscribeFn: SubscribeFn; setSubscribeFn: (fn: SubscribeFn) => void },
  release: () => void,
): { onSubscribeResult(): void } {
  let released = false;
  let started = false;
  const once = () => {
    if (released) return;
    released = true;
    release();
  };
  setSubscribeFn(async (args: ExecutionArgs) => {
    started = true;
    let result;
    try {
      result = await subscribeFn(args);
    } catch (error) {
      once();
      throw error;
    }
    if (!isAsyncIterable(result)) {
      once();
      return result;
    }
    return releasing(result, once);
  });
  return {
    onSubscribeResult: () => {
      if (!started) once();
    },
  };
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';

/** Passes `source` through, calling `release` once it ends: done, failed, or returned early. */
function releasing<T>(source: AsyncIterable<T>, release: () => void): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const wrapped: AsyncIterableIterator<T> = {
    next: async () => {
      try {
        const step = await iterator.next();
        if (step.done) release();
        return step;
      } catch (error) {
        release();
        throw error;
      }
    },
    return: async (value?: unknown) => {
      release();
      return (await iterator.return?.(value)) ?? { done: true, value: undefined };
    },
    throw: async (error?: unknown) => {
      release();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]: () => wrapped,
  };
  return wrapped;
}
