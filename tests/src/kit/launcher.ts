/**
 * Starts the product as real processes on loopback for end-to-end tests:
 * the gateway (`gateway/src/main.ts`, what `npm start` runs) and, for the
 * distributed topology, each subgraph's own server. Every process gets a free
 * port; output is kept and shown when a test fails to start one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The secrets every process of a test deployment shares, made fresh for each
 * test run (the repository holds no usable secret): the access-token signing
 * key, the gateway's internal-identity key and the password pepper.
 */
export const TEST_SECRETS: Readonly<Record<string, string>> = (() => {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  return {
    JWT_PRIVATE_KEYS: JSON.stringify({ keys: [{ ...jwk, kid: `test-${randomBytes(4).toString('hex')}`, alg: 'EdDSA' }] }),
    INTERNAL_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    PASSWORD_PEPPER: randomBytes(32).toString('base64url'),
  };
})();

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface Process {
  name: string;
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns `entry` (a path from the repo root) and waits until it is ready: its
 * GraphQL endpoint answers on `port`, or, with port 0 (a worker without a
 * server), it logged a line containing "ready".
 */
/** Starts one of the product's entry points as a child process on loopback, collecting its output. */
function spawnEntry(entry: string, env: Record<string, string>, port: number): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

export async function launch(name: string, entry: string, env: Record<string, string>, port: number): Promise<Process> {
  const { child, output: outputOf } = spawnEntry(entry, env, port);
  const url = `http://127.0.0.1:${port}/graphql`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = Date.now();
  const isReady = async (): Promise<boolean> => {
    if (port === 0) return /"msg":"[^"]*ready"/.test(outputOf());
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      return response.ok;
    } catch {
      return false; // not listening yet
    }
  };
  while (!(await isReady())) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${outputOf()}`);
    if (Date.now() - started > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not answer within 60 s:\n${outputOf()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return {
    name,
    url,
    child,
    output: outputOf,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      keepOutput(name, outputOf());
    },
  };
}

/** With TEST_PROCESS_LOGS set to a directory, each stopped process leaves its output there (for a failure's post-mortem). */
function keepOutput(name: string, output: string): void {
  const dir = process.env.TEST_PROCESS_LOGS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${Date.now()}-${process.pid}-${name}.log`), output);
}

