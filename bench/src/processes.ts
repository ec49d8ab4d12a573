/**
 * Starts a Node entry point (TypeScript, through tsx) as a child process on a
 * free loopback port, waits until it answers HTTP, and stops it. What the
 * scenarios run as "the server under test", "a baseline" or "a subgraph", so
 * that nothing measured shares a process with the harness.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root: relative entry paths start here, and children run here. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Output kept per child (the tail), for the error when it fails to start. */
const KEPT_OUTPUT = 64 * 1024;

/** Children still running: killed if the harness exits without stopping them (one listener for all). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A port nobody listens on right now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface NodeProcess {
  name: string;
  port: number;
  /** `http://127.0.0.1:<port><path>`: where readiness was checked. */
  url: string;
  pid: number;
  /** The tail of its stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  /** Added to this process's environment; `PORT` and `HOST` (127.0.0.1) are set too. */
  env?: Record<string, string>;
  /** @default a free port */
  port?: number;
  /** Path that must answer. @default '/graphql' */
  path?: string;
  /**
   * When it counts as ready. @default any HTTP answer below 500 to
   * `POST <path>` with `{ "query": "{ __typename }" }` (a refusal still proves it listens)
   */
  isReady?: (url: string) => Promise<boolean>;
  /** @default 60 000 */
  timeoutMs?: number;
}

const answersGraphQL = async (url: string): Promise<boolean> => {
  try {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    await response.body?.cancel();
    return response.status < 500;
  } catch {
    return false; // not listening yet
  }
};

/**
 * Runs `node --import tsx <entry>` (`entry` relative to the repository root,
 * or absolute) and resolves once it is ready.
 * @throws with the child's output when it exits or does not answer in time (it is killed first)
 */
export async function startNode(name: string, entry: string, options: StartNodeOptions = {}): Promise<NodeProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}${options.path ?? '/graphql'}`;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', isAbsolute(entry) ? entry : join(REPO_ROOT, entry)], {
    cwd: REPO_ROOT,
    env: { ...process.env, HOST: '127.0.0.1', ...options.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 2 * KEPT_OUTPUT) output = output.slice(-KEPT_OUTPUT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  running.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (alive()) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const isReady = options.isReady ?? answersGraphQL;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = Date.now();
  while (!(await isReady(url))) {
    if (!alive()) {
      await stop();
      throw new Error(`${name} (${entry}) exited with ${child.exitCode ?? child.signalCode} before answering:\n${output.slice(-KEPT_OUTPUT)}`);
    }
    if (Date.now() - started > timeoutMs) {
      await stop();
      throw new Error(`${name} (${entry}) did not answer ${url} within ${timeoutMs} ms:\n${output.slice(-KEPT_OUTPUT)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { name, port, url, pid: child.pid!, output: () => output.slice(-KEPT_OUTPUT), stop };
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
export function cleanUpOnSignal(cleanUp: () => Promise<void>, progress: (message: string) => void, what: string): () => Promise<void> {
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
