/**
 * This gateway's HTTP request pipeline over a supergraph of any shape
 * (`SUPERGRAPH_FILE`): for the heavy query, whose subgraphs are not ours.
 *
 * `startGatewayServer` serves only `schema/supergraph.graphql` and knows only
 * our five subgraphs by name, so this entry builds the gateway's own pipeline
 * (`buildGatewayPipeline`, `createRequestListener`: gateway/src/pipeline.ts,
 * the very code `startGatewayServer` runs) over the foreign supergraph, each
 * subgraph behind the gateway's `remoteHost` data source (a
 * `RemoteGraphQLDataSource` that signs the internal identity for every
 * subgraph request; foreign subgraphs ignore the header).
 * Left out, because a POSTed query never reaches them: the graphql-ws server
 * (upgrades only) and the subscription bridge and live-stream guard
 * (subscriptions only). The JWKS and `/media/` routes answer nothing here
 * (no keys to publish, no media subgraph).
 *
 * Configured like the gateway (its models: NODE_ENV, PORT, HOST, the
 * RATE_LIMIT_* and MAX_QUERY_* settings…), plus `INTERNAL_TOKEN_SECRET` and
 * either `JWKS_URL` or `JWT_PRIVATE_KEYS` for the token service.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import {
  InternalIdentity,
  loadConfig,
  log,
  RedisModel,
  TokensModel,
  TokenService,
  type SubgraphName,
} from '@chat/common';
import { HostingModel, SecurityModel } from '../../../gateway/src/env.ts';
import { buildGatewayPipeline, createRequestListener } from '../../../gateway/src/pipeline.ts';
import { remoteHost } from '../../../gateway/src/subgraph-hosts.ts';

const config = loadConfig({ hosting: HostingModel, security: SecurityModel, redis: RedisModel, tokens: TokensModel });
const supergraphSdl = readFileSync(process.env.SUPERGRAPH_FILE ?? '', 'utf8');
const identity = new InternalIdentity(new TextEncoder().encode(process.env.INTERNAL_TOKEN_SECRET ?? ''));
const tokens = await TokenService.create(
  process.env.JWKS_URL
    ? { jwksUrl: process.env.JWKS_URL, accessTokenTtlSeconds: config.tokens.accessTokenTtlSeconds }
    : { signingKeys: JSON.parse(process.env.JWT_PRIVATE_KEYS ?? '{"keys":[]}') },
);

const { gateway, yoga, security } = await buildGatewayPipeline({
  limits: config.security,
  redisUrl: config.redis?.url,
  production: config.server.production,
  tokens,
  supergraphSdl,
  // The supergraph's subgraph names are not `SubgraphName`s; `remoteHost` only uses the name as the identity's audience.
  dataSource: (name, url) => remoteHost(name as SubgraphName, url!, identity).dataSource,
});
const { maxRequestBytes } = config.security;
const server = createServer(createRequestListener({ maxRequestBytes, yoga, jwks: { keys: [] }, httpHandlers: [] }));
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
