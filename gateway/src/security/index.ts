/**
 * The gateway's abuse limits, assembled from its environment: Yoga plugins
 * (document limits, introspection, rate limits) for HTTP and graphql-ws
 * alike, the graphql-ws connection limits, and the client address every
 * per-address limit counts. docs/SECURITY.md#rate-limits has the decisions.
 */
import type { IncomingMessage } from 'node:http';
import { createRateLimiter, type RateLimiter } from '@chat/common';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../subgraph-hosts.ts';
import { clientAddress } from './client-address.ts';
import type { SecurityLimits } from './config.ts';
import { createConnectionCounter, MemoryConnectionCounter } from './connection-counter.ts';
import { documentLimitPlugins } from './document-limits.ts';
import { useEventStreamLimits } from './event-stream-limits.ts';
import { useNoSuggestions } from './no-suggestions.ts';
import { rateLimitPlugins, useSubgraphRateLimitStatus } from './rate-limits.ts';
import { useSubscriptionBudget } from './subscription-budget.ts';
import { WebSocketLimits } from './ws-limits.ts';

export { CLOSE_TOO_MANY_CONNECTIONS, WebSocketLimits } from './ws-limits.ts';
export type { SecurityLimits } from './config.ts';

export interface GatewaySecurity {
  limits: SecurityLimits;
  /** For createYoga's `plugins`, after the federation plugin. */
  plugins: Plugin<GatewayContext>[];
  /** For graphql-ws's `useServer` hooks. */
  ws: WebSocketLimits;
  /** The client address of an HTTP request or WebSocket upgrade, as the limits count it. */
  clientAddress(request: Pick<IncomingMessage, 'headers' | 'socket'> | undefined): string;
  close(): Promise<void>;
}

/** @param redisUrl where the limits count, shared by every gateway instance; unset: in this process. */
export function createGatewaySecurity(limits: SecurityLimits, redisUrl: string | undefined): GatewaySecurity {
  const { rates, ws } = limits;
  // Only what is used opens a Redis connection.
  const limiter: RateLimiter | undefined =
    Object.values(rates).some(Boolean) || ws.subscribeRate ? createRateLimiter(redisUrl) : undefined;
  // Subscriptions over server-sent events count against the subscribe rate per caller, in the shared limiter.
  const subscribeLimiter = ws.subscribeRate ? limiter : undefined;
  const counter =
    ws.maxConnectionsPerUser || ws.maxConnectionsPerIp || ws.maxSubscriptionsPerUser
      ? createConnectionCounter(redisUrl, { keyPrefix: limits.keyPrefix, leaseMs: ws.leaseMs })
      : new MemoryConnectionCounter();
  const webSocketLimits = new WebSocketLimits(ws, counter);
  return {
    limits,
    plugins: [
      ...(documentLimitPlugins(limits.document, { introspection: !limits.production }) as Plugin<GatewayContext>[]),
      ...(limits.production ? [useNoSuggestions() as Plugin<GatewayContext>] : []),
      ...(limiter ? (rateLimitPlugins(rates, limiter, limits.keyPrefix) as Plugin<GatewayContext>[]) : []),
      useSubgraphRateLimitStatus() as Plugin<GatewayContext>,
      useEventStreamLimits(ws, {
        counter,
        limiter: subscribeLimiter,
        keyPrefix: limits.keyPrefix,
      }) as Plugin<GatewayContext>,
      ...(ws.maxSubscriptionsPerUser
        ? [useSubscriptionBudget({ counter, max: ws.maxSubscriptionsPerUser }) as Plugin<GatewayContext>]
        : []),
    ],
    ws: webSocketLimits,
    clientAddress: (request) => clientAddress(request, limits.trustProxy),
    close: async () => {
      await Promise.all([webSocketLimits.close(), limiter?.close()]);
    },
  };
}
