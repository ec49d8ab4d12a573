/**
 * Serves one subgraph on its own port: queries and mutations over HTTP
 * (GraphQL Yoga) and subscriptions over graphql-ws on the same path. Used by
 * each subgraph's src/main.ts in the distributed mode.
 */
import { createServer, type Server } from 'node:http';
import { createYoga } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { log } from './log.ts';
import { executePrepared, maskError, prepareOperation, subscribePrepared, type ForwardedHeaders, type Subgraph } from './subgraph.ts';

export interface ServedSubgraph {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** The gateway forwards the caller's token per operation in `extensions.authorization`. */
function headersFromWs(connectionParams: unknown, extensions: unknown): ForwardedHeaders {
  const fromOperation = (extensions as { authorization?: unknown } | undefined)?.authorization;
  const fromConnection = (connectionParams as { authorization?: unknown } | undefined)?.authorization;
  const authorization = typeof fromOperation === 'string' ? fromOperation : typeof fromConnection === 'string' ? fromConnection : null;
  return { authorization };
}

export async function serveSubgraph(subgraph: Subgraph, { host, port }: { host: string; port: number }): Promise<ServedSubgraph> {
  const yoga = createYoga({
    schema: subgraph.schema,
    graphqlEndpoint: '/graphql',
    graphiql: false,
    maskedErrors: { maskError: (error) => maskError(error) },
    context: ({ request }) => subgraph.createContext({ authorization: request.headers.get('authorization') }),
    logging: false,
  });
  const server = createServer(yoga);
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const wsServer = useServer(
    {
      onSubscribe: (ctx, _id, payload) =>
        prepareOperation(subgraph, {
          query: payload.query,
          variables: payload.variables,
          operationName: payload.operationName,
          headers: headersFromWs(ctx.connectionParams, payload.extensions),
        }),
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
