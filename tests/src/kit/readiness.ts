/**
 * How the kit waits for something to come up: until it says it is ready, for
 * as long as what it waits on is alive, and only then against a backstop.
 * No wall-clock budget stands in for readiness, so a machine several times
 * slower than the one the suites were written on still passes; a process
 * that dies fails the wait at once, with its output.
 */
import { createConnection } from 'node:net';

/**
 * The longest the kit waits for anything to become ready before it gives up
 * on it: far beyond a slow machine's start-up, well inside CI's job limit.
 * Only reached when something is alive but never ready (a hang).
 * `TEST_BACKSTOP_MS` overrides. @default 10 minutes
 */
export const BACKSTOP_MS = Number(process.env.TEST_BACKSTOP_MS) || 10 * 60_000;

/**
 * How long the kit's clients wait by default for an event a test expects
 * (a subscription's next event, a WebSocket message, a condition that
 * `eventually` holds): passing tests never wait it out, so it only bounds how
 * long a failing one takes to report, and it is generous enough for a
 * machine several times slower than a developer's. A wait also ends at once
 * when the stream it waits on ends. `TEST_EVENT_WAIT_MS` overrides. @default 60 s
 */
export const EVENT_WAIT_MS = Number(process.env.TEST_EVENT_WAIT_MS) || 60_000;

/** How often a readiness check is repeated while it fails. */
const POLL_MS = 100;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Thrown by {@link waitUntilReady} when the thing waited on went away first. */
export class GoneError extends Error {
  override name = 'GoneError';
}

export interface ReadinessOptions {
  /** What is waited for, for the error message (e.g. `gateway-a (gateway/src/main.ts)`). */
  what: string;
  /** Settles once what is waited on is gone (a child process exited, say): the wait fails at once. */
  gone?: Promise<unknown>;
  /** Why it went, for the error (an exit code, say). */
  whyGone?: () => string;
  /** @default {@link BACKSTOP_MS} */
  backstopMs?: number;
}

/**
 * Polls `isReady` until it holds. Each check runs to its end unless
 * what it waits on goes away meanwhile (no check is cut short by a timer:
 * a busy machine answers late, not never).
 * @throws {GoneError} once `gone` settles
 * @throws after `backstopMs` of checks that did not hold
 */
export async function waitUntilReady(
  isReady: () => boolean | Promise<boolean>,
  options: ReadinessOptions,
): Promise<void> {
  const { what, backstopMs = BACKSTOP_MS } = options;
  const ended: { why?: 'gone' | 'backstop' } = {};
  let timer: NodeJS.Timeout | undefined;
  const ending = [
    new Promise((resolve) => (timer = setTimeout(resolve, backstopMs))).then(() => (ended.why ??= 'backstop')),
    ...(options.gone ? [options.gone.then(() => (ended.why ??= 'gone'))] : []),
  ].map((promise) => promise.then(() => false));
  try {
    for (;;) {
      const ready = await Promise.race([Promise.resolve(isReady()).catch(() => false), ...ending]);
      if (ended.why === 'gone') {
        throw new GoneError(`${what} went away before it was ready${options.whyGone ? ` (${options.whyGone()})` : ''}`);
      }
      if (ended.why === 'backstop') {
        throw new Error(
          `${what} was not ready after ${Math.round(backstopMs / 1000)} s (the backstop; TEST_BACKSTOP_MS)`,
        );
      }
      if (ready) return;
      await Promise.race([sleep(POLL_MS), ...ending]);
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether `url` answers a GraphQL `{ __typename }` over HTTP with a status
 * that `accepts` takes. @default any status below 500 (a refusal still proves it listens)
 */
export async function answersGraphQL(
  url: string,
  accepts: (status: number) => boolean = (status) => status < 500,
): Promise<boolean> {
  try {
    const headers = { 'content-type': 'application/json' };
    const response = await fetch(url, { method: 'POST', headers, body: '{"query":"{ __typename }"}' });
    await response.body?.cancel();
    return accepts(response.status);
  } catch {
    return false; // not listening yet
  }
}

/** Whether the process's JSON log holds a line whose message ends in "ready" (a worker without a server). */
export const loggedReady = (output: string): boolean => /"msg":"[^"]*ready"/.test(output);

/** Whether something accepts TCP connections on `host:port`. */
export function acceptsTcp(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(port, host, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Repeats a warm-up (`attempt`: send a message, say) until `heard` resolves
 * (given how long to wait for the warm-up's event, `ms`): proof that
 * subscriptions are live end to end. The wait grows from 300 ms to 3 s, so a
 * slow machine is not flooded with warm-ups, and the tries go on for
 * {@link EVENT_WAIT_MS} rather than for a fixed count.
 * @returns how many warm-ups it took
 * @throws `heard`'s last error, once the time is up or `stop` says a try cannot succeed (a subscription failed)
 */
export async function warmUp(
  attempt: (n: number) => Promise<unknown>,
  heard: (ms: number) => Promise<unknown>,
  { stop = () => false }: { stop?: () => boolean } = {},
): Promise<number> {
  const deadline = Date.now() + EVENT_WAIT_MS;
  for (let n = 1; ; n++) {
    await attempt(n);
    try {
      await heard(Math.min(300 * n, 3_000));
      return n;
    } catch (error) {
      if (stop() || Date.now() > deadline) throw error;
    }
  }
}
