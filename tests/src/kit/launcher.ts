/**
 * Starts the product as real processes on loopback for end-to-end tests:
 * the gateway (`gateway/src/main.ts`, what `npm start` runs) and, for the
 * distributed topology, each subgraph's own server. Every process gets a free
 * port; output is kept and shown when a test fails to start one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const TEST_JWT_SECRET = 'e2e-test-secret-that-is-long-enough-0123456789';

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

export interface Process {
  name: string;
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns `entry` (a path from the repo root) and waits until it is ready: its
 * GraphQL endpoint answers on `port`, or, with port 0 (a worker without a
 * server), it logged a line containing "ready".
 */
export async function launch(name: string, entry: string, env: Record<string, string>, port: number): Promise<Process> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}/graphql`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = Date.now();
  const isReady = async (): Promise<boolean> => {
    if (port === 0) return /"msg":"[^"]*ready"/.test(output);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      return response.ok;
    } catch {
      return false; // not listening yet
    }
  };
  while (!(await isReady())) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
    if (Date.now() - started > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not answer within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return {
    name,
    url,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      keepOutput(name, output);
    },
  };
}

/** With TEST_PROCESS_LOGS set to a directory, each stopped process leaves its output there (for a failure's post-mortem). */
function keepOutput(name: string, output: string): void {
  const dir = process.env.TEST_PROCESS_LOGS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${Date.now()}-${process.pid}-${name}.log`), output);
}

export function tempDataDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'chat-e2e-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A database of its own on the test Postgres server, dropped afterwards. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `chat_test_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const dropper = new pg.Client({ connectionString: admin });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}

export const testRedisUrl = (): string => process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * A Redis server of the test's own on a free port (to restart it mid-test
 * without disturbing others). `restart` keeps the port.
 */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void>; start(): Promise<void> }> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = createConnection(port, '127.0.0.1', () => {
          socket.end();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (up) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('redis-server did not start');
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, start, stop };
}

/**
 * A Kafka broker of the test's own (scripts/services/kafka/kafka.sh on free
 * ports with its own state directory), to stop and start mid-test.
 */
export async function startKafka(): Promise<{ brokers: string; up(): Promise<void>; down(): Promise<void>; remove(): Promise<void> }> {
  const [port, controllerPort] = [await freePort(), await freePort()];
  const state = mkdtempSync(join(tmpdir(), 'chat-kafka-'));
  const run = (command: 'up' | 'down') =>
    new Promise<void>((resolve, reject) => {
      let output = '';
      const child = spawn('bash', [join(ROOT, 'scripts/services/kafka/kafka.sh'), command], {
        env: { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort), KAFKA_STATE_DIR: state, KAFKA_CDS: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kafka.sh ${command} exited with ${code}:\n${output}`))));
    });
  await run('up');
  return {
    brokers: `127.0.0.1:${port}`,
    up: () => run('up'),
    down: () => run('down'),
    remove: async () => {
      await run('down');
      rmSync(state, { recursive: true, force: true });
    },
  };
}
