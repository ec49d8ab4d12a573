/**
 * Starts a Node entry point (a deployable from its bundle, anything else through tsx) as a child process on a
 * free loopback port, waits until it answers HTTP, and stops it. What the
 * scenarios run as "the server under test", "a baseline" or "a subgraph", so
 * that nothing measured shares a process with the harness. Spawning and
 * readiness are the test kit's (`@chat/tests/kit/processes`): one launcher
 * for the suites and the bench.
 */
import { startNode as startKitNode, type NodeProcess, type StartNodeOptions } from '@chat/tests/kit/processes';

export { freePort, REPO_ROOT, type NodeProcess, type StartNodeOptions } from '@chat/tests/kit/processes';

/** Output kept per child (the tail), for the error when it fails to start. */
const KEPT_OUTPUT = 64 * 1024;

/**
 * Runs `entry` (relative to the repository root, or absolute; the kit's
 * `nodeArguments`) with the test kit's launcher and resolves once it is ready,
 * however long that takes while it runs (the kit's `readiness.ts`), keeping
 * the tail of its output.
 * @throws with the child's output, at once, when it exits before it is ready (or at the kit's backstop)
 */
export function startNode(name: string, entry: string, options: StartNodeOptions = {}): Promise<NodeProcess> {
  return startKitNode(name, entry, { keptOutputBytes: KEPT_OUTPUT, ...options });
}

/**
 * Variables of the caller's environment that would turn a started gateway
 * into part of a distributed deployment: set them all empty, then set what a
 * deployment needs on top.
 */
export const LOCAL_ONLY_ENV: Readonly<Record<string, string>> = {
  KAFKA_BROKERS: '',
  CASSANDRA_CONTACT_POINTS: '',
  S3_ENDPOINT: '',
  SMTP_URL: '',
  CLAMD_ADDRESS: '',
  SUBGRAPH_USERS_URL: '',
  SUBGRAPH_CHATS_URL: '',
  SUBGRAPH_MESSAGES_URL: '',
  SUBGRAPH_PRESENCE_URL: '',
  SUBGRAPH_MEDIA_URL: '',
  JWKS_URL: '',
};

/**
 * Makes `cleanUp` run once, whether called or set off by Ctrl-C or SIGTERM (a
 * CI timeout), after which the process ends as the signal would have.
 * @returns the idempotent clean-up, to call on the normal path
 */
export function cleanUpOnSignal(
  cleanUp: () => Promise<void>,
  progress: (message: string) => void,
  what: string,
): () => Promise<void> {
  let done: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: ${what}`);
    void once()
      .catch((error: unknown) => progress(`cleaning up failed: ${String(error)}`))
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  const once = () =>
    (done ??= (async () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      await cleanUp();
    })());
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return once;
}
