/**
 * This gateway's HTTP request pipeline over a supergraph of any shape
 * (`SUPERGRAPH_FILE`): for the heavy query, whose subgraphs are not ours.
 *
 * `gateway/src/main.ts` serves only `schema/supergraph.graphql` and knows only
 * our five subgraphs by name (`startGatewayServer` takes no supergraph), so
 * this entry rebuilds what `startGatewayServer` (gateway/src/server.ts)
 * puts on the query path, from the gateway's own modules rather than copies:
 * - `ApolloGateway` with each subgraph behind the gateway's `remoteHost` data
 *   source (a `RemoteGraphQLDataSource` that signs the internal identity for
 *   every subgraph request; foreign subgraphs ignore the header);
 * - GraphQL Yoga with the same plugins in the same order: `useApolloFederation`,
 *   `useRequestParseErrors`, then `createGatewaySecurity(env).plugins` (document
 *   limits from the same settings, introspection, rate limits when configured,
 *   the server-sent-event limits), then `useRequestErrorCodes`;
 * - the same context (the caller's token verified by `TokenService`, the
 *   client address), the same error masking and Yoga options;
 * - the same `node:http` front: the body-size check, then Yoga.
 * Left out, because a POSTed query never reaches them: the graphql-ws server
 * (upgrades only), the subscription bridge plugin (`onSubscribe` only), the
 * JWKS, `/export` and `/media/` routes (path checks before Yoga).
 *
 * Configured like the gateway (its models: NODE_ENV, PORT, HOST, the
 * RATE_LIMIT_* and MAX_QUERY_* settings…), plus `INTERNAL_TOKEN_SECRET` and
 * either `JWKS_URL` or `JWT_PRIVATE_KEYS` for the token service.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { InternalIdentity, loadConfig, log, maskError, RedisModel, TokensModel, TokenService, type SubgraphName } from '@chat/common';
import { useApolloFederation } from '@envelop/apollo-federation';
import { createYoga } from 'graphql-yoga';
import { HostingModel, SecurityModel } from '../../../gateway/src/env.ts';
import { maskGatewayError, useRequestErrorCodes, useRequestParseErrors } from '../../../gateway/src/request-errors.ts';
import { createGatewaySecurity } from '../../../gateway/src/security/index.ts';
import { remoteHost, type GatewayContext } from '../../../gateway/src/subgraph-hosts.ts';

const config = loadConfig({ hosting: HostingModel, security: SecurityModel, redis: RedisModel, tokens: TokensModel });
const supergraphSdl = readFileSync(process.env.SUPERGRAPH_FILE ?? '', 'utf8');
const identity = new InternalIdentity(new TextEncoder().encode(process.env.INTERNAL_TOKEN_SECRET ?? ''));
const tokens = await TokenService.create(
  process.env.JWKS_URL
    ? { jwksUrl: process.env.JWKS_URL, accessTokenTtlSeconds: config.tokens.accessTokenTtlSeconds }
    : { signingKeys: JSON.parse(process.env.JWT_PRIVATE_KEYS ?? '{"keys":[]}') },
);

const gateway = new ApolloGateway({
  supergraphSdl,
  // The supergraph's subgraph names are not `SubgraphName`s; `remoteHost` only uses the name as the identity's audience.
  buildService: ({ name, url }) => remoteHost(name as SubgraphName, url!, identity).dataSource,
  logger: { debug: () => {}, info: () => {}, warn: (message) => log.warn(String(message)), error: (message) => log.error(String(message)) },
});
await gateway.load();

const authenticate = async (authorization: string | null | undefined): Promise<Pick<GatewayContext, 'authorization' | 'viewer' | 'tokenExpiresAt'>> => {
  const token = await tokens.authenticate(authorization);
  return { authorization: authorization ?? null, viewer: token?.viewer ?? null, tokenExpiresAt: token?.expiresAt ?? null };
};
const security = createGatewaySecurity(config.security, config.redis?.url);
const production = config.server.production;
const yoga = createYoga<{ connectionParams?: Record<string, unknown>; req?: IncomingMessage }, GatewayContext>({
  graphqlEndpoint: '/graphql',
  plugins: [useApolloFederation({ gateway, logger: { warn: log.warn, error: log.error, info: () => {}, debug: () => {} } as never }), useRequestParseErrors(), ...security.plugins, useRequestErrorCodes()],
  context: async ({ request, req, connectionParams }) => {
    const fromSocket = connectionParams?.authorization;
    const caller = await authenticate(typeof fromSocket === 'string' ? fromSocket : request?.headers.get('authorization'));
    return { ...caller, clientIp: security.clientAddress(req), transport: connectionParams ? 'websocket' : 'http' };
  },
  maskedErrors: { maskError: (error) => maskGatewayError(maskError(error)) },
  // The gateway passes @graphql-yoga/render-graphiql's renderer; GraphiQL only answers a browser's GET.
  graphiql: production ? false : { title: 'Federated chat', subscriptionsProtocol: 'WS' },
  landingPage: false,
  logging: false,
});

const server = createServer((request, response) => {
  if (Number(request.headers['content-length'] ?? 0) > config.security.maxRequestBytes) {
    request.resume();
    response.writeHead(413, { 'content-type': 'application/json' }).end('{"errors":[{"message":"The request body is too large.","extensions":{"code":"PAYLOAD_TOO_LARGE"}}]}');
    return;
  }
  void yoga(request, response);
});
await new Promise<void>((resolve) => server.listen(config.server.port, config.server.host, resolve));
log.info('gateway pipeline ready', { port: config.server.port });

const stop = () => {
  server.closeAllConnections();
  server.close(() => {
    Promise.all([security.close(), gateway.stop()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
