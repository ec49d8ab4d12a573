/**
 * A request-body limit counted on the bytes as they arrive, whatever the
 * `Content-Length` says or when there is none (`Transfer-Encoding:
 * chunked`): the gateway's `MAX_REQUEST_BYTES` on every route it answers
 * itself (`/graphql` POST, server-sent events included, `/export`), and
 * {@link SUBGRAPH_MAX_REQUEST_BYTES} on a subgraph process's `/graphql`
 * (serve.ts). The media uploads are not counted here: their limit is the
 * size signed into each upload URL, which the media route holds them to
 * (subgraphs/media/src/storage/local-storage.ts: `Content-Length` required,
 * the parser stops at it).
 *
 * Past the limit the request is answered at once: 413, code
 * `PAYLOAD_TOO_LARGE` with the limit, `Connection: close`. No byte past the
 * limit reaches a reader (Yoga, which buffers a body to parse it), so memory
 * stays flat however many oversized requests arrive; what the client still
 * sends is read and dropped for a moment ({@link LINGER_MS}), then the
 * connection is closed.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { CommonReason, ErrorCode } from './errors.ts';

/** `extensions.code` of the refusal (and `reason`, for clients that look there). */
export const PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE' satisfies ErrorCode;

/**
 * The body limit of a subgraph process (distributed mode). Its callers are
 * gateways, whose query plans can send more than a client's body (entity
 * representations), so it is well above the gateway's 1 MiB; it exists so
 * that whoever reaches a subgraph's port cannot make it buffer without end
 * before its identity is checked.
 */
export const SUBGRAPH_MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * After a refusal the connection lingers this long at most, half-closed
 * (the answer and a FIN sent), reading and dropping what the client still
 * sends, then it is closed. Closing at once, with bytes of the client
 * unread, sends a reset, which on Linux makes the client's kernel drop the
 * answer it had received but not yet read: a client still writing its body
 * would see a reset connection instead of the 413. It is closed sooner when
 * the body ends or the client closes. Five seconds, as nginx's
 * `lingering_timeout`: with one second, a client busy writing twenty bodies
 * at once on a loaded 2-core machine had not read its 413 before the reset.
 */
export const LINGER_MS = 5_000;

/** Half-closes `socket` (what was written goes out, then a FIN) and destroys it after {@link LINGER_MS}, or when it closes. */
function lingerThenClose(socket: Duplex): void {
  socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
}

/** The refusal's body: a GraphQL response, as every answer of `/graphql`. */
export function tooLargeBody(maxBytes: number): string {
  return JSON.stringify({
    errors: [
      {
        message: `The request body exceeds ${maxBytes} bytes.`,
        extensions: { code: PAYLOAD_TOO_LARGE, reason: 'BODY_TOO_LARGE' satisfies CommonReason, limit: maxBytes },
      },
    ],
  });
}

/**
 * Holds `request`'s body to `maxBytes`. Counts in `push`, where Node's HTTP
 * parser hands each chunk of the body to the stream: before any reader sees
 * it, and whoever reads (an async iterator, `data` listeners, nobody yet).
 * A declared `Content-Length` over the limit is refused before a byte is read.
 * @returns whether the request may be routed on: false when it was refused
 * already. After a later refusal the reader (Yoga) waits for bytes that never
 * come, until the connection closes: it then finds the response closed and
 * answers nothing more.
 */
export function limitRequestBody(request: IncomingMessage, response: ServerResponse, maxBytes: number): boolean {
  let received = 0;
  let refused = false;
  const push = request.push.bind(request);

  const refuse = () => {
    refused = true;
    const socket = request.socket;
    if (response.headersSent) {
      // An answer had begun (it cannot be a 413 any more): the connection goes.
      socket.destroy();
      return;
    }
    const body = tooLargeBody(maxBytes);
    // Whole, then a FIN: the response is never ended, so Node's own close-after-answer (an immediate close) does not run.
    response.writeHead(413, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
      'cache-control': 'no-store',
    });
    response.write(body);
    lingerThenClose(socket);
  };

  request.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (refused) {
      // Dropped; once the body has ended and the answer is out, the connection closes: nothing of the client is left unread.
      if (chunk === null) {
        const socket = request.socket;
        if (socket.writableFinished) socket.destroy();
        else socket.once('finish', () => socket.destroy());
      }
      return true;
    }
    if (chunk !== null) {
      received += typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : (chunk as Uint8Array).length;
      if (received > maxBytes) {
        refuse();
        return true;
      }
    }
    return push(chunk, encoding);
  };

  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    refuse();
    return false;
  }
  return true;
}

/** The answers Node gives a request its parser refuses, by the parser's error code (Node's own defaults). */
const PARSE_ERROR_ANSWERS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/**
 * Answers a request that Node's HTTP parser refuses (a request line or headers past 16 KB, a malformed
 * request) as Node does, then lingers as a refused body does ({@link LINGER_MS}): Node's own handler writes
 * the answer and closes at once, so a client still sending a 1 MB query string saw a reset connection instead
 * of the 431 whenever the server answered before the client had finished writing (on a loaded machine, most
 * times).
 */
export function answerParseErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // The parser is done with this connection: what the client still sends is dropped unparsed.
    socket.removeAllListeners('data');
    socket.on('data', () => {});
    socket.resume();
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const status = PARSE_ERROR_ANSWERS[error.code ?? ''] ?? '400 Bad Request';
    socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    lingerThenClose(socket);
    socket.once('end', () => socket.destroy());
  });
}
