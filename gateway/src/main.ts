/**
 * `npm start`: the gateway, with every subgraph that has no URL configured
 * mounted in this process. With no configuration at all that is the whole
 * graph on embedded storage: one process, one port.
 */
import { ConfigError, createRuntime, log, onShutdown, resolveRuntimeConfig, TokenService } from '@chat/common';
import { loadGatewayEnv } from './env.ts';
import { inProcessSubgraphs, startGatewayServer } from './server.ts';

try {
  const env = loadGatewayEnv();
  const config = resolveRuntimeConfig(env);
  const runtime = inProcessSubgraphs(env).length > 0 ? await createRuntime(config) : undefined;
  const gateway = await startGatewayServer({
    env,
    runtime,
    tokens: runtime?.tokens ?? new TokenService({ secret: config.jwtSecret, accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS }),
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
