/**
 * The media subgraph's ClamdScanner (`subgraphs/media/src/processing/clamd.ts`)
 * against a real clamd, started here: Debian's clamav-daemon (apt-get install
 * clamav-daemon) with a database of one test signature found anywhere in a
 * file and a 1 MB stream limit (the kit's `startClamd` matches at the start
 * only, with a limit of its own).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ClamdError, ClamdScanner } from '@chat/subgraph-media';

/** The standard anti-virus test file: harmless, detected by every scanner. */
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A clamd of this test's own, on a free port, knowing only EICAR (anywhere in a file), refusing streams over 1 MB. */
async function startClamd(): Promise<{ port: number; stop(): Promise<void> }> {
  const bin = existsSync('/usr/sbin/clamd') ? '/usr/sbin/clamd' : 'clamd';
  const dir = await mkdtemp(join(tmpdir(), 'clamd-test-'));
  await mkdir(join(dir, 'db'));
  // A body signature (.ndb: name, any file type, at any offset, hex bytes).
  await writeFile(join(dir, 'db', 'test.ndb'), `Eicar-Test-Signature:0:*:${Buffer.from(EICAR).toString('hex')}\n`);
  const port = await freePort();
  const conf = join(dir, 'clamd.conf');
  const settings = [
    `DatabaseDirectory ${join(dir, 'db')}`,
    `TemporaryDirectory ${dir}`,
    'TCPAddr 127.0.0.1',
    `TCPSocket ${port}`,
  ];
  await writeFile(
    conf,
    [...settings, 'Foreground yes', 'StreamMaxLength 1M', 'MaxThreads 2', 'Bytecode no', 'SelfCheck 0', ''].join('\n'),
  );
  const child = spawn(bin, ['--config-file', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let failed: Error | undefined;
  child.once('error', (error) => (failed = error));
  const exited = new Promise((resolve) => child.once('close', resolve));
  const stop = async () => {
    if (child.exitCode === null && !failed) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const scanner = new ClamdScanner({ host: '127.0.0.1', port, timeoutMs: 1_000 });
  for (const started = Date.now(); ;) {
    try {
      await scanner.ping();
      return { port, stop };
    } catch {
      if (failed || child.exitCode !== null || Date.now() - started > 30_000) {
        await stop();
        throw new Error(`clamd did not start (${failed?.message ?? `exit ${child.exitCode}`}):\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A TCP server that accepts and then behaves as told. */
async function fakeClamd(onConnection: (socket: Socket) => void): Promise<{ port: number; server: Server }> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('ClamdScanner', () => {
  let clamd: { port: number; stop(): Promise<void> };
  let scanner: ClamdScanner;

  before(async () => {
    clamd = await startClamd();
    scanner = new ClamdScanner({ host: '127.0.0.1', port: clamd.port, timeoutMs: 10_000 });
  });

  after(async () => {
    await clamd?.stop();
  });

  it('answers PING', async () => {
    await scanner.ping();
  });

  it('finds EICAR, naming the signature', async () => {
    const verdict = await scanner.scan(Readable.from([Buffer.from(EICAR)]));
    assert.deepEqual(verdict, { clean: false, signature: 'Eicar-Test-Signature.UNOFFICIAL' });
  });

  it('finds EICAR inside a larger stream, across chunk boundaries, whatever the pieces it is read in', async () => {
    const body = Buffer.concat([Buffer.alloc(64 * 1024 - 30, 'a'), Buffer.from(EICAR), Buffer.alloc(200_000, 'b')]);
    // Pieces of odd sizes, an empty one (never sent: a zero length ends the stream), one as a string.
    const pieces = [
      body.subarray(0, 1000),
      Buffer.alloc(0),
      body.subarray(1000, 150_000).toString('latin1'),
      body.subarray(150_000),
    ];
    const verdict = await scanner.scan(Readable.from(pieces));
    assert.equal(verdict.clean, false);
  });

  it('passes clean bytes, and an empty stream', async () => {
    assert.deepEqual(
      await scanner.scan(Readable.from([Buffer.from('just a holiday photo, honestly'), Buffer.alloc(300_000, 7)])),
      { clean: true },
    );
    assert.deepEqual(await scanner.scan(Readable.from([])), { clean: true });
  });

  it('throws when clamd refuses the stream (over its StreamMaxLength): never clean', async () => {
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < 40; i++) yield Buffer.alloc(64 * 1024, i); // 2.5 MB
      })(),
    );
    // clamd answers `INSTREAM size limit exceeded. ERROR` and hangs up; the answer usually dies with the connection's reset.
    await assert.rejects(
      scanner.scan(body),
      (error: Error) => error instanceof ClamdError && /size limit|StreamMaxLength/.test(error.message),
    );
    assert.ok(body.destroyed, 'the body is not read further');
    await scanner.ping(); // clamd is still fine
  });

  it('throws when the body fails, and lets go of clamd', async () => {
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(1000));
    setTimeout(() => body.destroy(new Error('storage read failed')), 50);
    await assert.rejects(scanner.scan(body), /storage read failed/);
  });

  it('throws when clamd cannot be reached', async () => {
    const closed = new ClamdScanner({ host: '127.0.0.1', port: await freePort(), timeoutMs: 2_000 });
    await assert.rejects(
      closed.scan(Readable.from([Buffer.from('hello')])),
      (error: Error) => error instanceof ClamdError && /cannot connect/.test(error.message),
    );
    await assert.rejects(closed.ping(), ClamdError);
  });

  it('throws when clamd stays silent past the timeout', async () => {
    const sockets: Socket[] = [];
    const { port, server } = await fakeClamd((socket) => void sockets.push(socket));
    try {
      const silent = new ClamdScanner({ host: '127.0.0.1', port, timeoutMs: 300 });
      const started = Date.now();
      await assert.rejects(silent.scan(Readable.from([Buffer.from('hello')])), /silent for 300 ms/);
      assert.ok(Date.now() - started < 3_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
    }
  });

  it('throws on an answer that is not a verdict', async () => {
    const { port, server } = await fakeClamd((socket) => {
      socket.on('data', () => undefined);
      socket.end('stream: something odd happened ERROR\0');
    });
    try {
      const odd = new ClamdScanner({ host: '127.0.0.1', port, timeoutMs: 2_000 });
      await assert.rejects(odd.scan(Readable.from([Buffer.from('hello')])), /something odd happened ERROR/);
    } finally {
      server.close();
    }
  });
});
