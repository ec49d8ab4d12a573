/**
 * How the gateway reaches each subgraph: mounted in this process (the
 * embedded default, no port of its own) or over the network (HTTP for
 * queries and mutations, one multiplexed graphql-ws connection for
 * subscriptions). Either way the caller's token is forwarded and the subgraph
 * authenticates it itself.
 */
import { RemoteGraphQLDataSource, type GraphQLDataSource } from '@apollo/gateway';
import {
  executeSubgraph,
  subscribeSubgraph,
  type ForwardedHeaders,
  type Subgraph,
  type SubgraphName,
  type SubgraphRequest,
} from '@chat/common';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** The per-request context the gateway hands to data sources. */
export interface GatewayContext {
  authorization: string | null;
}

export interface SubgraphHost {
  name: SubgraphName;
  /** Where it runs, for logs: "in-process" or its URL. */
  location: string;
  dataSource: GraphQLDataSource<GatewayContext>;
  /** Opens a subscription; a refusal comes back as a single result with errors. */
  subscribe(request: SubgraphRequest): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
  close(): Promise<void>;
}

const forwarded = (context: Partial<GatewayContext> | undefined): ForwardedHeaders => ({
  authorization: context?.authorization ?? null,
});

export function inProcessHost(subgraph: Subgraph): SubgraphHost {
  return {
    name: subgraph.name,
    location: 'in-process',
    dataSource: {
      process: async ({ request, context }) => {
        const result = await executeSubgraph(subgraph, {
          query: request.query ?? '',
          variables: request.variables,
          operationName: request.operationName,
          headers: forwarded(context),
        });
        return result as Awaited<ReturnType<GraphQLDataSource['process']>>;
      },
    },
    subscribe: (request) => subscribeSubgraph(subgraph, request),
    close: async () => {
      await subgraph.close?.();
    },
  };
}

class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]) {
    const { authorization } = forwarded(context);
    if (authorization) request.http?.headers.set('authorization', authorization);
  }
}

export function remoteHost(name: SubgraphName, url: string): SubgraphHost {
  let client: Client | undefined;
  const wsClient = () =>
    (client ??= createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      retryAttempts: 5,
    }));
  return {
    name,
    location: url,
    dataSource: new ForwardingDataSource({ url }),
    subscribe: async (request) => {
      const iterator = wsClient().iterate({
        query: request.query,
        variables: request.variables ?? undefined,
        operationName: request.operationName ?? undefined,
        extensions: { authorization: request.headers.authorization ?? undefined },
      });
      // graphql-ws reports a refusal by throwing from next(): turn it into a result.
      return endOnError(iterator as AsyncIterableIterator<ExecutionResult>);
    },
    close: async () => {
      await client?.dispose();
    },
  };
}

/**
 * Passes events through with their errors revived as GraphQLErrors (they
 * arrive as JSON, and the gateway masks anything that is not a GraphQLError
 * with a code); an error thrown by the source becomes one last result.
 */
function endOnError(source: AsyncIterableIterator<ExecutionResult>): AsyncIterableIterator<ExecutionResult> {
  let failed = false;
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: async () => {
      if (failed) return { done: true, value: undefined };
      try {
        const step = await source.next();
        return step.done || !step.value.errors ? step : { done: false, value: { ...step.value, errors: toErrors(step.value.errors) } };
      } catch (error) {
        failed = true;
        return { done: false, value: { errors: toErrors(error) } };
      }
    },
    return: async () => {
      await source.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

function toErrors(error: unknown): GraphQLError[] {
  const list: unknown[] = Array.isArray(error) ? error : [error];
  return list.map((item) => {
    const { message, extensions } = (item ?? {}) as { message?: string; extensions?: Record<string, unknown> };
    if (extensions?.code) return new GraphQLError(message ?? 'Subscription refused.', { extensions });
    return new GraphQLError('The subscription ended unexpectedly.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });
}
