/**
 * ClamAV's clamd, as the media subgraph will use it: a clamd of the test's own
 * (`startClamd`, with a database holding only the EICAR test signature),
 * spoken to over TCP with the INSTREAM protocol.
 */
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EICAR_TEST_FILE, startClamd } from '../kit/launcher.ts';

/**
 * Sends one null-terminated command (`zPING`, `zVERSION`, `zINSTREAM` with
 * `chunks`) on a fresh connection and returns clamd's answer without its
 * terminating NUL. INSTREAM: each chunk is framed by its length as a 4-byte
 * big-endian number, and a zero length ends the stream.
 */
function clamd(address: { host: string; port: number }, command: string, chunks: Buffer[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = createConnection(address.port, address.host, () => {
      socket.write(`z${command}\0`);
      if (command === 'INSTREAM') {
        for (const chunk of chunks) {
          const length = Buffer.alloc(4);
          length.writeUInt32BE(chunk.length);
          socket.write(length);
          socket.write(chunk);
        }
        socket.write(Buffer.alloc(4));
      }
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error(`clamd did not answer ${command} within 10 s`)));
    socket.on('data', (data: Buffer) => (answer += data.toString()));
    // clamd may close mid-stream (a refused stream): what it said before still counts.
    socket.on('error', (error: NodeJS.ErrnoException) => (answer ? undefined : reject(error)));
    socket.on('close', () => resolve(answer.replace(/\0$/, '')));
  });
}

describe('clamd (INSTREAM over TCP)', () => {
  let scanner: Awaited<ReturnType<typeof startClamd>>;
  let startup = 0;
  before(async () => {
    const started = Date.now();
    scanner = await startClamd();
    startup = Date.now() - started;
  });
  after(() => scanner?.stop());

  it('answers PING with PONG and tells its version', async (t) => {
    t.diagnostic(`clamd answered PING ${startup} ms after it was spawned`);
    assert.equal(await clamd(scanner, 'PING'), 'PONG');
    assert.match(await clamd(scanner, 'VERSION'), /^ClamAV \d+\.\d+\.\d+/);
  });

  it('finds the EICAR test file, alone, followed by a newline, and split across chunks', async () => {
    const eicar = Buffer.from(EICAR_TEST_FILE);
    assert.equal(eicar.length, 68);
    assert.equal(await clamd(scanner, 'INSTREAM', [eicar]), 'stream: Eicar-Test-Signature.UNOFFICIAL FOUND');
    assert.equal(
      await clamd(scanner, 'INSTREAM', [Buffer.concat([eicar, Buffer.from('\r\n')])]),
      'stream: Eicar-Test-Signature.UNOFFICIAL FOUND',
    );
    assert.equal(
      await clamd(scanner, 'INSTREAM', [eicar.subarray(0, 10), eicar.subarray(10)]),
      'stream: Eicar-Test-Signature.UNOFFICIAL FOUND',
    );
  });

  it('passes ordinary bytes, an empty stream, and the EICAR string anywhere but at the start', async () => {
    assert.equal(await clamd(scanner, 'INSTREAM', [Buffer.from('just a picture of a cat')]), 'stream: OK');
    assert.equal(await clamd(scanner, 'INSTREAM', []), 'stream: OK');
    const random = Buffer.alloc(256 * 1024);
    for (let i = 0; i < random.length; i++) random[i] = (i * 7919) % 251;
    assert.equal(
      await clamd(scanner, 'INSTREAM', [random.subarray(0, 100_000), random.subarray(100_000)]),
      'stream: OK',
    );
    // The EICAR convention: the test file starts with the string (which is what the signature says).
    assert.equal(await clamd(scanner, 'INSTREAM', [Buffer.from(`x${EICAR_TEST_FILE}`)]), 'stream: OK');
  });

  it('refuses a stream longer than StreamMaxLength', async () => {
    const small = await startClamd({ streamMaxLength: '1M' });
    try {
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      assert.equal(await clamd(small, 'INSTREAM', [chunk, chunk, chunk]), 'stream: OK');
      assert.equal(
        await clamd(small, 'INSTREAM', [chunk, chunk, chunk, chunk, chunk]),
        'INSTREAM size limit exceeded. ERROR',
      );
    } finally {
      await small.stop();
    }
  });
});
