/**
 * The gateway: one endpoint, `/graphql`, serving queries and mutations over
 * HTTP (GraphQL Yoga executing through @apollo/gateway), GraphiQL for
 * browsers, and subscriptions over graphql-ws on the same path, federated by
 * the subscription bridge.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import {
  answerParseErrors,
  createEventBus,
  log,
  maskError,
  SUBGRAPH_NAMES,
  type InternalIdentity,
  type Runtime,
  type Subgraph,
  type SubgraphName,
  type TokenService,
  type Viewer,
} from '@chat/common';
import { createUsersSubgraph, SHARED_FIELDS as USERS_SHARED_FIELDS } from '@chat/subgraph-users';
import { createChatsSubgraph } from '@chat/subgraph-chats';
import { createMessagesSubgraph } from '@chat/subgraph-messages';
import { createPresenceSubgraph } from '@chat/subgraph-presence';
import { createMediaSubgraph } from '@chat/subgraph-media';
import { useServer } from 'graphql-ws/use/ws';
import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { boundCloseReasons } from './close-reasons.ts';
import type { GatewayConfig } from './env.ts';
import { gatewayError } from './errors.ts';
import { buildGatewayPipeline, createRequestListener, type GatewayYoga } from './pipeline.ts';
import { maskGatewayError } from './request-errors.ts';
import type { GatewaySecurity } from './security/index.ts';
import { inProcessHost, remoteHost, type SubgraphHost } from './subgraph-hosts.ts';
import { SocketSessions } from './socket-sessions.ts';
import { SubscriptionBridge } from './subscriptions/bridge.ts';
import { EndedSessionWatch } from './subscriptions/ended-sessions.ts';
import { expandSharedPayloads, sharedPayload } from './subscriptions/shared-frames.ts';

export { buildGatewayPipeline, createRequestListener } from './pipeline.ts';
export type { GatewayPipeline, GatewayPipelineOptions } from './pipeline.ts';

export const SUPERGRAPH_PATH = new URL('../../schema/supergraph.graphql', import.meta.url);

/** Each subgraph mounted in-process, on the sections `loadGatewayConfig` read for it. */
const FACTORIES: Record<SubgraphName, (runtime: Runtime, config: GatewayConfig) => Subgraph> = {
  users: (runtime, config) => createUsersSubgraph(runtime, config),
  chats: (runtime, config) => createChatsSubgraph(runtime, config),
  messages: (runtime, config) => createMessagesSubgraph(runtime, config),
  presence: (runtime, config) => createPresenceSubgraph(runtime, config.presence),
  media: (runtime, config) => createMediaSubgraph(runtime, config),
};

export interface GatewayServerOptions {
  config: GatewayConfig;
  /** Verifies access tokens: with the keys of an in-process users subgraph, or through its JWKS URL. */
  tokens: TokenService;
  /** Signs the identity forwarded to subgraphs reached over the network. */
  identity: InternalIdentity;
  /** Needed when at least one subgraph is mounted in-process. */
  runtime?: Runtime;
}

export interface GatewayServer {
  server: Server;
  url: string;
  hosts: readonly SubgraphHost[];
  close(): Promise<void>;
}

/**
 * Mounts or reaches every subgraph, builds the pipeline over the committed
 * supergraph, and listens: HTTP and graphql-ws on one port.
 */
