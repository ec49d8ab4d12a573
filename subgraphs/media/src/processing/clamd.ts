/**
 * A virus scanner: ClamAV's daemon, clamd, over TCP, one connection per
 * command, with its INSTREAM command: `zINSTREAM\0`, then the bytes as chunks
 * (a 4-byte big-endian length, then that many bytes), then a zero length.
 * clamd answers once, NUL-terminated:
 *
 * - `stream: OK`: clean;
 * - `stream: <signature> FOUND`: infected, named;
 * - `... ERROR` (e.g. `INSTREAM size limit exceeded. ERROR`), or anything
 *   else, or no answer in time: thrown, so the media stays PROCESSING and is
 *   retried; it is never taken for clean.
 *
 * Without a scanner configured, nothing is scanned: uploads are then only
 * signature-checked (the subgraph decides, and says so at start).
 *
 * clamd's own limits must cover the largest upload (`MAX_UPLOAD_BYTES`,
 * 100 MB): `StreamMaxLength 100M` (clamd's default, 25M, makes larger
 * uploads ERROR forever), `MaxFileSize` and `MaxScanSize` at least as large,
 * and `AlertExceedsMax yes`: without it, what clamd does not scan fully
 * (past a size, recursion or time limit) is answered OK.
 */
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Scanner } from './types.ts';

export interface ClamdOptions {
  host: string;
  port: number;
  /**
   * Longest silence on the connection: connecting, sending, and waiting for
   * the answer, which comes only once clamd has scanned everything, so it
   * must exceed the scan time of the largest upload.
   * @default 60_000
   */
  timeoutMs?: number;
}

/** clamd could not be asked, or did not answer a verdict. */
export class ClamdError extends Error {
  override name = 'ClamdError';
}

/** Bytes per INSTREAM chunk: far below any StreamMaxLength. */
const CHUNK = 64 * 1024;

export class ClamdScanner implements Scanner {
  private readonly timeoutMs: number;

  constructor(private readonly options: ClamdOptions) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /**
   * Streams `body` to clamd and returns its verdict. The body is consumed
   * (and destroyed when the scan fails or clamd answers early).
   * @throws ClamdError when clamd cannot be reached, times out, or answers ERROR.
   */
  async scan(body: Readable): Promise<{ clean: true } | { clean: false; signature: string }> {
    let socket: Socket;
    try {
      socket = await this.open();
    } catch (error) {
      body.destroy();
      throw error;
    }
    const answer = readAnswer(socket);
    answer.catch(() => undefined); // awaited below; a failure while sending must not leave it unhandled
    let answered = false;
    void answer.then(
      () => (answered = true),
      () => (answered = true),
    );
    try {
      await send(socket, Buffer.from('zINSTREAM\0'));
      for await (const data of body) {
        if (answered) break; // clamd has spoken (an error, e.g. its size limit): stop sending; `break` destroys the body
        const chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
        for (let at = 0; at < chunk.length; at += CHUNK) {
          const part = chunk.subarray(at, at + CHUNK);
          const length = Buffer.alloc(4);
          length.writeUInt32BE(part.length);
          await send(socket, Buffer.concat([length, part]));
        }
      }
      if (!answered) await send(socket, Buffer.alloc(4)); // the zero length: end of the stream
    } catch (error) {
      body.destroy();
      if (!socket.destroyed) {
        // The body failed (the storage read), not clamd: give up the scan.
        socket.destroy();
        throw error;
      }
      // clamd may answer and hang up before taking every byte: its answer, if it got here, is the one that counts.
      // (Often it does not: the reset that follows a close with unread bytes discards it.)
      const early = await answer.catch(() => null);
      if (early === null)
        throw asClamdError(
          error,
          'clamd hung up while receiving the stream (is its StreamMaxLength below the upload?)',
        );
    }
    const reply = await answer.finally(() => socket.destroy());
    const found = /^stream: (.+) FOUND$/.exec(reply);
    if (found?.[1]) return { clean: false, signature: found[1] };
    if (reply === 'stream: OK') return { clean: true };
    throw new ClamdError(`clamd answered: ${reply.slice(0, 200)}`);
  }

  /** Readiness: clamd is up and answering. @throws ClamdError otherwise. */
  async ping(): Promise<void> {
    const socket = await this.open();
    const answer = readAnswer(socket);
    answer.catch(() => undefined);
    try {
      await send(socket, Buffer.from('zPING\0'));
    } catch (error) {
      socket.destroy();
      throw asClamdError(error, 'sending to clamd failed');
    }
    const reply = await answer.finally(() => socket.destroy());
    if (reply !== 'PONG') throw new ClamdError(`clamd answered PING with: ${reply.slice(0, 200)}`);
  }

  /** Nothing to release: each command has its own connection. */
  async close(): Promise<void> {}

  private open(): Promise<Socket> {
    const { host, port } = this.options;
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setTimeout(this.timeoutMs);
      const fail = (error: Error) => {
        socket.destroy();
        reject(asClamdError(error, `cannot connect to clamd at ${host}:${port}`));
      };
      socket.once('error', fail);
      socket.once('timeout', () =>
        fail(new ClamdError(`no connection to clamd at ${host}:${port} within ${this.timeoutMs} ms`)),
      );
      socket.once('connect', () => {
        socket.removeListener('error', fail);
        socket.removeAllListeners('timeout');
        socket.on('timeout', () => socket.destroy(new ClamdError(`clamd was silent for ${this.timeoutMs} ms`)));
        resolve(socket);
      });
    });
  }
}

/** The NUL-terminated answer (or all clamd wrote before closing), without the terminator. */
function readAnswer(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\0');
      const reply = (end === -1 ? text : text.slice(0, end)).trim();
      if (reply) resolve(reply);
      else reject(new ClamdError('clamd closed the connection without answering'));
    };
    socket.on('data', (data: Buffer) => {
      chunks.push(data);
      if (data.includes(0)) finish();
    });
    socket.once('end', finish);
    socket.once('close', finish);
    socket.once('error', (error) => {
      if (chunks.length > 0) return finish();
      done = true;
      reject(asClamdError(error, 'clamd connection failed'));
    });
  });
}

/** Writes and waits until the bytes are handed to the OS (one write in flight: backpressure). */
function send(socket: Socket, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new ClamdError('the connection to clamd is closed'));
    socket.write(bytes, (error) => (error ? reject(error) : resolve()));
  });
}

function asClamdError(error: unknown, context: string): ClamdError {
  if (error instanceof ClamdError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ClamdError(`${context}: ${message}`, { cause: error });
}
