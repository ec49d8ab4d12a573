/**
 * Node entry points of this repository run as child processes on loopback:
 * started on a free port and waited for until ready ({@link ./readiness.ts}),
 * their output kept for the error when one fails, stopped with SIGTERM. The
 * end-to-end suites start the product through `launcher.ts`; the bench
 * (`@chat/bench`) starts its servers and baselines here too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEPLOYABLES, ensureBundle } from '../../../scripts/bundle.ts';
import { answersGraphQL, BACKSTOP_MS, GoneError, loggedReady, waitUntilReady } from './readiness.ts';

/** The repository's root: relative entry paths start here, and children run here. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** How long a stopped process has to exit after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** Children still running: killed if this process exits without stopping them (one listener for all). */
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

/** A child process of `spawnNode`: its output so far, and when it exits. */
export interface SpawnedNode {
  child: ChildProcess;
  /** Its stdout and stderr, interleaved (only the tail, with `keptOutputBytes`). */
  output(): string;
  /** Resolves once it has exited, with its exit code, or the signal that ended it. */
  exited: Promise<number | NodeJS.Signals | null>;
  /** Whether it is still running. */
  alive(): boolean;
}

/**
 * How Node runs `entry` (relative to the repository root, or absolute): a
 * deployable process (the gateway, a subgraph, the consumer) from its bundle,
 * as in production, rebuilt first if a file it is built from changed
 * (`scripts/bundle.ts`); anything else (a bench server, a script) through tsx.
 */
export async function nodeArguments(entry: string): Promise<string[]> {
  if ((DEPLOYABLES as readonly string[]).includes(entry)) return [await ensureBundle(entry)];
  return ['--import', 'tsx', isAbsolute(entry) ? entry : join(REPO_ROOT, entry)];
}

/**
 * Runs `entry` (`nodeArguments`) with `env` added to this process's
 * environment, collecting its output. It is killed should this process exit
 * first.
 */
export async function spawnNode(
  entry: string,
  env: Record<string, string>,
  { keptOutputBytes }: { keptOutputBytes?: number } = {},
): Promise<SpawnedNode> {
  const child = spawn(process.execPath, await nodeArguments(entry), {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (keptOutputBytes !== undefined && output.length > 2 * keptOutputBytes) output = output.slice(-keptOutputBytes);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  running.add(child);
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal);
    });
    child.once('error', () => {
      running.delete(child);
      resolve(null); // could not be spawned at all
    });
  });
  const tail = () => (keptOutputBytes === undefined ? output : output.slice(-keptOutputBytes));
  const alive = () => child.exitCode === null && child.signalCode === null && running.has(child);
  return { child, output: tail, exited, alive };
}

/** SIGTERM, then SIGKILL after a grace period; resolves once `spawned` has exited. */
export async function stopSpawned(spawned: SpawnedNode): Promise<void> {
  if (!spawned.alive()) return;
  spawned.child.kill('SIGTERM');
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), STOP_GRACE_MS);
  await spawned.exited;
  clearTimeout(timer);
}

export interface NodeProcess {
  name: string;
  /** 0 for a process without a server. */
  port: number;
  /** `http://127.0.0.1:<port><path>`: where readiness was checked. */
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resolves once it has exited, with its exit code, or the signal that ended it (to wait on something it does). */
  exited: Promise<number | NodeJS.Signals | null>;
  /** Its stdout and stderr (the tail, with `keptOutputBytes`). */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  /** Added to this process's environment; `HOST` (127.0.0.1) and `PORT` are set too. */
  env?: Record<string, string>;
  /** 0 for a process that serves nothing (a worker). @default a free port */
  port?: number;
  /** Path that must answer. @default '/graphql' */
  path?: string;
  /**
   * When it counts as ready, given the URL and its output so far. @default
   * with a port, any HTTP answer below 500 to `POST <path>` with
   * `{ "query": "{ __typename }" }` (a refusal still proves it listens);
   * with port 0, a log line whose message ends in "ready"
   */
  isReady?: (url: string, output: string) => boolean | Promise<boolean>;
  /** Keep only this much of its output. @default all of it */
  keptOutputBytes?: number;
  /** Give up on a process that is alive but not ready after this long. @default {@link BACKSTOP_MS} */
  backstopMs?: number;
}

/**
 * Runs `entry` (`nodeArguments`) and resolves once it is ready, however
 * long that takes while it runs: there is no start-up budget, only a
 * backstop against a hang.
 * @throws with its output, at once, when it exits before it is ready, or after the backstop (it is killed first)
 */
export async function startNode(name: string, entry: string, options: StartNodeOptions = {}): Promise<NodeProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}${options.path ?? '/graphql'}`;
  const spawned = await spawnNode(entry, { HOST: '127.0.0.1', ...options.env, PORT: String(port) }, options);
  const stop = () => stopSpawned(spawned);
  const isReady =
    options.isReady ??
    (port === 0 ? (_url: string, output: string) => loggedReady(output) : (at: string) => answersGraphQL(at));
  try {
    await waitUntilReady(() => isReady(url, spawned.output()), {
      what: `${name} (${entry})`,
      gone: spawned.exited,
      whyGone: () => `exited with ${spawned.child.exitCode ?? spawned.child.signalCode}`,
      backstopMs: options.backstopMs,
    });
  } catch (error) {
    await stop();
    const why = error instanceof GoneError ? error.message : `${(error as Error).message}; killed`;
    throw new Error(`${why}:\n${spawned.output()}`, { cause: error });
  }
  const { child, exited, output } = spawned;
  return { name, port, url, pid: child.pid!, child, exited, output, stop };
}

/**
 * Runs `entry` as `startNode` would, for a process expected not to start:
 * resolves once it exits, however long that takes.
 * @throws when it is still running after `backstopMs` (it is killed first)
 */
export async function runNodeToExit(
  name: string,
  entry: string,
  env: Record<string, string>,
  { backstopMs = BACKSTOP_MS }: { backstopMs?: number } = {},
): Promise<{ code: number | NodeJS.Signals | null; output: string }> {
  const spawned = await spawnNode(entry, { HOST: '127.0.0.1', PORT: String(await freePort()), ...env });
  let timer: NodeJS.Timeout | undefined;
  const backstop = new Promise<'backstop'>((resolve) => (timer = setTimeout(() => resolve('backstop'), backstopMs)));
  const code = await Promise.race([spawned.exited, backstop]);
  clearTimeout(timer);
  if (code === 'backstop') {
    spawned.child.kill('SIGKILL');
    await spawned.exited;
    const after = Math.round(backstopMs / 1000);
    throw new Error(
      `${name} was still running after ${after} s (the backstop; TEST_BACKSTOP_MS):\n${spawned.output()}`,
    );
  }
  return { code, output: spawned.output() };
}

/** Runs a command (not Node) to completion. @throws with its output when it fails */
export function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}

/** With TEST_PROCESS_LOGS set to a directory, a stopped process leaves its output there (a failure's post-mortem). */
export function keepOutput(name: string, output: string): void {
  const dir = process.env.TEST_PROCESS_LOGS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${Date.now()}-${process.pid}-${name}.log`), output);
}
