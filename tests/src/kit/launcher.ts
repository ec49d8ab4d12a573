/**
 * Starts the product as real processes on loopback for end-to-end tests:
 * the gateway (`gateway/src/main.ts`, what `npm start` runs) and, for the
 * distributed topology, each subgraph's own server. Every process gets a free
 * port; output is kept and shown when a test fails to start one.
 *
 * The suites import the whole kit from here; each concern has its file:
 * `processes.ts` (spawning, output, stopping; shared with the bench),
 * `readiness.ts` (how the kit waits), `secrets.ts`, `databases.ts` and
 * `pglite-template.ts`, `redis.ts`, `kafka.ts`, `certificates.ts`,
 * `media-stores.ts` (S3 and clamd).
 */
import { keepOutput, runNodeToExit, startNode, type NodeProcess } from './processes.ts';
import { answersGraphQL, loggedReady } from './readiness.ts';

export { freePort, REPO_ROOT } from './processes.ts';
export { BACKSTOP_MS } from './readiness.ts';
export { TEST_SECRETS } from './secrets.ts';
export {
  addMigratedDatabase,
  createTestDatabase,
  migratedDataDir,
  startSecurePostgres,
  tempDataDir,
  type SecurePostgres,
} from './databases.ts';
export { startRedis, testRedisUrl } from './redis.ts';
export { startKafka } from './kafka.ts';
export { makeTestCertificates, type TestCertificates } from './certificates.ts';
export {
  createTestBuckets,
  EICAR_TEST_FILE,
  startClamd,
  testS3,
  type TestBuckets,
  type TestS3,
} from './media-stores.ts';

/** A process of the product under test. */
export type Process = NodeProcess;

/** What every product process of a test runs with (its logs at info, for the error when it fails). */
const PRODUCT_ENV = { LOG_LEVEL: 'info', NODE_ENV: 'test' };

/** A product process is up when `{ __typename }` succeeds (2xx). */
const isSuccess = (status: number) => status >= 200 && status < 300;

/**
 * Spawns `entry` (a path from the repo root) and waits until it is ready,
 * for as long as it runs (`readiness.ts`): its GraphQL endpoint answers 2xx
 * on `port`, or, with port 0 (a worker without a server), it logged a line
 * whose message ends in "ready".
 * @throws with its output, at once, when it exits first
 */
export async function launch(name: string, entry: string, env: Record<string, string>, port: number): Promise<Process> {
  const started = await startNode(name, entry, {
    env: { ...PRODUCT_ENV, ...env },
    port,
    isReady: (url, output) => (port === 0 ? loggedReady(output) : answersGraphQL(url, isSuccess)),
  });
  return {
    ...started,
    stop: async () => {
      await started.stop();
      keepOutput(name, started.output());
    },
  };
}

/**
 * Runs `entry` (a path from the repo root) as `launch` would, for a process
 * expected not to start: waits until it exits, however long that takes.
 * @throws when it still runs after the kit's backstop (it is killed first)
 */
export async function runToExit(
  name: string,
  entry: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const { code, output } = await runNodeToExit(name, entry, { ...PRODUCT_ENV, ...env });
  keepOutput(name, output);
  return { code: typeof code === 'number' ? code : null, output };
}
