/**
 * Serves one subgraph on its own port: queries and mutations over HTTP
 * (GraphQL Yoga) and subscriptions over graphql-ws on the same path. Used by
 * each subgraph's src/main.ts in the distributed mode.
 */
import { createServer, type Server } from 'node:http';
import { createYoga } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { answerParseErrors, limitRequestBody, SUBGRAPH_MAX_REQUEST_BYTES } from './body-limit.ts';
import { log } from './log.ts';
import { IDENTITY_HEADER, type InternalIdentity } from './identity.ts';
import { executePrepared, maskError, prepareOperation, subscribePrepared, type Subgraph } from './subgraph.ts';

/** Where the token issuer publishes its public keys. */
export const JWKS_PATH = '/.well-known/jwks.json';

export interface ServedSubgraph {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Over graphql-ws the gateway sends the identity per operation, in `extensions["x-chat-identity"]`. */
function identityFromWs(extensions: unknown): string | null {
  const value = (extensions as Record<string, unknown> | undefined)?.[IDENTITY_HEADER];
  return typeof value === 'string' ? value : null;
}

export interface ServeOptions {
  host: string;
  port: number;
  /** Verifies the identity the gateway signs; anything else is refused. */
  identity: InternalIdentity;
}

/**
 * Every operation must carry an identity signed by the gateway for this
 * subgraph (header `x-chat-identity`, or the operation extension of the same
 * name over graphql-ws); without one it is refused with UNAUTHENTICATED
 * before any resolver runs.
 */
export async function serveSubgraph(
  subgraph: Subgraph,
  { host, port, identity }: ServeOptions,
): Promise<ServedSubgraph> {
  const viewerFrom = async (token: string | null) =>
    subgraph.createContext(await identity.verify(token, subgraph.name));
  const yoga = createYoga({
    schema: subgraph.schema,
    graphqlEndpoint: '/graphql',
    graphiql: false,
    maskedErrors: { maskError: (error) => maskError(error) },
    context: ({ request }) => viewerFrom(request.headers.get(IDENTITY_HEADER)),
    logging: false,
  });
  const jwks = subgraph.jwks;
  const server = createServer((request, response) => {
    if (jwks && request.url === JWKS_PATH) {
      response
        .writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' })
        .end(JSON.stringify(jwks()));
      return;
    }
    void (async () => {
      if (subgraph.handleHttp && (await subgraph.handleHttp(request, response))) return;
      // Counted from here on: the media route (above) holds uploads to their own, signed, size.
      if (!limitRequestBody(request, response, SUBGRAPH_MAX_REQUEST_BYTES)) return;
      await yoga(request, response);
    })().catch((error: unknown) => {
      log.error('request failed', { error: String(error) });
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'The request failed.' }));
    });
  });
  answerParseErrors(server);
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const wsServer = useServer(
    {
      onSubscribe: async (_ctx, _id, payload) => {
        let viewer;
        try {
          viewer = await identity.verify(identityFromWs(payload.extensions), subgraph.name);
        } catch (error) {
          return [maskError(error)];
        }
        return prepareOperation(subgraph, {
          query: payload.query,
          variables: payload.variables,
          operationName: payload.operationName,
          viewer,
        });
      },
      execute: (args) => executePrepared(args),
      subscribe: (args) => subscribePrepared(args),
    },
    wss,
  );
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host}:${boundPort}/graphql`;
  log.info('subgraph listening', { subgraph: subgraph.name, url });
  return {
    server,
    url,
    close: async () => {
      await wsServer.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await subgraph.close?.();
    },
  };
}
