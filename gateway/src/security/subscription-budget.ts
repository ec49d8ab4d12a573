/**
 * A per-user budget of live subscriptions, across every connection and
 * transport (graphql-ws operations and server-sent-event streams) and, with
 * Redis, every gateway instance: one account cannot hold the gateway busy
 * with copies of heavy subscriptions. Each open subscription holds a slot in
 * the user's count (`<prefix>:ws:conn:subs:user:<id>`, leased and renewed
 * like connection slots, connection-counter.ts) until it ends, however it
 * ends. Past the budget, subscribing is refused with RATE_LIMITED (reason
 * SUBSCRIPTION_BUDGET, the `limit`, and `retryAfterSeconds`); over HTTP with 429.
 */
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../subgraph-hosts.ts';
import { refuse } from '../errors.ts';
import type { ConnectionCounter } from './connection-counter.ts';
import { holdSlot } from './event-stream-limits.ts';

/**
 * What a refusal tells the client to wait. A slot frees when one of the
 * user's subscriptions ends, which no one can predict; this is a polite
 * pace for a client that retries without closing any.
 */
export const BUDGET_RETRY_AFTER_SECONDS = 30;

export function useSubscriptionBudget({
  counter,
  max,
}: {
  counter: ConnectionCounter;
  max: number;
}): Plugin<Pick<GatewayContext, 'viewer' | 'transport'>> {
  return {
    async onSubscribe({ args, subscribeFn, setSubscribeFn, setResultAndStopExecution }) {
      const userId = args.contextValue.viewer?.id;
      if (!userId) return; // refused later anyway: every subscription needs a viewer
      const id = counter.newConnectionId();
      if ((await counter.acquire(id, [{ subject: `subs:user:${userId}`, max }])) >= 0) {
        setResultAndStopExecution({ errors: [budgetExceeded(max, args.contextValue.transport)] });
        return;
      }
      return holdSlot({ subscribeFn, setSubscribeFn }, () => void counter.release(id));
    },
  };
}

function budgetExceeded(max: number, transport: GatewayContext['transport']): GraphQLError {
  return refuse(
    'SUBSCRIPTION_BUDGET',
    `At most ${max} subscriptions may be open at once per user, over all connections; end one first.`,
    {
      limit: max,
      retryAfterSeconds: BUDGET_RETRY_AFTER_SECONDS,
      // Yoga turns this into the HTTP status and removes it; a graphql-ws client would see it as is.
      ...(transport === 'http'
        ? { http: { status: 429, headers: { 'Retry-After': String(BUDGET_RETRY_AFTER_SECONDS) } } }
        : {}),
    },
  );
}
