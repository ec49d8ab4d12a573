/**
 * The event transport behind subscriptions: in-process by default, Redis when
 * configured, so that every process of a deployment sees every event.
 * Payloads must be JSON-safe (strings, not BigInt or Date), because the Redis
 * transport serializes them and both transports must behave the same.
 */
import { PubSub, type PubSubEngine } from 'graphql-subscriptions';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';

export type { PubSubEngine };

export interface EventBus {
  pubsub: PubSubEngine;
  close(): Promise<void>;
}

export function createEventBus(redisUrl?: string): EventBus {
  if (!redisUrl) {
    const pubsub = new PubSub();
    return { pubsub, close: async () => {} };
  }
  const options = { maxRetriesPerRequest: null, lazyConnect: false };
  const publisher = new Redis(redisUrl, options);
  const subscriber = new Redis(redisUrl, options);
  const pubsub = new RedisPubSub({ publisher, subscriber });
  return {
    pubsub,
    close: async () => {
      await pubsub.close();
    },
  };
}

/** Topic names, one place, so publishers and subscribers cannot drift. */
export const Topics = {
  /** Everything that concerns one user's chats (their messages, across all chats). */
  userMessages: (userId: string) => `chat.user.${userId}.messages`,
  presence: (userId: string) => `chat.presence.${userId}`,
  /**
   * A chat's membership changed (payload: `{ chatId }`): whoever caches
   * member lists drops that chat's. Published by every membership change.
   */
  membersChanged: 'chat.members.changed',
} as const;