export async function startGatewayServer({
  config,
  tokens,
  identity,
  runtime,
}: GatewayServerOptions): Promise<GatewayServer> {
  const hosts = subgraphHosts(config, identity, runtime);
  const byName = new Map(hosts.map((host) => [host.name as string, host]));
  const supergraphSdl = readFileSync(SUPERGRAPH_PATH, 'utf8');
  // Ended sessions end their live streams on every instance: announced on the bus (Redis, or in-process).
  const ownBus = runtime ? undefined : createEventBus(config.redis?.url);
  const endedSessions = await EndedSessionWatch.start(runtime?.pubsub ?? ownBus!.pubsub);
  // Fields the same for every signed-in viewer: fetched once per event for all its subscribers.
  const sharedFields = new Map([['users', new Set(USERS_SHARED_FIELDS)]]);
  const bridge = new SubscriptionBridge(supergraphSdl, byName, { sharedFields });
  const { gateway, yoga, security } = await buildGatewayPipeline({
    limits: config.security,
    redisUrl: config.redis?.url,
    production: config.server.production,
    tokens,
    supergraphSdl,
    dataSource: (name) => hostOf(byName, name).dataSource,
    subscriptions: { bridge, endedSessions },
  });
  const httpHandlers = hosts.flatMap((host) => (host.handleHttp ? [host.handleHttp] : []));
  const { maxRequestBytes } = config.security;
  const server = createServer(
    createRequestListener({ maxRequestBytes, yoga, jwks: tokens.publicJwks(), httpHandlers }),
  );
  answerParseErrors(server);
  const sessionGoesOn = sessionCheck(hostOf(byName, 'users'));
  const wsServer = serveGraphqlWs(server, { tokens, yoga, security, endedSessions, sessionGoesOn });
  const url = await listen(server, config.server);
  return {
    server,
    url,
    hosts,
    close: async () => {
      await wsServer.dispose();
      await endedSessions.close();
      await ownBus?.close();
      await security.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.stop();
      await Promise.all(hosts.map((host) => host.close()));
    },
  };
}

/** Each subgraph in the process (`runtime` needed then) or over the network, as the config says. */
function subgraphHosts(
  config: GatewayConfig,
  identity: InternalIdentity,
  runtime: Runtime | undefined,
): SubgraphHost[] {
  return SUBGRAPH_NAMES.map((name): SubgraphHost => {
    const url = config.hosting.urls[name];
    if (url) return remoteHost(name, url, identity);
    if (!runtime) throw new Error(`subgraph ${name} is mounted in-process but no runtime was given`);
    return inProcessHost(FACTORIES[name](runtime, config));
  });
}

function hostOf(byName: ReadonlyMap<string, SubgraphHost>, name: string): SubgraphHost {
  const host = byName.get(name);
  if (!host) throw new Error(`the supergraph names subgraph ${name}, which this gateway does not know`);
  return host;
}

/**
 * Whether the viewer's session still goes on, asked of the users subgraph
 * (every subgraph refuses an ended session's operations). When it cannot
 * answer, yes: each subscription is checked again where it is opened.
 */
function sessionCheck(usersHost: SubgraphHost): (viewer: Viewer) => Promise<boolean> {
  return async (viewer) => {
    try {
      const result = await usersHost.execute({ query: '{ __typename }', viewer });
      return !result.errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED');
    } catch (error) {
      log.warn('could not check a session at connection_init', { error: String(error) });
      return true;
    }
  };
}