export function tempDataDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'chat-e2e-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A database of its own on the test Postgres server, dropped afterwards. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `chat_test_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const dropper = new pg.Client({ connectionString: admin });
      await dropper.connect();
      try {
        // node-postgres reports a pool ended while its connections are still closing; FORCE would cut them, and a
        // client cut that way throws in the test's process. So wait for the suite's own connections to go (a few
        // ms), and force only what is left after that (a process that was killed, say).
        const deadline = Date.now() + 5_000;
        while (Date.now() < deadline) {
          const { rows } = await dropper.query<{ open: number }>('SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = $1', [name]);
          if (!rows[0]?.open) break;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

export const testRedisUrl = (): string => process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * A Redis server of the test's own on a free port (to restart it mid-test
 * without disturbing others). `restart` keeps the port.
 */
export async function startRedis({ password, tls = false }: {
  /** Clients must authenticate with this (`requirepass`); the URL carries it. @default none */
  password?: string;
  /**
   * Only TLS (the URL is `rediss://`), with a certificate from a CA of the
   * test's own (`caFile`: give it to clients, e.g. as NODE_EXTRA_CA_CERTS).
   */
  tls?: boolean;
} = {}): Promise<{ url: string; caFile?: string; stop(): Promise<void>; start(): Promise<void> }> {
  const port = await freePort();
  let certificates: TestCertificates | undefined;
  if (tls) {
    const dir = mkdtempSync(join(tmpdir(), 'chat-redis-tls-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    certificates = await makeTestCertificates(dir);
  }
  let child: ChildProcess | undefined;
  const start = async () => {
    const auth = password ? ['--requirepass', password] : [];
    const listen = certificates
      ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', certificates.certFile, '--tls-key-file', certificates.keyFile]
      : ['--port', String(port)];
    const tlsClients = certificates ? ['--tls-ca-cert-file', certificates.caFile, '--tls-auth-clients', 'no'] : [];
    child = spawn('redis-server', [...listen, ...tlsClients, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...auth], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = createConnection(port, '127.0.0.1', () => {
          socket.end();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (up) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('redis-server did not start');
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  const scheme = certificates ? 'rediss' : 'redis';
  return { url: `${scheme}://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${port}`, caFile: certificates?.caFile, start, stop };
}

/**
 * A Kafka broker of the test's own (scripts/services/kafka/kafka.sh on free
 * ports with its own state directory), to stop and start mid-test. With
 * `sasl`, its listener is SASL_PLAINTEXT and admits only that user (PLAIN).
 */
export async function startKafka({ sasl }: {
  /** The only account clients may authenticate as (letters, digits, . _ ~ -). @default no authentication */
  sasl?: { username: string; password: string };
} = {}): Promise<{ brokers: string; up(): Promise<void>; down(): Promise<void>; remove(): Promise<void> }> {
  const [port, controllerPort] = [await freePort(), await freePort()];
  const state = mkdtempSync(join(tmpdir(), 'chat-kafka-'));
  const run = (command: 'up' | 'down') =>
    new Promise<void>((resolve, reject) => {
      let output = '';
      const child = spawn('bash', [join(ROOT, 'scripts/services/kafka/kafka.sh'), command], {
        env: {
          ...process.env,
          KAFKA_PORT: String(port),
          KAFKA_CONTROLLER_PORT: String(controllerPort),
          KAFKA_STATE_DIR: state,
          KAFKA_CDS: '0',
          ...(sasl ? { KAFKA_SASL_USERS: `${sasl.username}:${sasl.password}` } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kafka.sh ${command} exited with ${code}:\n${output}`))));
    });
  await run('up');
  return {
    brokers: `127.0.0.1:${port}`,
    up: () => run('up'),
    down: () => run('down'),
    remove: async () => {
      await run('down');
      rmSync(state, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `entry` (a path from the repo root) as `launch` would, for a process
 * expected not to start: waits until it exits, at most `timeoutMs`.
 * @throws when it is still running then (it is killed first).
 */
export async function runToExit(
  name: string,
  entry: string,
  env: Record<string, string>,
  { timeoutMs = 60_000 }: { timeoutMs?: number } = {},
): Promise<{ code: number | null; output: string }> {
  const { child, output: outputOf } = spawnEntry(entry, env, await freePort());
  const code = await new Promise<number | null | 'timeout'>((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  if (code === 'timeout') {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    keepOutput(name, outputOf());
    throw new Error(`${name} was still running after ${timeoutMs} ms:\n${outputOf()}`);
  }
  keepOutput(name, outputOf());
  return { code, output: outputOf() };
}

/** Runs a command to completion. @throws with its output when it fails. */
function run(command: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}

export interface TestCertificates {
  /** The CA's certificate (PEM): what clients trust. */
  caFile: string;
  /** The server's certificate, signed by the CA, for 127.0.0.1 and localhost. */
  certFile: string;
  keyFile: string;
}

/**
 * A throw-away CA and a server certificate it signed for 127.0.0.1 and
 * localhost, written into `dir` (openssl; Debian's postgresql package pulls
 * it in).
 */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  const file = (name: string) => join(dir, name);
  const [caKey, caFile, keyFile, csr, certFile, ext] = [file('ca.key'), file('ca.crt'), file('server.key'), file('server.csr'), file('server.crt'), file('server.ext')];
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = ['-subj', '/CN=chat test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  await run('openssl', ['req', '-x509', ...ecKey, ...ca, '-days', '2', '-keyout', caKey, '-out', caFile]);
  await run('openssl', ['req', ...ecKey, '-subj', '/CN=127.0.0.1', '-keyout', keyFile, '-out', csr]);
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-out', certFile, '-extfile', ext]);
  chmodSync(keyFile, 0o600); // servers refuse a key others may read
  return { caFile, certFile, keyFile };
}

/** The directory of the newest installed Postgres server binaries (TEST_PG_BIN overrides). */
function postgresBin(): string {
  if (process.env.TEST_PG_BIN) return process.env.TEST_PG_BIN;
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('no Postgres server binaries in /usr/lib/postgresql/<version>/bin (Debian: apt-get install postgresql; or set TEST_PG_BIN)');
  return `/usr/lib/postgresql/${newest}/bin`;
}

export interface SecurePostgres {
  /** The application's URL: a password-protected login role (not a superuser) that owns its database. */
  url: string;
  /** The superuser's URL (also password-protected). */
  adminUrl: string;
  /** With `tls`: the CA the server's certificate chains to (the URLs name it as sslrootcert). */
  caFile?: string;
  stop(): Promise<void>;
}

/**
 * A Postgres server of the test's own that checks passwords (scram-sha-256
 * for every connection, local ones included): initdb into a temporary
 * directory, the superuser's password from a file, listening on 127.0.0.1 at
 * a free port, its unix sockets in that directory. It holds one database,
 * owned by a login role that is not a superuser. With `tls`, connections
 * over TCP must use TLS (hostssl only), and the URLs verify the server's
 * certificate (`sslmode=verify-full&sslrootcert=`).
 *
 * initdb refuses to run as root: as root, the server runs as the `postgres`
 * user (which Debian's package creates).
 */
export async function startSecurePostgres({ tls = false }: { tls?: boolean } = {}): Promise<SecurePostgres> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'chat-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const asServer = (command: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, command), ...args]) : run(join(bin, command), args));
  const secret = () => randomBytes(18).toString('base64url');
  const superuserPassword = secret();
  const password = secret();
  const port = await freePort();
  let started = false;
  const stop = async () => {
    if (started) await asServer('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w']).catch(() => undefined);
    started = false;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pwfile = join(dir, 'superuser-password');
    writeFileSync(pwfile, `${superuserPassword}\n`, { mode: 0o600 });
    const certificates = tls ? await makeTestCertificates(dir) : undefined;
    if (asRoot) {
      const uid = Number((await run('id', ['-u', 'postgres'])).trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).trim());
      for (const file of [dir, ...readdirSync(dir).map((name) => join(dir, name))]) chownSync(file, uid, gid);
    }
    await asServer('initdb', ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync']);
    if (certificates) {
      // TCP only with TLS: no `host` rule is left for a plaintext connection to match.
      const hba = join(data, 'pg_hba.conf');
      writeFileSync(hba, readFileSync(hba, 'utf8').replace(/^host(\s)/gm, 'hostssl$1'));
    }
    const settings = [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      // Throw-away data: no durability, little memory.
      '-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=100',
      ...(certificates ? [`-c ssl=on -c ssl_cert_file=${certificates.certFile} -c ssl_key_file=${certificates.keyFile}`] : []),
    ].join(' ');
    started = true; // from here on `stop` stops it, even after a start that timed out
    await asServer('pg_ctl', ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'postgres.log'), '-o', settings]);
    const tlsQuery = certificates ? `?sslmode=verify-full&sslrootcert=${encodeURIComponent(certificates.caFile)}` : '';
    const adminUrl = `postgresql://postgres:${superuserPassword}@127.0.0.1:${port}/postgres${tlsQuery}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE chat LOGIN PASSWORD '${password}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION`);
      await admin.query('CREATE DATABASE chat OWNER chat');
    } finally {
      await admin.end();
    }
    return { url: `postgresql://chat:${password}@127.0.0.1:${port}/chat${tlsQuery}`, adminUrl, caFile: certificates?.caFile, stop };
  } catch (error) {
    const log = existsSync(join(dir, 'postgres.log')) ? readFileSync(join(dir, 'postgres.log'), 'utf8') : '';
    await stop();
    throw new Error(`could not start a secure Postgres: ${String(error)}${log ? `\n---- postgres.log\n${log}` : ''}`);
  }
}

/** How to reach the S3-compatible store of the tests, and as whom. */
export interface TestS3 {
  /** e.g. `http://127.0.0.1:9300`; use path-style addressing (`forcePathStyle: true`). */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The region to sign for (S3Proxy accepts any). @default us-east-1 */
  region: string;
}

/**
 * The S3-compatible store the tests use: `TEST_S3_ENDPOINT`, `TEST_S3_ACCESS_KEY`,
 * `TEST_S3_SECRET_KEY` (and `TEST_S3_REGION`) when set, otherwise the S3Proxy that
 * `scripts/services.sh up` runs, whose endpoint and generated credentials
 * `scripts/services/s3proxy/s3proxy.sh` writes to `credentials.json` in its state directory.
 * @throws when neither is there, saying how to get one
 */
/** Where `scripts/services/s3proxy/s3proxy.sh` keeps its state: one directory per user, shared by every checkout. */
function s3proxyStateDir(): string {
  return process.env.S3PROXY_STATE_DIR ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'federated-chat', 's3proxy');
}

export function testS3(): TestS3 {
  const { TEST_S3_ENDPOINT: endpoint, TEST_S3_ACCESS_KEY: accessKeyId, TEST_S3_SECRET_KEY: secretAccessKey } = process.env;
  const region = process.env.TEST_S3_REGION ?? 'us-east-1';
  if (endpoint) {
    if (!accessKeyId || !secretAccessKey) throw new Error('TEST_S3_ENDPOINT is set: set TEST_S3_ACCESS_KEY and TEST_S3_SECRET_KEY too');
    return { endpoint, accessKeyId, secretAccessKey, region };
  }
  const file = join(s3proxyStateDir(), 'credentials.json');
  if (!existsSync(file)) {
    throw new Error(`no S3 store for the tests: ${file} is missing (run \`npm run services:up\`, or set TEST_S3_ENDPOINT, TEST_S3_ACCESS_KEY, TEST_S3_SECRET_KEY)`);
  }
  const written = JSON.parse(readFileSync(file, 'utf8')) as Partial<TestS3>;
  if (!written.endpoint || !written.accessKeyId || !written.secretAccessKey) throw new Error(`${file} lacks endpoint, accessKeyId or secretAccessKey`);
  return { endpoint: written.endpoint, accessKeyId: written.accessKeyId, secretAccessKey: written.secretAccessKey, region: written.region ?? region };
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
  const { S3Client, CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, ListMultipartUploadsCommand, AbortMultipartUploadCommand } =
    await import('@aws-sdk/client-s3');
  const s3 = testS3();
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    forcePathStyle: true,
  });
  const base = `${prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 30) || 'test'}-${randomBytes(5).toString('hex')}`;
  const quarantine = `${base}-quarantine`;
  const clean = `${base}-clean`;
  const empty = async (bucket: string) => {
    for (;;) {
      const { Contents = [] } = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
      if (Contents.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: Contents.map(({ Key }) => ({ Key })), Quiet: true } }));
    }
    const { Uploads = [] } = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const { Key, UploadId } of Uploads) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
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
    throw new Error(`could not create test buckets on ${s3.endpoint}: ${String(error)}`);
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
export async function startClamd({ streamMaxLength = '100M' }: {
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
  writeFileSync(join(db, 'chat-test.ndb'), `Eicar-Test-Signature:0:0:${Buffer.from(EICAR_TEST_FILE).toString('hex')}\n`);
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
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
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
  const started = Date.now();
  while (!(await pong())) {
    if (spawnError || child.exitCode !== null || Date.now() - started > 30_000) {
      await stop();
      const why = spawnError ? `could not run ${bin} (Debian: apt-get install clamav-daemon): ${spawnError.message}` : child.exitCode !== null ? `exited with ${child.exitCode}` : 'did not answer PING within 30 s';
      throw new Error(`clamd ${why}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { host, port, stop };
}
