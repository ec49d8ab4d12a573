/**
 * The fan-out scenario's child processes, beyond what `../processes.ts`
 * starts: a server's resident memory, read after a full garbage collection
 * forced through its inspector (started with `--inspect=127.0.0.1:0` in
 * NODE_OPTIONS, where `--cpu-prof` is not allowed), a CPU profile through the
 * same inspector, and the load-client processes, forked with an IPC channel.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { REPO_ROOT, type NodeProcess } from '../processes.ts';

/** NODE_OPTIONS for a server whose memory is measured: an inspector on a free loopback port. */
export const INSPECT = '--inspect=127.0.0.1:0';

/** Resident memory of a process in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

/** CPU time a process has used so far (user + system), in ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) start with the 3rd; utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A Chrome DevTools Protocol session on a server started with {@link INSPECT}. */
export class Inspector {
  #nextId = 0;

  private constructor(private readonly socket: WebSocket) {}

  /** @throws when the server's output names no inspector */
  static async open(server: NodeProcess): Promise<Inspector> {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(server.output())?.[1];
    if (!url) throw new Error(`${server.name} printed no inspector URL (started without ${INSPECT} in NODE_OPTIONS?)`);
    const socket = new WebSocket(url, { maxPayload: 1024 * 2 ** 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new Inspector(socket);
  }

  /** Calls `method` and resolves with its result. */
  call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#nextId;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the inspector did not answer ${method} within 60 s`)), 60_000);
      const onMessage = (data: Buffer) => {
        const answer = JSON.parse(data.toString()) as { id?: number; result?: T; error?: { message: string } };
        if (answer.id !== id) return;
        clearTimeout(timer);
        this.socket.off('message', onMessage);
        if (answer.error) reject(new Error(`${method}: ${answer.error.message}`));
        else resolve(answer.result as T);
      };
      this.socket.on('message', onMessage);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** A full garbage collection, twice (the second frees what finalizers of the first let go). */
export async function collectGarbage(server: NodeProcess): Promise<void> {
  const inspector = await Inspector.open(server);
  try {
    await inspector.call('HeapProfiler.collectGarbage');
    await inspector.call('HeapProfiler.collectGarbage');
  } finally {
    inspector.close();
  }
}

/**
 * Starts V8's sampling CPU profiler in `server`; `stop` writes what it
 * sampled to `file` (a `.cpuprofile`, for Chrome DevTools or speedscope).
 */
export async function startCpuProfile(server: NodeProcess, file: string): Promise<{ stop(): Promise<void> }> {
  const inspector = await Inspector.open(server);
  await inspector.call('Profiler.enable');
  await inspector.call('Profiler.setSamplingInterval', { interval: 500 });
  await inspector.call('Profiler.start');
  return {
    stop: async () => {
      try {
        const { profile } = await inspector.call<{ profile: unknown }>('Profiler.stop');
        writeFileSync(file, JSON.stringify(profile));
      } finally {
        inspector.close();
      }
    },
  };
}

/**
 * Forks `entry` (a TypeScript module) with an IPC channel; Float64Arrays
 * pass through (`advanced` serialization). It is killed should this process
 * exit without stopping it.
 */
export function forkWorker(entry: URL): ChildProcess {
  const child = fork(fileURLToPath(entry), [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    env: process.env,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  return child;
}

/** Closes a client socket normally, or terminates it when the server does not answer the close within 5 s. */
export function closeSocket(socket: WebSocket): Promise<void> {
  return new Promise<void>((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) return resolve();
    const timer = setTimeout(() => {
      socket.terminate();
      resolve();
    }, 5_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.close(1000, 'done');
  });
}
