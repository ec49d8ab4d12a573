/**
 * `npm start`: the gateway, with every subgraph that has no URL configured
 * mounted in this process. With no configuration at all that is the whole
 * graph on embedded storage: one process, one port.
 */
import { ConfigError, createRuntime, InternalIdentity, JWKS_PATH, log, onShutdown, TokenService } from '@chat/common';
import { loadGatewayConfig } from './env.ts';
import { startGatewayServer } from './server.ts';

try {
  const config = loadGatewayConfig();
  const runtime = config.hosting.mounted.length > 0 ? await createRuntime(config) : undefined;
  // Without the users subgraph in this process, public keys come from its JWKS.
  const { urls } = config.hosting;
  const jwksUrl = config.hosting.jwksUrl ?? (urls.users ? new URL(JWKS_PATH, urls.users).toString() : undefined);
  const { accessTokenTtlSeconds } = config.tokens;
  const gateway = await startGatewayServer({
    config,
    runtime,
    tokens: runtime?.tokens ?? (await TokenService.create({ jwksUrl, accessTokenTtlSeconds })),
    identity: runtime?.identity ?? new InternalIdentity(config.secrets.internalTokenSecret),
  });
  log.info('gateway ready', {
    url: gateway.url,
    subgraphs: Object.fromEntries(gateway.hosts.map((host) => [host.name, host.location])),
    storage: runtime?.describe() ?? 'none in this process',
  });
  process.stdout.write(`\nFederated chat is running. GraphiQL: ${gateway.url}\n(Ctrl-C stops it.)\n\n`);
  onShutdown(async () => {
    await gateway.close();
    await runtime?.close();
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(78);
}
