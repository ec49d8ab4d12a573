/**
 * The media stores of the tests: the S3-compatible store (S3Proxy, or what
 * TEST_S3_* name) with a pair of buckets per suite, and a clamd of a test's own.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, keepOutput } from './processes.ts';
import { GoneError, waitUntilReady } from './readiness.ts';

/** How to reach the S3-compatible store of the tests, and as whom. */
export interface TestS3 {
  /** e.g. `http://127.0.0.1:9300`; use path-style addressing (`forcePathStyle: true`). */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The region to sign for (S3Proxy accepts any). @default us-east-1 */
  region: string;
}

/** Where `scripts/services/s3proxy/s3proxy.sh` keeps its state: one directory per user, shared by every checkout. */
function s3proxyStateDir(): string {
  return (
    process.env.S3PROXY_STATE_DIR ??
    join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'federated-chat', 's3proxy')
  );
}

/**
 * The S3-compatible store the tests use: `TEST_S3_ENDPOINT`, `TEST_S3_ACCESS_KEY`,
 * `TEST_S3_SECRET_KEY` (and `TEST_S3_REGION`) when set, otherwise the S3Proxy that
 * `scripts/services.sh up` runs, whose endpoint and generated credentials
 * `scripts/services/s3proxy/s3proxy.sh` writes to `credentials.json` in its state directory.
 * @throws when neither is there, saying how to get one
 */
export function testS3(): TestS3 {
  const {
    TEST_S3_ENDPOINT: endpoint,
    TEST_S3_ACCESS_KEY: accessKeyId,
    TEST_S3_SECRET_KEY: secretAccessKey,
  } = process.env;
  const region = process.env.TEST_S3_REGION ?? 'us-east-1';
  if (endpoint) {
    if (!accessKeyId || !secretAccessKey)
      throw new Error('TEST_S3_ENDPOINT is set: set TEST_S3_ACCESS_KEY and TEST_S3_SECRET_KEY too');
    return { endpoint, accessKeyId, secretAccessKey, region };
  }
  const file = join(s3proxyStateDir(), 'credentials.json');
  if (!existsSync(file)) {
    throw new Error(
      `no S3 store for the tests: ${file} is missing (run \`npm run services:up\`, or set TEST_S3_ENDPOINT, TEST_S3_ACCESS_KEY, TEST_S3_SECRET_KEY)`,
    );
  }
  const written = JSON.parse(readFileSync(file, 'utf8')) as Partial<TestS3>;
  if (!written.endpoint || !written.accessKeyId || !written.secretAccessKey)
    throw new Error(`${file} lacks endpoint, accessKeyId or secretAccessKey`);
  return {
    endpoint: written.endpoint,
    accessKeyId: written.accessKeyId,
    secretAccessKey: written.secretAccessKey,
    region: written.region ?? region,
  };
}

/** A suite's own pair of buckets on the test store (`createTestBuckets`). */
export interface TestBuckets {
  s3: TestS3;
  /** Where uploads land before they are scanned. */
  quarantine: string;
  /** Where scanned objects are kept. */
  clean: string;
  /** Deletes every object (and unfinished multipart upload) in both buckets, then the buckets. */
  drop(): Promise<void>;
}

/**
 * Creates a fresh pair of buckets (`<prefix>-<random>-quarantine` and `-clean`)
 * on the test store, so suites never share objects. `prefix` is reduced to
 * what bucket names allow (lower-case letters, digits, hyphens) and shortened.
 */
