/**
 * The gateway: one endpoint, `/graphql`, serving queries and mutations over
 * HTTP (GraphQL Yoga executing through @apollo/gateway), GraphiQL for
 * browsers, and subscriptions over graphql-ws on the same path, federated by
 * the subscription bridge.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { useApolloFederation } from '@envelop/apollo-federation';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { log, maskError, TokenService, type Runtime, type SubgraphName } from '@chat/common';
import { createUsersSubgraph } from '@chat/subgraph-users';
import { createChatsSubgraph } from '@chat/subgraph-chats';
import { createMessagesSubgraph } from '@chat/subgraph-messages';
import { createPresenceSubgraph } from '@chat/subgraph-presence';
import { createYoga, type Plugin } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { WebSocketServer } from 'ws';
import type { GatewayEnv } from './env.ts';
import { handleExportDownload } from './export-download.ts';
import { inProcessHost, remoteHost, type GatewayContext, type SubgraphHost } from './subgraph-hosts.ts';
import { SubscriptionBridge } from './subscriptions/bridge.ts';

export const SUPERGRAPH_PATH = new URL('../../schema/supergraph.graphql', import.meta.url);

const FACTORIES = {
  users: createUsersSubgraph,
  chats: createChatsSubgraph,
  messages: createMessagesSubgraph,
  presence: createPresenceSubgraph,
} as const;

const URL_SETTINGS: Record<SubgraphName, keyof GatewayEnv> = {
  users: 'SUBGRAPH_USERS_URL',
  chats: 'SUBGRAPH_CHATS_URL',
  messages: 'SUBGRAPH_MESSAGES_URL',
  presence: 'SUBGRAPH_PRESENCE_URL',
};

export interface GatewayServerOptions {
  env: GatewayEnv;
  tokens: TokenService;
  /** Needed when at least one subgraph is mounted in-process. */
  runtime?: Runtime;
}

export interface GatewayServer {
  server: Server;
  url: string;
  hosts: readonly SubgraphHost[];
  close(): Promise<void>;
}

/** Which subgraphs this gateway mounts in-process (no URL configured). */
export function inProcessSubgraphs(env: GatewayEnv): SubgraphName[] {
  return (Object.keys(URL_SETTINGS) as SubgraphName[]).filter((name) => !env[URL_SETTINGS[name]]);
}

/** The bridge takes over subscription execution, which @apollo/gateway refuses. */
const useSubscriptionBridge = (bridge: SubscriptionBridge): Plugin => ({
  onSubscribe({ setSubscribeFn }) {
    setSubscribeFn((args: ExecutionArgs) => bridge.subscribe(args));
  },
});

export async function startGatewayServer({ env, tokens, runtime }: GatewayServerOptions): Promise<GatewayServer> {
  const hosts = (Object.keys(URL_SETTINGS) as SubgraphName[]).map((name): SubgraphHost => {
    const url = env[URL_SETTINGS[name]] as string | undefined;
    if (url) return remoteHost(name, url);
    if (!runtime) throw new Error(`subgraph ${name} is mounted in-process but no runtime was given`);
    return inProcessHost(FACTORIES[name](runtime));
  });
  const byName = new Map(hosts.map((host) => [host.name as string, host]));

  const supergraphSdl = readFileSync(SUPERGRAPH_PATH, 'utf8');
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => {
      const host = byName.get(name);
      if (!host) throw new Error(`the supergraph names subgraph ${name}, which this gateway does not know`);
      return host.dataSource;
    },
    logger: { debug: () => {}, info: () => {}, warn: (message) => log.warn(String(message)), error: (message) => log.error(String(message)) },
  });
  await gateway.load();
  const bridge = new SubscriptionBridge(supergraphSdl, byName);

  const authenticate = async (authorization: string | null | undefined): Promise<GatewayContext> => {
    // Refuse a bad token here, before any planning; subgraphs verify it again.
    await tokens.viewerFromAuthorization(authorization);
    return { authorization: authorization ?? null };
  };

  const production = env.NODE_ENV === 'production';
  const yoga = createYoga<{ connectionParams?: Record<string, unknown> }, GatewayContext>({
    graphqlEndpoint: '/graphql',
    plugins: [useApolloFederation({ gateway, logger: { warn: log.warn, error: log.error, info: () => {}, debug: () => {} } as never }), useSubscriptionBridge(bridge)],
    context: ({ request, connectionParams }) => {
      const fromSocket = connectionParams?.authorization;
      return authenticate(typeof fromSocket === 'string' ? fromSocket : request?.headers.get('authorization'));
    },
    maskedErrors: { maskError: (error) => maskError(error) },
    graphiql: production ? false : { title: 'Federated chat', subscriptionsProtocol: 'WS' },
    renderGraphiQL,
    landingPage: false,
    logging: false,
  });

  const server = createServer((request, response) => {
    if (request.url === '/export' || request.url?.startsWith('/export?')) {
      handleExportDownload(yoga, request, response).catch((error: unknown) => {
        log.error('the export download failed', { error: String(error) });
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'The export failed; try again.' }));
      });
      return;
    }
    void yoga(request, response);
  });
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const wsServer = useServer(
    {
      // A connection may be anonymous; a token that is present must be valid.
      onConnect: async (ctx) => {
        try {
          const authorization = ctx.connectionParams?.authorization;
          await authenticate(typeof authorization === 'string' ? authorization : null);
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          connectionParams: ctx.connectionParams,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError('Syntax error.', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        const args = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        return errors.length > 0 ? errors : args;
      },
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => never }).subscribe(args),
    },
    wss,
  );

  await new Promise<void>((resolve) => server.listen(env.PORT, env.HOST, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : env.PORT;
  const local = ['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost'].includes(env.HOST);
  const url = `http://${local ? 'localhost' : env.HOST}:${port}/graphql`;
  return {
    server,
    url,
    hosts,
    close: async () => {
      await wsServer.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.stop();
      await Promise.all(hosts.map((host) => host.close()));
    },
  };
}