/** Listens on the configured port and host. @returns the GraphQL endpoint's URL. */
async function listen(server: Server, at: GatewayConfig['server']): Promise<string> {
  await new Promise<void>((resolve) => server.listen(at.port, at.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : at.port;
  const local = ['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost'].includes(at.host);
  return `http://${local ? 'localhost' : at.host}:${port}/graphql`;
}

interface GraphqlWsOptions {
  tokens: TokenService;
  yoga: GatewayYoga;
  security: GatewaySecurity;
  endedSessions: EndedSessionWatch;
  sessionGoesOn: (viewer: Viewer) => Promise<boolean>;
}

/**
 * graphql-ws on `/graphql` of `server`, through the same Yoga plugins as
 * HTTP: authentication at `connection_init`, the connection and subscription
 * limits, token expiry and session end on open sockets (docs/SUBSCRIPTIONS.md).
 */
function serveGraphqlWs(server: Server, options: GraphqlWsOptions): { dispose(): Promise<void> | void } {
  const { tokens, yoga, security, endedSessions, sessionGoesOn } = options;
  const sockets = new SocketSessions(tokens, endedSessions);
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: security.limits.ws.maxMessageBytes });
  wss.on('connection', (socket, request) => {
    boundCloseReasons(socket);
    refuseServerMessages(socket);
    expandSharedPayloads(socket);
    // Every socket counts against its address's limit as it opens, before connection_init (closed with 4029 past it).
    void security.ws.admitSocket(socket, request, security.clientAddress(request));
  });
  const wsServer = useServer(
    {
      connectionInitWaitTimeout: security.limits.ws.initTimeoutMs,
      // A connection may be anonymous; a token that is present must be valid.
      onConnect: async (ctx) => {
        let token;
        try {
          const authorization = ctx.connectionParams?.authorization;
          token = await tokens.authenticate(typeof authorization === 'string' ? authorization : null);
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
        // Over the user's connection limit, the socket is closed with 4029 (graphql-ws's 4403 then does nothing).
        const admitted = await security.ws.admit(ctx, {
          userId: token?.viewer.id,
          clientIp: security.clientAddress(ctx.extra.request),
        });
        if (!admitted) return false;
        // Closed with 4001 when the token expires, unless renewed by a ping, and with 4403 when its session ends (docs/SUBSCRIPTIONS.md).
        sockets.start(ctx.extra.socket, token);
        // Watched first, then checked: a session ending meanwhile is caught either way. Ended already: refused like a bad token (4403).
        return !token || (await sessionGoesOn(token.viewer));
      },
      // A result several subscriptions deliver is serialised once (subscriptions/shared-frames.ts).
      onNext: (ctx, _id, _payload, _args, result) => sharedPayload(ctx.extra.socket, result as ExecutionResult),
      onPing: (ctx, payload) => sockets.onPing(ctx.extra.socket, ctx.connectionParams, payload),
      onClose: (ctx) => {
        sockets.end(ctx.extra.socket);
        return security.ws.release(ctx);
      },
      onSubscribe: async (ctx, _id, payload) => {
        const refused = security.ws.checkSubscribe(ctx);
        if (refused) return refused;
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          connectionParams: ctx.connectionParams,
        });
        // Every refusal is an error message with a code; none may close the socket (graphql-ws would, with 4500, for a throw).
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          // Tagged where it was raised, as over HTTP: a syntax error GRAPHQL_PARSE_FAILED (useRequestErrorCodes), the
          // token limit GRAPHQL_VALIDATION_FAILED (document-limits.ts). An untagged throw is a syntax error.
          if (error instanceof GraphQLError && error.extensions.code !== undefined) return [error];
          return [
            gatewayError('GRAPHQL_PARSE_FAILED', error instanceof GraphQLError ? error.message : 'Syntax error.'),
          ];
        }
        let errors: readonly GraphQLError[];
        try {
          errors = validate(schema, document);
        } catch (error) {
          // graphql-js 16 can throw from validation (a bad @skip argument on a subscription's root field).
          errors = [
            gatewayError('GRAPHQL_VALIDATION_FAILED', error instanceof Error ? error.message : 'Invalid document.'),
          ];
        }
        if (errors.length > 0) return errors.map(maskGatewayError);
        if (!getOperationAST(document, payload.operationName)) {
          const message = payload.operationName
            ? `Unknown operation named "${payload.operationName}".`
            : 'Must provide operation name if query contains multiple operations.';
          return [gatewayError('OPERATION_RESOLUTION_FAILURE', message)];
        }
        let contextValue;
        try {
          contextValue = await contextFactory();
        } catch (error) {
          return [maskGatewayError(maskError(error))];
        }
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
      },
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => never }).subscribe(args),
    },
    wss,
  );

  return wsServer;
}

/** Message types only a server sends; graphql-ws would close with 4500 (internal error) on receiving one. */
const SERVER_MESSAGE_TYPES = new Set(['connection_ack', 'next', 'error']);

/**
 * Closes with 4400 (graphql-ws's "bad request") a socket whose client sends
 * a message only a server may send. Registered before graphql-ws's own
 * listener, so the client gets this close code rather than graphql-ws's 4500.
 */
function refuseServerMessages(socket: WebSocket): void {
  socket.prependListener('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) return;
    let type: unknown;
    try {
      // A text frame, and ws's default binaryType ('nodebuffer'): one Buffer.
      type = (JSON.parse((data as Buffer).toString()) as { type?: unknown } | null)?.type;
    } catch {
      return; // graphql-ws answers malformed messages itself (4400)
    }
    if (typeof type === 'string' && SERVER_MESSAGE_TYPES.has(type))
      socket.close(4400, `A client may not send ${type} messages`);
  });
}
