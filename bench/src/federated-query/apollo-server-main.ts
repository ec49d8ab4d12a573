/**
 * Baseline (b): what anyone would build by hand, and what Apollo's docs show:
 * Apollo Server 5 (standalone) with a default `ApolloGateway` over a
 * supergraph file, one process (`SUPERGRAPH_FILE`, `PORT`, `HOST`).
 *
 * Its data sources are `RemoteGraphQLDataSource`s that add two things to
 * each subgraph request: the client's `x-request-id`, as The Guild's
 * benchmark propagates a per-request header to the subgraphs (this gateway
 * would not deduplicate identical subgraph requests anyway; Hive Gateway
 * does); and the fixed headers of `SUBGRAPH_HEADERS` (JSON,
 * `{ "<subgraph>": { "<header>": "<value>" } }`): how this baseline passes
 * the chat subgraphs the identity they demand.
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const supergraphSdl = readFileSync(process.env.SUPERGRAPH_FILE ?? '', 'utf8');
const headers = JSON.parse(process.env.SUBGRAPH_HEADERS ?? '{}') as Record<string, Record<string, string>>;

const REQUEST_ID = 'x-request-id';

interface Context {
  requestId?: string;
}

const gateway = new ApolloGateway({
  supergraphSdl,
  buildService: ({ name, url }) =>
    new RemoteGraphQLDataSource<Context>({
      url,
      willSendRequest: ({ request, context }) => {
        if (context.requestId) request.http?.headers.set(REQUEST_ID, context.requestId);
        for (const [header, value] of Object.entries(headers[name] ?? {})) request.http?.headers.set(header, value);
      },
    }),
});
const server = new ApolloServer<Context>({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT ?? 4000), host: process.env.HOST ?? '127.0.0.1' },
  context: async ({ req }) => {
    const requestId = req.headers[REQUEST_ID];
    return typeof requestId === 'string' ? { requestId } : {};
  },
});
process.stderr.write(`apollo-server baseline ready at ${url}\n`);

const stop = () => {
  server.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
