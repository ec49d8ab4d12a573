/**
 * The orchestrator's side of the send-path scenario's child processes: the
 * load generator (load.ts) and the subscriber process (subscribers.ts), each
 * forked with an IPC channel (`forkWorker`, shared with the fan-out scenario).
 */
import type { ChildProcess } from 'node:child_process';
import { forkWorker } from '../fanout/processes.ts';
import type {
  FromLoad,
  FromSubscribers,
  Sender,
  StepResult,
  SubscriberProgress,
  ToLoad,
  ToSubscribers,
  Watcher,
} from './protocol.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `request` and resolves with the first answer of type `answer`. @throws after `timeoutMs`, or when the child exits first */
function ask<A extends { type: string }, T extends A['type']>(
  child: ChildProcess,
  request: object,
  answer: T,
  timeoutMs: number,
  accept: (message: Extract<A, { type: T }>) => boolean = () => true,
): Promise<Extract<A, { type: T }>> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', listen);
      child.off('exit', exited);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`a send-path child did not answer ${answer} within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const listen = (message: A) => {
      if (message.type !== answer || !accept(message as Extract<A, { type: T }>)) return;
      cleanup();
      resolve(message as Extract<A, { type: T }>);
    };
    const exited = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`a send-path child exited (${code ?? signal}) before answering ${answer}`));
    };
    child.on('message', listen);
    child.once('exit', exited);
    child.send(request);
  });
}

async function exitChild(child: ChildProcess, request: object): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.send(request);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** The load generator process of one deployment. */
export class LoadGenerator {
  readonly #child = forkWorker(new URL('./load.ts', import.meta.url));

  async configure(url: string, senders: Sender[], tag: string): Promise<void> {
    await ask<FromLoad, 'configured'>(
      this.#child,
      { type: 'configure', url, senders, tag } satisfies ToLoad,
      'configured',
      30_000,
    );
  }

  /** Offers `rate` messages/s for `durationMs`; resolves once every request ended (bounded by the generator's own caps). */
  async step(step: number, rate: number, durationMs: number): Promise<StepResult> {
    const { type: _type, ...result } = await ask<FromLoad, 'stepDone'>(
      this.#child,
      { type: 'step', step, rate, durationMs } satisfies ToLoad,
      'stepDone',
      durationMs + 90_000,
      (answer) => answer.step === step,
    );
    return result;
  }

  exit(): Promise<void> {
    return exitChild(this.#child, { type: 'exit' } satisfies ToLoad);
  }
}

/** The subscriber process of one deployment, and what it last reported. */
export class Subscribers {
  readonly #child = forkWorker(new URL('./subscribers.ts', import.meta.url));
  #progress: SubscriberProgress = { acked: 0, refused: 0, live: 0, received: {}, late: 0, ended: 0, problems: [] };
  #count = 0;

  constructor() {
    this.#child.on('message', (message: FromSubscribers) => {
      if (message.type !== 'progress') return;
      const { type: _type, ...progress } = message;
      this.#progress = progress;
    });
  }

  get progress(): SubscriberProgress {
    return this.#progress;
  }

  get count(): number {
    return this.#count;
  }

  /** Opens a client per watcher and waits until every one is acknowledged. @throws when any is refused */
  async connect(url: string, watchers: Watcher[]): Promise<void> {
    this.#count += watchers.length;
    this.#child.send({ type: 'connect', url, watchers } satisfies ToSubscribers);
    await this.until(
      `${this.#count} connection acknowledgements`,
      (progress) => progress.acked + progress.refused >= this.#count,
      { timeoutMs: 60_000 },
    );
    const { refused, problems } = this.#progress;
    if (refused > 0) throw new Error(`${refused} of ${this.#count} subscribers were refused: ${problems.join('; ')}`);
  }

  /**
   * Waits until `done(progress)`. With `stallMs`, gives up (without
   * throwing: `false`) once `progressOf` did not change for that long.
   * @throws after `timeoutMs`, naming `what`
   */
  async until(
    what: string,
    done: (progress: SubscriberProgress) => boolean,
    {
      timeoutMs,
      stallMs,
      progressOf,
    }: { timeoutMs: number; stallMs?: number; progressOf?: (progress: SubscriberProgress) => number },
  ): Promise<boolean> {
    const started = Date.now();
    let last = progressOf?.(this.#progress);
    let changed = Date.now();
    for (;;) {
      const progress = this.#progress;
      if (done(progress)) return true;
      const now = Date.now();
      const current = progressOf?.(progress);
      if (current !== last) {
        last = current;
        changed = now;
      }
      if (stallMs !== undefined && now - changed > stallMs) return false;
      if (now - started > timeoutMs) {
        if (stallMs !== undefined) return false;
        throw new Error(
          `timed out waiting for ${what}: ${JSON.stringify({ ...progress, problems: progress.problems.slice(0, 5) })}`,
        );
      }
      await sleep(20);
    }
  }

  /** Everything delivered of `step` (then forgotten by the process). */
  async collect(step: number): Promise<{ ids: string[]; latencies: Float64Array }> {
    const { ids, latencies } = await ask<FromSubscribers, 'collected'>(
      this.#child,
      { type: 'collect', step } satisfies ToSubscribers,
      'collected',
      60_000,
      (answer) => answer.step === step,
    );
    return { ids, latencies };
  }

  exit(): Promise<void> {
    return exitChild(this.#child, { type: 'exit' } satisfies ToSubscribers);
  }
}
