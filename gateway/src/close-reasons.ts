/**
 * WebSocket close reasons cut to what a close frame carries. graphql-ws puts a client's own subscription ID
 * into some reasons (4409 `Subscriber for <id> already exists`); past 123 bytes, ws throws on the close, and
 * graphql-ws then closes with 4500 (internal error) instead. The fuzz suite saw it when two subscribes with
 * one 693-character ID overlapped, on a loaded machine.
 */
import type { WebSocket } from 'ws';

/** A close frame's payload is at most 125 bytes, 2 of them the code (RFC 6455, section 5.5). */
export const MAX_CLOSE_REASON_BYTES = 123;

/** `reason`, cut at a character boundary to {@link MAX_CLOSE_REASON_BYTES} of UTF-8, with an ellipsis when cut. */
export function fitCloseReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  const ellipsis = '…';
  let cut = [...reason.slice(0, MAX_CLOSE_REASON_BYTES)];
  while (Buffer.byteLength(cut.join('') + ellipsis) > MAX_CLOSE_REASON_BYTES) cut = cut.slice(0, -1);
  return cut.join('') + ellipsis;
}

/** Every `socket.close` from here on sends its reason cut to fit (`fitCloseReason`). */
export function boundCloseReasons(socket: WebSocket): void {
  const close = socket.close.bind(socket);
  socket.close = (code?: number, reason?: string | Buffer) =>
    close(code, typeof reason === 'string' ? fitCloseReason(reason) : reason);
}
