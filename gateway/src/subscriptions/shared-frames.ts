/**
 * One serialisation for a result that several graphql-ws subscriptions
 * deliver (copies of one subscription, multicast.ts). graphql-ws serialises
 * each `next` frame whole, payload included, because frames differ by their
 * subscription `id`. For a result marked shared, the payload's JSON is made
 * once; each frame then carries a small marker instead of the payload
 * (returned from graphql-ws's `onNext` hook), which the socket's `send`
 * replaces with that JSON. What goes on the wire is byte for byte the frame
 * graphql-ws would have sent.
 *
 * Server-sent events are not covered: each stream is serialised by Yoga, and
 * the per-user subscription budget bounds them.
 */
import type { ExecutionResult } from 'graphql';

/** The marker's one key: a control character no GraphQL payload uses as a key. */
const MARKER_KEY = '\u0002';
/** How a marker payload ends a serialised frame: `"payload":{"\u0002":"<n>"}}`. */
const MARKER_START = `"payload":{${JSON.stringify(MARKER_KEY)}:"`;

/** Results to serialise once, with their payload's JSON once made. */
const shared = new WeakMap<ExecutionResult, string | undefined>();
/** Per socket: the JSON each outstanding marker stands for. */
const outstanding = new WeakMap<object, Map<string, string>>();
let nextMarker = 0;

/** Marks a result that more than one subscription delivers. */
export function serialiseOnce(result: ExecutionResult): void {
  if (!shared.has(result)) shared.set(result, undefined);
}

/**
 * For graphql-ws's `onNext`: a marker payload for a shared result, to be
 * expanded by {@link expandSharedPayloads}' `send`; undefined otherwise.
 */
export function sharedPayload(socket: object, result: ExecutionResult): Record<string, string> | undefined {
  if (!shared.has(result)) return undefined;
  let json = shared.get(result);
  if (json === undefined) {
    // The payload graphql-ws builds: the result, its errors in their JSON form.
    const { errors, ...rest } = result;
    json = JSON.stringify({ ...rest, ...(errors ? { errors: errors.map((error) => error.toJSON()) } : {}) });
    shared.set(result, json);
  }
  let markers = outstanding.get(socket);
  if (!markers) outstanding.set(socket, (markers = new Map()));
  const marker = String((nextMarker = (nextMarker + 1) % Number.MAX_SAFE_INTEGER));
  markers.set(marker, json);
  return { [MARKER_KEY]: marker };
}

/** Makes the socket's `send` expand marker payloads into their JSON. Call once per socket, before graphql-ws uses it. */
export function expandSharedPayloads(socket: { send(data: never, ...rest: never[]): void }): void {
  const send = socket.send.bind(socket) as (data: unknown, ...rest: unknown[]) => void;
  (socket as { send: unknown }).send = (data: unknown, ...rest: unknown[]) => {
    send(typeof data === 'string' ? expand(socket, data) : data, ...rest);
  };
}

function expand(socket: object, frame: string): string {
  const at = frame.lastIndexOf(MARKER_START);
  if (at < 0 || !frame.endsWith('"}}')) return frame;
  const marker = frame.slice(at + MARKER_START.length, -3);
  const markers = outstanding.get(socket);
  const json = markers?.get(marker);
  if (json === undefined) return frame;
  markers!.delete(marker);
  return `${frame.slice(0, at)}"payload":${json}}`;
}
