import { subgraphProcessModels, type RuntimeConfig } from './config/index.ts';
import { ConfigError, loadConfig, type ConfigModels, type LoadedConfig } from './env.ts';
import { log } from './log.ts';
import { createRuntime, type Runtime } from './runtime.ts';
import { serveSubgraph } from './serve.ts';
import { SUBGRAPH_PORTS, type BaseContext, type Subgraph, type SubgraphName } from './subgraph.ts';

/**
 * Entry point of a subgraph running as its own process: reads the models it
 * needs (`models`, its own, and the runtime's) on its default port, opens the
 * runtime, serves, and shuts down cleanly on SIGINT/SIGTERM.
 */
export async function runSubgraphMain<M extends ConfigModels>(
  name: SubgraphName,
  models: M,
  create: (runtime: Runtime, config: LoadedConfig<M>) => Subgraph<BaseContext>,
): Promise<void> {
  let runtime: Runtime;
  let config: RuntimeConfig & LoadedConfig<M>;
  try {
    if (!process.env.DATABASE_URL) {
      // An embedded database belongs to one process: separate subgraph processes must share a server.
      throw new ConfigError(
        'Invalid configuration:\n  DATABASE_URL: required when a subgraph runs as its own process (npm start runs them all in one)',
      );
    }
    // A subgraph's models have keys of their own, beside the runtime's.
    const env = { PORT: String(SUBGRAPH_PORTS[name]), ...process.env };
    config = loadConfig(subgraphProcessModels(name, models), env) as RuntimeConfig & LoadedConfig<M>;
    runtime = await createRuntime(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const { host, port } = config.server;
  const served = await serveSubgraph(create(runtime, config), { host, port, identity: runtime.identity });
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