export async function createTestBuckets(prefix: string): Promise<TestBuckets> {
  // Loaded on use, so suites that never touch S3 do not load the AWS SDK.
  const {
    S3Client,
    CreateBucketCommand,
    DeleteBucketCommand,
    DeleteObjectsCommand,
    ListObjectsV2Command,
    ListMultipartUploadsCommand,
    AbortMultipartUploadCommand,
  } = await import('@aws-sdk/client-s3');
  const s3 = testS3();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    forcePathStyle: true,
  });
  const base = `${
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 30) || 'test'
  }-${randomBytes(5).toString('hex')}`;
  const quarantine = `${base}-quarantine`;
  const clean = `${base}-clean`;
  const empty = async (bucket: string) => {
    for (;;) {
      const { Contents = [] } = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
      if (Contents.length === 0) break;
      await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: Contents.map(({ Key }) => ({ Key })), Quiet: true },
        }),
      );
    }
    const { Uploads = [] } = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const { Key, UploadId } of Uploads)
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
  };
  const created: string[] = [];
  const drop = async () => {
    try {
      for (const bucket of created) {
        await empty(bucket);
        await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      }
    } finally {
      client.destroy();
    }
  };
  try {
    for (const bucket of [quarantine, clean]) {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      created.push(bucket);
    }
  } catch (error) {
    await drop().catch(() => undefined);
    throw new Error(`could not create test buckets on ${s3.endpoint}: ${String(error)}`, { cause: error });
  }
  return { s3, quarantine, clean, drop };
}

/**
 * The standard EICAR anti-virus test file (68 bytes): harmless, and detected
 * by every scanner, including the clamd of `startClamd`.
 */
export const EICAR_TEST_FILE = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/**
 * A clamd of the test's own: Debian's `clamav-daemon` binary (installed by
 * `scripts/services.sh up`; `TEST_CLAMD_BIN` overrides), with a signature
 * database of one test signature and nothing else, so it starts in a fraction
 * of a second with no download. It detects `EICAR_TEST_FILE` at the start of a
 * scanned stream and answers `stream: Eicar-Test-Signature.UNOFFICIAL FOUND`
 * (clamd adds `.UNOFFICIAL` to signatures outside the official databases).
 * It listens on TCP at 127.0.0.1 on a free port (no unix socket), runs in the
 * foreground as the current user (root included), and is ready when it
 * answers `zPING` with `PONG`.
 */
export async function startClamd({
  streamMaxLength = '100M',
}: {
  /** clamd's StreamMaxLength: an INSTREAM longer than this is refused (`INSTREAM size limit exceeded. ERROR`). @default '100M' */
  streamMaxLength?: string;
} = {}): Promise<{ host: string; port: number; stop(): Promise<void> }> {
  const bin = process.env.TEST_CLAMD_BIN ?? (existsSync('/usr/sbin/clamd') ? '/usr/sbin/clamd' : 'clamd');
  const host = '127.0.0.1';
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'chat-clamd-'));
  const [db, temp, conf] = [join(dir, 'db'), join(dir, 'tmp'), join(dir, 'clamd.conf')];
  mkdirSync(db);
  mkdirSync(temp);
  // A body signature (.ndb: name, target type 0 = any file, offset 0 = at the start, hex bytes).
  writeFileSync(
    join(db, 'chat-test.ndb'),
    `Eicar-Test-Signature:0:0:${Buffer.from(EICAR_TEST_FILE).toString('hex')}\n`,
  );
  writeFileSync(
    conf,
    [
      `DatabaseDirectory ${db}`,
      `TemporaryDirectory ${temp}`,
      `TCPAddr ${host}`,
      `TCPSocket ${port}`,
      'Foreground yes',
      `StreamMaxLength ${streamMaxLength}`,
      'MaxThreads 4',
      'Bytecode no',
      'SelfCheck 0',
      '',
    ].join('\n'),
  );
  const child = spawn(bin, ['--config-file', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && !spawnError) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    keepOutput('clamd', output);
    rmSync(dir, { recursive: true, force: true });
  };
  const pong = () =>
    new Promise<boolean>((resolve) => {
      let answer = '';
      const socket = createConnection(port, host, () => socket.end('zPING\0'));
      socket.setTimeout(1_000, () => socket.destroy());
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('close', () => resolve(answer === 'PONG\0'));
      socket.on('error', () => undefined);
    });
  try {
    const whyGone = () => `exited with ${child.exitCode ?? child.signalCode}`;
    await waitUntilReady(pong, { what: 'clamd', gone: exited, whyGone });
  } catch (error) {
    await stop();
    const why = spawnError
      ? `could not run ${bin} (Debian: apt-get install clamav-daemon): ${spawnError.message}`
      : error instanceof GoneError
        ? error.message
        : (error as Error).message;
    throw new Error(`clamd: ${why}:\n${output}`, { cause: error });
  }
  return { host, port, stop };
}
