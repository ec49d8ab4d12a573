/**
 * The distributed topology on real Postgres and Redis: two gateway processes
 * share all state and events. Gateway A mounts the subgraphs in-process;
 * gateway B reaches the four subgraphs as their own processes (HTTP for
 * queries, graphql-ws for subscriptions). A subscriber on one gateway receives
 * what is sent through the other.
 */
import { createTestDatabase, freePort, launch, tempDataDir, testRedisUrl, TEST_JWT_SECRET, type Process } from '../kit/launcher.ts';
import { chatFlowSuite } from './chat-flow.ts';

async function distributed(subscribeOnRemote: boolean) {
  const database = await createTestDatabase();
  const data = tempDataDir();
  const shared = { DATABASE_URL: database.url, REDIS_URL: testRedisUrl(), JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: data.path };
  const processes: Process[] = [];
  try {
    const subgraphUrls: Record<string, string> = {};
    const started = await Promise.all(
      (['users', 'chats', 'messages', 'presence'] as const).map(async (name) =>
        launch(name, `subgraphs/${name}/src/main.ts`, shared, await freePort()),
      ),
    );
    for (const subgraph of started) {
      processes.push(subgraph);
      subgraphUrls[`SUBGRAPH_${subgraph.name.toUpperCase()}_URL`] = subgraph.url;
    }
    const [local, remote] = await Promise.all([
      launch('gateway-a', 'gateway/src/main.ts', shared, await freePort()),
      launch('gateway-b', 'gateway/src/main.ts', { ...shared, ...subgraphUrls }, await freePort()),
    ]);
    processes.push(local, remote);
    return {
      sendUrl: subscribeOnRemote ? local.url : remote.url,
      subscribeUrl: subscribeOnRemote ? remote.url : local.url,
      stop: async () => {
        await Promise.all(processes.map((process) => process.stop()));
        await database.drop();
        data.remove();
      },
    };
  } catch (error) {
    await Promise.all(processes.map((process) => process.stop()));
    await database.drop();
    data.remove();
    throw error;
  }
}

chatFlowSuite('distributed: Postgres + Redis, send via gateway A (in-process subgraphs), subscribe via gateway B (subgraph processes)', () =>
  distributed(true),
);
chatFlowSuite('distributed: Postgres + Redis, send via gateway B (subgraph processes), subscribe via gateway A', () => distributed(false));
