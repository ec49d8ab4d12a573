/**
 * Ending a session, as every process learns of it. Subgraphs check a
 * viewer's session on every operation through the entity cache; gateways
 * hold live streams (graphql-ws sockets, server-sent-event subscriptions)
 * that no operation touches again. So an ended session is announced twice:
 * its cache entry is invalidated (the next operation is refused) and an
 * event goes out on the bus (every gateway ends the session's streams).
 */
import type { EntityCache } from './cache.ts';
import { Topics, type PubSubEngine } from './pubsub.ts';

/** The cache namespace of sessions: invalidate a session's ID after ending it. */
export const SESSION_CACHE = 'session';

/** The payload of {@link Topics.sessionsEnded}. */
export interface SessionsEndedEvent {
  sessionIds: string[];
}

/**
 * Makes every process refuse the access tokens of sessions that just ended,
 * and every gateway end their live streams. Call it after the sessions are
 * ended in the database.
 */
export async function announceEndedSessions(
  { cache, pubsub }: { cache: EntityCache; pubsub: PubSubEngine },
  sessionIds: readonly string[],
): Promise<void> {
  if (sessionIds.length === 0) return;
  await cache.invalidate(SESSION_CACHE, sessionIds);
  await pubsub.publish(Topics.sessionsEnded, { sessionIds: [...sessionIds] } satisfies SessionsEndedEvent);
}
