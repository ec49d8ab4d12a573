/**
 * What an anonymous client can cost the gateway, end to end (docs/SECURITY.md,
 * "Request bodies, oracles and hints"):
 * - request bodies without a Content-Length are counted as they stream,
 *   refused with 413 past MAX_REQUEST_BYTES, their connection closed, and
 *   twenty of them at once, 16 MB each, leave the gateway's memory where it was;
 * - WebSockets that never send `connection_init` count against their
 *   address's connection limit from the moment they open.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startEmbedded, type Embedded } from '../kit/topology.ts';

const LIMIT = 1024 * 1024;
const SOCKETS_PER_ADDRESS = 3;
/** The close code for a socket over its address's limit (gateway/src/security/ws-limits.ts). */
const TOO_MANY_CONNECTIONS = 4029;

/** A graphql-transport-ws socket from `from` that never sends anything; settles with 'open', or its close code if it closes first. */
function silentSocket(
  url: string,
  from: string,
): { socket: WebSocket; opened: Promise<'open' | number>; closed: Promise<number> } {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', {
    headers: { 'x-forwarded-for': from },
  });
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  const opened = new Promise<'open' | number>((resolve) => {
    socket.once('open', () => resolve('open'));
    void closed.then(resolve);
  });
  return { socket, opened, closed };
}

/** Resident memory of a process, in bytes (Linux). */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m);
  assert.ok(line, 'VmRSS in /proc/<pid>/status');
  return Number(line[1]) * 1024;
}

interface Exchange {
  /** Everything the server sent. */
  answer: string;
  /** Body bytes the client got to write before the server closed the connection. */
  sent: number;
}

/**
 * POSTs `total` bytes of body to `url` chunked (no Content-Length), written
 * piece by piece with backpressure and never held whole, until it is sent or
 * the server closes the connection.
 */
function postChunked(url: string, total: number, headers: Record<string, string> = {}): Promise<Exchange> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const piece = Buffer.alloc(64 * 1024, 'x');
    let answer = '';
    let sent = 0;
    let closed = false;
    socket.on('data', (data) => (answer += data.toString()));
    socket.on('error', () => {}); // a reset while writing: what was read is the answer
    socket.on('close', () => {
      closed = true;
      resolve({ answer, sent });
    });
    const write = () => {
      while (!closed && sent < total) {
        const size = Math.min(piece.length, total - sent);
        const body =
          sent === 0 ? Buffer.concat([Buffer.from('{"query":"'), piece.subarray(10, size)]) : piece.subarray(0, size);
        sent += size;
        const end = sent >= total ? '0\r\n\r\n' : '';
        if (!socket.write(Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), body, Buffer.from(`\r\n${end}`)]))) {
          socket.once('drain', write);
          return;
        }
      }
    };
    socket.on('connect', () => {
      const extra = Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.write(
        `POST ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n${extra}Transfer-Encoding: chunked\r\n\r\n`,
      );
      write();
    });
  });
}

function assertTooLarge({ answer }: Exchange): void {
  assert.match(answer, /^HTTP\/1\.1 413 /, answer.slice(0, 200));
  assert.match(answer, /\r\nconnection: close\r\n/i);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
    errors: { extensions: Record<string, unknown> }[];
  };
  assert.deepEqual(body.errors[0]!.extensions, { code: 'PAYLOAD_TOO_LARGE', reason: 'BODY_TOO_LARGE', limit: LIMIT });
}

describe('what an anonymous client can cost the gateway', () => {
  let gateway: Embedded;

  before(async () => {
    gateway = await startEmbedded({
      MAX_REQUEST_BYTES: String(LIMIT),
      // Sockets from the addresses the tests put in X-Forwarded-For; none closed for silence while a test runs.
      TRUST_PROXY: '1',
      WS_MAX_CONNECTIONS_PER_IP: String(SOCKETS_PER_ADDRESS),
      WS_CONNECTION_INIT_TIMEOUT_MS: '30000',
    });
  });
  after(() => gateway?.stop());

  it('refuses a chunked body past the limit with 413 and closes the connection, for queries and event streams alike', async () => {
    assertTooLarge(await postChunked(gateway.url, 16 * 1024 * 1024));
    assertTooLarge(await postChunked(gateway.url, 4 * LIMIT, { accept: 'text/event-stream' }));
  });

  it('keeps its memory under twenty parallel 16 MB chunked bodies', async () => {
    const pid = gateway.gateway.child.pid!;
    // Warm up the paths the refusals take, so the measure is of the bodies.
    await Promise.all(Array.from({ length: 4 }, () => postChunked(gateway.url, 2 * LIMIT)));
    const before = rssOf(pid);
    const exchanges = await Promise.all(Array.from({ length: 20 }, () => postChunked(gateway.url, 16 * 1024 * 1024)));
    const grown = rssOf(pid) - before;
    // Buffered, the bodies would be 320 MB; refused while streaming, each costs at most the limit.
    assert.ok(grown < 64 * 1024 * 1024, `the gateway grew by ${Math.round(grown / 1024 / 1024)} MB`);
    for (const exchange of exchanges) assertTooLarge(exchange);
  });

  it('answers a chunked body within the limit', async () => {
    const { hostname, port } = new URL(gateway.url);
    const body = JSON.stringify({ query: `{ __typename ${' '.repeat(LIMIT / 2)}}` });
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
        );
        for (let at = 0; at < body.length; at += 10_000) {
          const piece = body.slice(at, at + 10_000);
          socket.write(`${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`);
        }
        socket.end('0\r\n\r\n');
      });
      let received = '';
      socket.on('data', (data) => (received += data.toString()));
      socket.on('error', reject);
      socket.on('close', () => resolve(received));
    });
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /"__typename":"Query"/);
  });

  it('counts sockets that never send connection_init against their address, from the moment they open', async () => {
    const from = '198.51.100.77';
    const silent = Array.from({ length: SOCKETS_PER_ADDRESS }, () => silentSocket(gateway.url, from));
    assert.deepEqual(
      await Promise.all(silent.map(({ opened }) => opened)),
      silent.map(() => 'open'),
    );
    // Each is counted once its slot is taken, just after it opened: the one over the limit is closed, or refused at once.
    const extra = silentSocket(gateway.url, from);
    assert.equal(await extra.closed, TOO_MANY_CONNECTIONS);
    const elsewhere = silentSocket(gateway.url, '198.51.100.78');
    assert.equal(await elsewhere.opened, 'open', 'another address is not affected');
    // One closes: its slot is free again (freed asynchronously: a socket acknowledged by the server proves it).
    silent[0]!.socket.close();
    await silent[0]!.closed;
    for (let attempt = 1; ; attempt++) {
      const next = silentSocket(gateway.url, from);
      if ((await next.opened) === 'open') next.socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      const outcome = await Promise.race([
        next.closed,
        new Promise<'acknowledged'>((resolve) => next.socket.once('message', () => resolve('acknowledged'))),
      ]);
      next.socket.close();
      if (outcome === 'acknowledged') break;
      assert.equal(outcome, TOO_MANY_CONNECTIONS);
      assert.ok(attempt < 50, "the closed socket's slot was freed");
    }
    for (const { socket } of [...silent, elsewhere]) socket.close();
  });
});
