import { ConfigError, parseEnv, resolveRuntimeConfig, ZRuntimeEnvSchema } from './env.ts';
import { log } from './log.ts';
import { createRuntime, type Runtime } from './runtime.ts';
import { serveSubgraph } from './serve.ts';
import type { BaseContext, Subgraph, SubgraphName } from './subgraph.ts';

/**
 * Entry point of a subgraph running as its own process: reads configuration,
 * opens the runtime, serves, and shuts down cleanly on SIGINT/SIGTERM.
 */
export async function runSubgraphMain(
  name: SubgraphName,
  create: (runtime: Runtime) => Subgraph<BaseContext>,
  defaultPort: number,
): Promise<void> {
  let runtime: Runtime;
  let env;
  try {
    env = parseEnv(ZRuntimeEnvSchema, { PORT: String(defaultPort), ...process.env });
    if (!env.DATABASE_URL) {
      // An embedded database belongs to one process: separate subgraph processes must share a server.
      throw new ConfigError('Invalid configuration:\n  DATABASE_URL: required when a subgraph runs as its own process (npm start runs them all in one)');
    }
    runtime = await createRuntime(resolveRuntimeConfig(env, { issuesTokens: name === 'users' }));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const served = await serveSubgraph(create(runtime), { host: env.HOST, port: env.PORT, identity: runtime.identity });
  log.info('subgraph ready', { subgraph: name, url: served.url, storage: runtime.describe() });
  onShutdown(async () => {
    await served.close();
    await runtime.close();
  });
}

/** Runs `stop` once on SIGINT or SIGTERM, then exits. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
