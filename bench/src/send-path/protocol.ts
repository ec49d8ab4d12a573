/**
 * What the send-path scenario's processes say to each other: the
 * orchestrator (bench/src/scenarios/send-path.ts), its load generator
 * (load.ts) and its subscriber process (subscribers.ts), over Node's IPC
 * channel; and the text every benchmark message carries, so that a receiver
 * can tell which step sent it and when, on the one machine clock
 * (`preciseNow`, shared with the fan-out scenario).
 */
export { preciseNow } from '../fanout/protocol.ts';

export const SEND_MUTATION = 'mutation SendPath($input: SendMessageInput!) { sendMessage(input: $input) { id } }';

/** What every subscriber opens: its user's new messages, in every chat of theirs (one here). */
export const SUBSCRIPTION = 'subscription SendPath { messageAdded { id text chat { id } } }';

/**
 * The text of message `n` of step `step`, scheduled at `sentAt` (ms since
 * the Unix epoch, sub-millisecond): `sp:<step>:<n>:<sentAt>`.
 */
export const stepText = (step: number, n: number, sentAt: number): string => `sp:${step}:${n}:${sentAt.toFixed(3)}`;

/** The step and send time in a benchmark message's text; undefined for any other text. */
export function readStepText(text: string): { step: number; sentAt: number } | undefined {
  const match = /^sp:(\d+):\d+:(\d+(?:\.\d+)?)$/.exec(text);
  return match ? { step: Number(match[1]), sentAt: Number(match[2]) } : undefined;
}

/** The idempotency key of message `n` of step `step` (1–64 of `[A-Za-z0-9._:-]`): unique per deployment, as the API requires per sender. */
export const clientMessageId = (tag: string, step: number, n: number): string => `sp-${tag}-${step}-${n}`;

/** One sender: whose token signs the request, and the chat it sends in. */
export interface Sender {
  token: string;
  chatId: string;
}

export type ToLoad =
  /** Where to send, and who sends: message `n` of a step goes from `senders[n % senders.length]`. */
  | { type: 'configure'; url: string; senders: Sender[]; tag: string }
  /** Offer `rate` messages/s for `durationMs`, open loop; answer `stepDone` once every request has ended. */
  | { type: 'step'; step: number; rate: number; durationMs: number }
  | { type: 'exit' };

/** Why a message was not acknowledged, counted per code. */
export type ErrorCounts = Record<string, number>;

export interface StepResult {
  step: number;
  /** Messages due in the step. */
  offered: number;
  /** Requests actually sent (the others were left out: more than MAX_IN_FLIGHT were outstanding). */
  sent: number;
  /** Acknowledged messages' IDs, and each acknowledgement's latency (ms from the scheduled send), in the same order. */
  ids: string[];
  ackMs: Float64Array;
  /** `extensions.code` of the first GraphQL error, `HTTP_<status>`, a socket error's code, `TIMEOUT`, or `LOAD_BACKLOG` (not sent). */
  errors: ErrorCounts;
  /** A few failing answers, for the progress line. */
  samples: string[];
  /** From the first scheduled send to the last acknowledgement. */
  elapsedMs: number;
  /** How late the generator sent its latest message (ms after its schedule): large values mean the load process fell behind. */
  maxLagMs: number;
  /** The load process's event-loop delay, p99 (ms) over the step. */
  loopDelayP99Ms: number;
}

export type FromLoad = { type: 'configured' } | ({ type: 'stepDone' } & StepResult);

/** One subscriber: the chat it watches and its user's token. */
export interface Watcher {
  chatId: string;
  token: string;
}

export type ToSubscribers =
  /** Open one graphql-ws client per watcher, each subscribing once acknowledged. */
  | { type: 'connect'; url: string; watchers: Watcher[] }
  /** Answer `collected` with what arrived of `step`, and forget it (what arrives later is counted as late). */
  | { type: 'collect'; step: number }
  | { type: 'exit' };

/** Counts, sent every 50 ms while anything changed. */
export interface SubscriberProgress {
  /** Sockets acknowledged (`connection_ack`) and subscribed. */
  acked: number;
  /** Sockets closed or failed before their acknowledgement. */
  refused: number;
  /** Subscribers that received a benchmark message. */
  live: number;
  /** Deliveries per step not yet collected, by step. */
  received: Record<number, number>;
  /** Deliveries of steps already collected. */
  late: number;
  /** Subscriptions the server ended, sockets closed unasked, deliveries with errors. */
  ended: number;
  problems: string[];
}

export type FromSubscribers =
  | ({ type: 'progress' } & SubscriberProgress)
  /** Every delivery of the step (an ID twice if delivered twice), with its latency (ms from the scheduled send). */
  | { type: 'collected'; step: number; ids: string[]; latencies: Float64Array };
