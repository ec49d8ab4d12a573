/**
 * What the fan-out scenario's processes say to each other: the orchestrator
 * (bench/src/scenarios/fanout.ts) and its load-client processes
 * (load-client.ts) over Node's IPC channel, and the text every benchmark
 * message carries so that a receiver can tell its phase and measure its
 * latency without a clock of its own.
 */

/** The subscription every client opens, on the gateway and on the bare baseline alike. */
export const SUBSCRIPTION =
  'subscription FanOut { messageAdded { id text createdAt sender { id displayName } chat { id } } }';

/**
 * The phase a message belongs to: `w` warm-up (proves subscriptions live,
 * not measured), `f` the fixed-rate phase (latency), `c` the capacity phase
 * (throughput).
 */
export type Phase = 'w' | 'f' | 'c';
export const PHASES: readonly Phase[] = ['w', 'f', 'c'];

/** When (ms since the Unix epoch, sub-millisecond) this process's clock says it is. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/** The text of a benchmark message: its phase, a sequence number and when it was sent. */
export const messageText = (phase: Phase, seq: number, sentAt: number): string =>
  `fo:${phase}:${seq}:${sentAt.toFixed(3)}`;

/**
 * Reads phase and send time from a raw `next` frame without parsing the
 * JSON (receivers handle tens of thousands of frames a second): the text
 * starts `fo:` and holds no character JSON would escape.
 */
export function readMessageText(frame: string): { phase: Phase; sentAt: number } | undefined {
  const start = frame.indexOf('"text":"fo:');
  if (start < 0) return undefined;
  const phase = frame[start + 11] as Phase;
  const end = frame.indexOf('"', start + 11);
  const lastColon = frame.lastIndexOf(':', end);
  const sentAt = Number(frame.slice(lastColon + 1, end));
  return PHASES.includes(phase) && Number.isFinite(sentAt) ? { phase, sentAt } : undefined;
}

/** IDs of the bare baseline's layout, shaped like the product's 19-digit Snowflakes so that payloads weigh the same. */
export const BARE_ID_BASE = 7_000_000_000_000_000_000n;
export const bareUserId = (index: number): string => String(BARE_ID_BASE + BigInt(index));
export const bareChatId = (index: number): string => String(BARE_ID_BASE + 1_000_000n + BigInt(index));

/** One client to open: which chat (of the scenario's layout) its user is in, and its `connection_init` payload. */
export interface ClientSpec {
  chat: number;
  connectionParams: Record<string, unknown>;
}

export type ToLoadClient =
  /** Open these clients (added to the ones open), each subscribing once acknowledged. */
  | { type: 'connect'; url: string; query: string; clients: ClientSpec[]; concurrency: number }
  /** Answer with the chats that have clients whose subscription has not delivered a warm-up message yet. */
  | { type: 'liveness' }
  /** Answer with the latencies of the fixed-rate phase. */
  | { type: 'collect' }
  /** Forget deliveries, latencies and problems (clients stay open and live), answer `reset`. */
  | { type: 'reset' }
  /** Close every client, forget every count, answer `closed`. */
  | { type: 'close' }
  | { type: 'exit' };

/** Counts since the last `close`, sent every 50 ms while anything changed. */
export interface Progress {
  /** Sockets acknowledged (`connection_ack`) and subscribed. */
  acked: number;
  /** Sockets that closed or errored before their acknowledgement. */
  refused: number;
  /** Close codes and reasons of those, and of sockets that closed later without being asked (first few). */
  problems: string[];
  /** Clients whose subscription delivered a warm-up message. */
  live: number;
  /** Deliveries per phase. */
  received: Record<Phase, number>;
  /** Deliveries carrying `errors`, or a payload without the federated fields (the first of each client is checked in full). */
  malformed: number;
  /** Subscriptions the server ended (`error` or `complete`), and sockets that closed unasked. */
  ended: number;
}

export type FromLoadClient =
  | ({ type: 'progress' } & Progress)
  | { type: 'liveness'; notLiveChats: number[] }
  /** Fixed-rate phase latencies in ms (a Float64Array survives the `advanced` IPC serialization). */
  | { type: 'collected'; latencies: Float64Array }
  | { type: 'reset' }
  | { type: 'closed' };
