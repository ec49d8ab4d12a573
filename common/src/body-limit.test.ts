/**
 * The body limit over real sockets: in front of a Yoga server of its own
 * (which buffers whatever body it is given), and on a subgraph process
 * (serveSubgraph), which an anonymous caller reaching its port could
 * otherwise make buffer without end before its identity is checked.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { createSchema, createYoga } from 'graphql-yoga';
import { answerParseErrors, limitRequestBody, SUBGRAPH_MAX_REQUEST_BYTES } from './body-limit.ts';
import { InternalIdentity } from './identity.ts';
import { serveSubgraph, type ServedSubgraph } from './serve.ts';

const LIMIT = 64 * 1024;

/** What a client sees of one exchange over a raw socket: every byte the server sent, and whether it closed the connection. */
interface RawExchange {
  answer: string;
  closed: boolean;
  /** Body bytes written before the server stopped the exchange. */
  sent: number;
}

/**
 * POSTs `total` bytes of a JSON-looking body to `path` as a chunked stream
 * (no Content-Length), written with backpressure and never held in memory,
 * until the body is sent or the server answers and closes.
 * @param options.contentLength declare this length instead of chunking
 */
function postStream(
  port: number,
  path: string,
  total: number,
  options: { contentLength?: number } = {},
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunked = options.contentLength === undefined;
    let answer = '';
    let sent = 0;
    let closed = false;
    const piece = Buffer.alloc(64 * 1024, 'x');
    socket.on('data', (data) => (answer += data.toString()));
    socket.on('error', () => {}); // a reset while still writing: the answer read so far is what counts
    socket.on('close', () => {
      closed = true;
      resolve({ answer, closed, sent });
    });
    const write = () => {
      while (!closed && !socket.destroyed && sent < total) {
        const size = Math.min(piece.length, total - sent);
        const chunk =
          sent === 0 ? Buffer.concat([Buffer.from('{"query":"'), piece.subarray(10, size)]) : piece.subarray(0, size);
        sent += size;
        const framed = chunked ? [Buffer.from(`${size.toString(16)}\r\n`), chunk, Buffer.from('\r\n')] : [chunk];
        const last = sent >= total && chunked ? Buffer.from('0\r\n\r\n') : Buffer.alloc(0);
        if (!socket.write(Buffer.concat([...framed, last]))) {
          socket.once('drain', write);
          return;
        }
      }
    };
    socket.on('connect', () => {
      const length = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${options.contentLength}`;
      socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${length}\r\n\r\n`);
      write();
    });
  });
}

describe('the request body limit', () => {
  let server: Server;
  let port: number;
  /** The most body bytes of one request that reached its stream's readers. */
  let largestRead = 0;

  before(async () => {
    const yoga = createYoga({
      schema: createSchema({
        typeDefs: 'type Query { length(text: String!): Int! }',
        resolvers: { Query: { length: (_: unknown, { text }: { text: string }) => text.length } },
      }),
      logging: false,
    });
    server = createServer((request, response) => {
      // Counts what the limit lets through to the stream (installed first, so the limit's check runs before it).
      const push = request.push.bind(request);
      let read = 0;
      request.push = (chunk: Buffer | null, encoding?: BufferEncoding) => {
        if (chunk) largestRead = Math.max(largestRead, (read += chunk.length));
        return push(chunk, encoding);
      };
      if (!limitRequestBody(request, response, LIMIT)) return;
      void yoga(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers a chunked body past the limit with 413 and closes the connection, handing no byte past it to the reader', async () => {
    const { answer, closed, sent } = await postStream(port, '/graphql', 16 * 1024 * 1024);
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /\r\nconnection: close\r\n/i);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    assert.deepEqual(body.errors[0].extensions, { code: 'PAYLOAD_TOO_LARGE', reason: 'BODY_TOO_LARGE', limit: LIMIT });
    assert.equal(closed, true);
    // Socket buffers on both sides take a few MB more than the server read.
    assert.ok(sent < 8 * 1024 * 1024, `the client could write ${sent} bytes before the connection closed`);
    assert.ok(largestRead <= LIMIT, `the reader got ${largestRead} bytes`);
  });

  it('answers a declared Content-Length past the limit with 413 before reading it', async () => {
    const { answer, closed } = await postStream(port, '/graphql', 1024, { contentLength: 10_000_000_000 });
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, /"limit":65536/);
    assert.equal(closed, true);
  });

  it('answers a client that is still writing: fetch reads the 413', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ length(text: $t) }', variables: { t: 'x'.repeat(4 * LIMIT) } }),
    });
    assert.equal(response.status, 413);
    assert.equal(
      ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('lets a chunked body within the limit through', async () => {
    const text = 'y'.repeat(LIMIT - 200);
    const body = JSON.stringify({ query: 'query ($t: String!) { length(text: $t) }', variables: { t: text } });
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
        );
        for (let at = 0; at < body.length; at += 1000) {
          const piece = body.slice(at, at + 1000);
          socket.write(`${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`);
        }
        socket.write('0\r\n\r\n');
      });
      let received = '';
      socket.on('data', (data) => (received += data.toString()));
      socket.on('error', reject);
      socket.on('close', () => resolve(received));
    });
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, new RegExp(`"length":${text.length}`));
  });
});

