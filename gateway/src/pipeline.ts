/**
 * The gateway's request pipeline, apart from where its subgraphs live and
 * from the WebSocket server: `@apollo/gateway` over a supergraph, GraphQL
 * Yoga with the gateway's plugins, context and error masking, and the
 * `node:http` front that routes to it. `startGatewayServer` builds it over
 * our subgraphs; the federated-query bench builds it over a foreign
 * supergraph, so what it measures is this code, not a copy.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { ApolloGateway, type GraphQLDataSource } from '@apollo/gateway';
import { useApolloFederation } from '@envelop/apollo-federation';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { JWKS_PATH, limitRequestBody, log, maskError, type ErrorCode, type TokenService } from '@chat/common';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { handleExportDownload } from './export-download.ts';
import { withExtensions } from './errors.ts';
import { maskGatewayError, useRequestErrorCodes, useRequestParseErrors, withoutServiceName } from './request-errors.ts';
import { createGatewaySecurity, type GatewaySecurity, type SecurityLimits } from './security/index.ts';
import type { GatewayContext } from './subgraph-hosts.ts';
import type { SubscriptionBridge } from './subscriptions/bridge.ts';
import type { EndedSessionWatch } from './subscriptions/ended-sessions.ts';
import { useLiveStreamGuard } from './subscriptions/stream-guard.ts';

/** What Yoga receives besides the request: graphql-ws's connection parameters, Node's request. */
export type GatewayServerContext = { connectionParams?: Record<string, unknown>; req?: IncomingMessage };
export type GatewayYoga = YogaServerInstance<GatewayServerContext, GatewayContext>;

export interface GatewayPipelineOptions {
  /** Document, introspection, rate and connection limits (the config's `security` section). */
  limits: SecurityLimits;
  /** Where the limits count, shared by every instance; in memory without. */
  redisUrl: string | undefined;
  /** NODE_ENV=production: no GraphiQL, no subgraph names in errors. */
  production: boolean;
  /** Verifies access tokens. */
  tokens: TokenService;
  /** The composed supergraph served. */
  supergraphSdl: string;
  /** The data source of each subgraph the supergraph names (its name and the URL the supergraph gives it). */
  dataSource: (name: string, url: string | undefined) => GraphQLDataSource;
  /**
   * Federated subscriptions: the bridge executes them, and the watch ends
   * live streams with their session. Without, the pipeline serves queries
   * and mutations only (what the federated-query bench measures).
   */
  subscriptions?: { bridge: SubscriptionBridge; endedSessions: EndedSessionWatch };
}

export interface GatewayPipeline {
  gateway: ApolloGateway;
  yoga: GatewayYoga;
  /** Document, introspection, rate and connection limits: docs/SECURITY.md#rate-limits. */
  security: GatewaySecurity;
}

/**
 * A refused token refuses the whole HTTP request before anything runs: 401 with `WWW-Authenticate: Bearer` to a
 * client that accepts `application/graphql-response+json` (the GraphQL-over-HTTP spec: no data, a 4xx), 200 with
 * plain `application/json` (`spec`). Over graphql-ws the socket's own rules apply (4403 at connection_init).
 */
function asUnauthorized(error: unknown): unknown {
  if (!(error instanceof GraphQLError)) return error;
  const http = { spec: true, status: 401, headers: { 'WWW-Authenticate': 'Bearer' } };
  return withExtensions(error, { ...error.extensions, http });
}

/** The bridge takes over subscription execution, which @apollo/gateway refuses. */
const useSubscriptionBridge = (bridge: SubscriptionBridge): Plugin => ({
  onSubscribe({ setSubscribeFn }) {
    setSubscribeFn((args: ExecutionArgs) => bridge.subscribe(args));
  },
});

/**
 * Loads the supergraph into `@apollo/gateway` and builds Yoga in front of it.
 * Close it with `security.close()` and `gateway.stop()`.
 */
