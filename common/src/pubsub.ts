/**
 * The event transport behind subscriptions: in-process by default, Redis when
 * configured, so that every process of a deployment sees every event.
 * Payloads must be JSON-safe (strings, not BigInt or Date), because the Redis
 * transport serializes them and both transports must behave the same.
 */
import { PubSub, withFilter, type PubSubEngine } from 'graphql-subscriptions';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { log } from './log.ts';
import { createRedisClient } from './redis.ts';

export type { PubSubEngine };
export { withFilter };

export interface EventBus {
  pubsub: PubSubEngine;
  close(): Promise<void>;
}

export function createEventBus(redisUrl?: string): EventBus {
  if (!redisUrl) {
    const pubsub = new PubSub();
    return { pubsub, close: async () => {} };
  }
  const options = { purpose: 'pub/sub', maxRetriesPerRequest: null, lazyConnect: false };
  const publisher = createRedisClient(redisUrl, options);
  const subscriber = createRedisClient(redisUrl, options);
  // Reconnects by itself; events published meanwhile wait for it.
  for (const client of [publisher, subscriber])
    client.on('error', (error: Error) => log.warn('redis pub/sub unavailable', { error: error.message }));
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
  /**
   * Everything that happens in one user's chats, for every device of theirs:
   * a `ChatEventRecord` (common/src/events.ts) per event, across all chats.
   */
  userEvents: (userId: string) => `chat.user.${userId}.events`,
  presence: (userId: string) => `chat.presence.${userId}`,
  /** Changes to one user's connections, as that user sees them (a `Contact`-shaped event). */
  userConnections: (userId: string) => `chat.user.${userId}.connections`,
  /** Status changes of one user's uploads (payload: `{ mediaId }`). */
  userMedia: (userId: string) => `chat.user.${userId}.media`,
  /**
   * A chat's membership changed (payload: `{ chatId }`): whoever caches
   * member lists drops that chat's. Published by every membership change.
   */
  membersChanged: 'chat.members.changed',
  /**
   * A SYSTEM message was written to the outbox (message_keys, produced_at
   * null) and waits to be appended to the message log: the relay of the
   * messages subgraph appends it at once instead of at its next poll.
   */
  outbox: 'chat.outbox',
  /**
   * Sessions ended (payload: `SessionsEndedEvent`, common/src/sessions.ts):
   * every gateway ends their live streams. Published with the cache
   * invalidation by `announceEndedSessions`, never alone.
   */
  sessionsEnded: 'chat.sessions.ended',
} as const;
