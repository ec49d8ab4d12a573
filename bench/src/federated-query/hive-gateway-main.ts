/**
 * Baseline (c): GraphQL Hive Gateway (`@graphql-hive/gateway`, open source)
 * over a supergraph file, one process (`SUPERGRAPH_FILE`, `PORT`, `HOST`),
 * with its defaults: no JIT, no inbound request deduplication (The Guild's
 * own benchmark turns both on; this gateway has neither).
 *
 * Programmatic rather than `hive-gateway supergraph <file>`: the CLI forks
 * one worker per CPU under NODE_ENV=production, and every variant here is
 * one process. `createGatewayRuntime` is what the CLI serves.
 *
 * `propagateHeaders` adds to each subgraph request the client's
 * `x-request-id` and the fixed headers of `SUBGRAPH_HEADERS` (JSON,
 * `{ "<subgraph>": { "<header>": "<value>" } }`), as baseline (b) does. The
 * request ID matters here: Hive Gateway deduplicates identical subgraph
 * requests in flight (`deduplicateInflightRequests`, on by default), so 50
 * connections sending the very same query would mostly share subgraph
 * answers, which real clients (other viewers, other tokens) would not. The
 * Guild's benchmark sends a unique header per request for the same reason.
 */
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway';

const headers = JSON.parse(process.env.SUBGRAPH_HEADERS ?? '{}') as Record<string, Record<string, string>>;

const gateway = createGatewayRuntime({
  supergraph: process.env.SUPERGRAPH_FILE ?? '',
  logging: 'warn',
  propagateHeaders: {
    fromClientToSubgraphs: ({ request, subgraphName }) => ({
      'x-request-id': request.headers.get('x-request-id'),
      ...headers[subgraphName],
    }),
  },
});
// The gateway answers its own errors; Node ignores what a request listener returns.
const server = createServer((request, response) => void gateway(request, response));
await new Promise<void>((resolve) =>
  server.listen(Number(process.env.PORT ?? 4000), process.env.HOST ?? '127.0.0.1', resolve),
);
process.stderr.write(`hive-gateway baseline listening on ${process.env.PORT}\n`);

const stop = () => {
  server.closeAllConnections();
  server.close(() => {
    Promise.resolve(gateway.dispose()).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
