/**
 * How the gateway reaches each subgraph: mounted in this process (the
 * embedded default, no port of its own) or over the network (HTTP for
 * queries and mutations, one multiplexed graphql-ws connection for
 * subscriptions). The gateway authenticates the caller; a subgraph in this
 * process receives the viewer as is, a remote one an identity the gateway
 * signs for it (`common/src/identity.ts`), which it verifies before anything
 * else. Users' access tokens never travel past the gateway.
 */
import { RemoteGraphQLDataSource, type GraphQLDataSource } from '@apollo/gateway';
import {
  executeSubgraph,
  IDENTITY_HEADER,
  subscribeSubgraph,
  type InternalIdentity,
  type Subgraph,
  type SubgraphName,
  type SubgraphRequest,
  type Viewer,
} from '@chat/common';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { gatewayError } from './errors.ts';

/** The per-request context the gateway hands to data sources. */
export interface GatewayContext {
  /** The caller's `Authorization` value, as sent. */
  authorization: string | null;
  /** Who the access token names; null for an anonymous caller. */
  viewer: Viewer | null;
  /** When the access token expires; null for an anonymous caller. */
  tokenExpiresAt: Date | null;
  /**
   * How the operation arrived. A graphql-ws socket lives on its own token
   * (renewed in band, closed at expiry: socket-sessions.ts); an HTTP stream
   * (server-sent events) ends when the token it was opened with expires.
   */
  transport: 'http' | 'websocket';
  /** The client's address (the socket peer, or from X-Forwarded-For behind TRUST_PROXY hops): what per-address limits count. */
  clientIp: string;
}

export interface SubgraphHost {
  name: SubgraphName;
  /** Where it runs, for logs: "in-process" or its URL. */
  location: string;
  dataSource: GraphQLDataSource<GatewayContext>;
  /** Plain HTTP the subgraph answers itself, when it is in this process (`Subgraph.handleHttp`). */
  handleHttp?: Subgraph['handleHttp'];
  /** Executes a query or mutation outside any plan (the gateway's own questions, such as whether a session goes on). */
  execute(request: SubgraphRequest): Promise<ExecutionResult>;
  /** Opens a subscription; a refusal comes back as a single result with errors. */
  subscribe(request: SubgraphRequest): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
  close(): Promise<void>;
}

export function inProcessHost(subgraph: Subgraph): SubgraphHost {
  return {
    name: subgraph.name,
    location: 'in-process',
    handleHttp: subgraph.handleHttp?.bind(subgraph),
    dataSource: {
      process: async ({ request, context }) => {
        const result = await executeSubgraph(subgraph, {
          query: request.query ?? '',
          variables: request.variables,
          operationName: request.operationName,
          viewer: context?.viewer ?? null,
        });
        return result as Awaited<ReturnType<GraphQLDataSource['process']>>;
      },
    },
    execute: (request) => executeSubgraph(subgraph, request),
    subscribe: (request) => subscribeSubgraph(subgraph, request),
    close: async () => {
      await subgraph.close?.();
    },
  };
}

class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly subgraph: SubgraphName,
    url: string,
    private readonly identity: InternalIdentity,
  ) {
    super({ url });
  }

  override async willSendRequest({
    request,
    context,
  }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>['willSendRequest']>>[0]) {
    request.http?.headers.set(IDENTITY_HEADER, await this.identity.sign(context?.viewer ?? null, this.subgraph));
  }
}

export function remoteHost(name: SubgraphName, url: string, identity: InternalIdentity): SubgraphHost {
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
    dataSource: new ForwardingDataSource(name, url, identity),
    execute: async (request) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          [IDENTITY_HEADER]: await identity.sign(request.viewer, name),
        },
        body: JSON.stringify({
          query: request.query,
          variables: request.variables ?? undefined,
          operationName: request.operationName ?? undefined,
        }),
      });
      const result = (await response.json()) as ExecutionResult;
      return result.errors ? { ...result, errors: toErrors(result.errors) } : result;
    },
    subscribe: async (request) => {
      const iterator = wsClient().iterate({
        query: request.query,
        variables: request.variables ?? undefined,
        operationName: request.operationName ?? undefined,
        extensions: { [IDENTITY_HEADER]: await identity.sign(request.viewer, name) },
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
        return step.done || !step.value.errors
          ? step
          : { done: false, value: { ...step.value, errors: toErrors(step.value.errors) } };
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
    return gatewayError('INTERNAL_SERVER_ERROR', 'The subscription ended unexpectedly.');
  });
}