export async function buildGatewayPipeline(options: GatewayPipelineOptions): Promise<GatewayPipeline> {
  const { limits, redisUrl, production, tokens, supergraphSdl, dataSource, subscriptions } = options;
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) => dataSource(name, url),
    logger: {
      debug: () => {},
      info: () => {},
      warn: (message) => log.warn(String(message)),
      error: (message) => log.error(String(message)),
    },
  });
  await gateway.load();

  /** A bad token is refused here, before any planning; subgraphs then check that the session still goes on. */
  const authenticate = async (
    authorization: string | null | undefined,
  ): Promise<Pick<GatewayContext, 'authorization' | 'viewer' | 'tokenExpiresAt'>> => {
    const token = await tokens.authenticate(authorization);
    return {
      authorization: authorization ?? null,
      viewer: token?.viewer ?? null,
      tokenExpiresAt: token?.expiresAt ?? null,
    };
  };

  // Document, introspection and rate limits (HTTP and graphql-ws), connection limits: docs/SECURITY.md#rate-limits.
  const security = createGatewaySecurity(limits, redisUrl);
  const yoga = createYoga<GatewayServerContext, GatewayContext>({
    graphqlEndpoint: '/graphql',
    plugins: [
      useApolloFederation({
        gateway,
        logger: { warn: log.warn, error: log.error, info: () => {}, debug: () => {} } as never,
      }),
      ...(subscriptions ? [useSubscriptionBridge(subscriptions.bridge)] : []),
      useRequestParseErrors(),
      ...security.plugins,
      ...(subscriptions ? [useLiveStreamGuard(subscriptions.endedSessions)] : []),
      useRequestErrorCodes(),
    ],
    context: async ({ request, req, connectionParams }) => {
      const fromSocket = connectionParams?.authorization;
      const caller = await authenticate(
        typeof fromSocket === 'string' ? fromSocket : request?.headers.get('authorization'),
      ).catch((error: unknown) => {
        throw connectionParams ? error : asUnauthorized(error);
      });
      return { ...caller, clientIp: security.clientAddress(req), transport: connectionParams ? 'websocket' : 'http' };
    },
    maskedErrors: {
      maskError: (error) => {
        const masked = maskGatewayError(maskError(error));
        return production ? withoutServiceName(masked) : masked;
      },
    },
    graphiql: production ? false : { title: 'Federated chat', subscriptionsProtocol: 'WS' },
    renderGraphiQL,
    landingPage: false,
    logging: false,
  });
  return { gateway, yoga, security };
}

/** A plain-HTTP route of a subgraph in this process: resolves true once it answered, false when the path is not its. */
export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;

export interface RequestListenerOptions {
  /** Past this many bytes a body is refused (413) and the connection closed. */
  maxRequestBytes: number;
  yoga: GatewayYoga;
  /** Served at JWKS_PATH when it holds keys (an in-process users subgraph's). */
  jwks: { keys: readonly unknown[] };
  /** Subgraphs in this process that answer plain HTTP themselves (the media subgraph's signed URLs). */
  httpHandlers: readonly HttpHandler[];
}

/** The `node:http` front: media URLs, the body limit, the JWKS, `/export`, then Yoga. */
export function createRequestListener({
  maxRequestBytes,
  yoga,
  jwks,
  httpHandlers,
}: RequestListenerOptions): RequestListener {
  return (request, response) => {
    // Media uploads have limits of their own (per kind, signed into each upload URL).
    if (request.url?.startsWith('/media/') && httpHandlers.length > 0) {
      void answerFirst(httpHandlers, request, response);
      return;
    }
    // Every other body is counted as it arrives: 413 and a closed connection past MAX_REQUEST_BYTES.
    if (!limitRequestBody(request, response, maxRequestBytes)) return;
    if (request.url === JWKS_PATH && jwks.keys.length > 0) {
      response
        .writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' })
        .end(JSON.stringify(jwks));
      return;
    }
    if (request.url === '/export' || request.url?.startsWith('/export?')) {
      handleExportDownload(yoga, request, response).catch((error: unknown) => {
        log.error('the export download failed', { error: String(error) });
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'The export failed; try again.' }));
      });
      return;
    }
    void yoga(request, response);
  };
}

/** Offers a request to each handler in turn; 404 when none takes it. A handler's failure is a 500 without detail. */
async function answerFirst(
  handlers: readonly HttpHandler[],
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  try {
    for (const handle of handlers) if (await handle(request, response)) return;
    const notFound = { error: 'Not found.', code: 'NOT_FOUND' satisfies ErrorCode };
    response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(notFound));
  } catch (error) {
    log.error('a media request failed', { error: String(error) });
    if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ error: 'The request failed; try again.', code: 'INTERNAL_SERVER_ERROR' satisfies ErrorCode }),
    );
  }
}