describe('a request the HTTP parser refuses', () => {
  let server: Server;
  let port: number;

  before(async () => {
    server = createServer((_request, response) => response.end('routed'));
    answerParseErrors(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers a request line past 16 KB with 431 while the client is still writing it, then closes', async () => {
    const exchange = await new Promise<RawExchange>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const piece = Buffer.alloc(64 * 1024, 'x');
      let answer = '';
      let sent = 0;
      socket.on('data', (data) => (answer += data.toString()));
      socket.on('error', () => {}); // a reset: the answer read so far is what counts
      socket.on('close', () => resolve({ answer, closed: true, sent }));
      // A 4 MB query string, a piece per turn of the event loop: the server answers long before its end.
      const write = () => {
        if (socket.destroyed || sent >= 4 * 1024 * 1024) return;
        sent += piece.length;
        if (socket.write(piece)) setImmediate(write);
        else socket.once('drain', write);
      };
      socket.on('connect', () => {
        socket.write('GET /graphql?query=');
        write();
      });
    });
    assert.match(exchange.answer, /^HTTP\/1\.1 431 /);
    assert.match(exchange.answer, /\r\nConnection: close\r\n/);
    assert.equal(exchange.closed, true);
  });

  it('answers fetch a 431 for a 1.2 MB query string, not a reset connection', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/graphql?query=${'x'.repeat(1_200_000)}`);
    assert.equal(response.status, 431);
  });

  it('answers a malformed request with 400', async () => {
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /graphql\0 HTTP/1.1\r\nHost: x\r\n\r\n'));
      let text = '';
      socket.on('data', (data) => (text += data.toString()));
      socket.on('close', () => resolve(text));
    });
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  });
});

describe('the body limit of a subgraph process', () => {
  let served: ServedSubgraph;

  before(async () => {
    const schema = createSchema({ typeDefs: 'type Query { ok: Boolean }' });
    served = await serveSubgraph(
      { name: 'chats', schema, createContext: async () => ({ viewer: null }) as never },
      { host: '127.0.0.1', port: 0, identity: new InternalIdentity(randomBytes(32)) },
    );
  });
  after(() => served.close());

  it('answers a chunked body past SUBGRAPH_MAX_REQUEST_BYTES with 413 before any identity is checked', async () => {
    const port = (served.server.address() as AddressInfo).port;
    const { answer, closed } = await postStream(port, '/graphql', SUBGRAPH_MAX_REQUEST_BYTES + 4 * 1024 * 1024);
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.match(answer, new RegExp(`"limit":${SUBGRAPH_MAX_REQUEST_BYTES}`));
    assert.equal(closed, true);
  });
});
