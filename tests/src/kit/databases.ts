/**
 * The relational stores of the tests: data directories for embedded
 * gateways, a database of a suite's own on the shared test Postgres, and a
 * password-checking Postgres server of a test's own.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { makeTestCertificates } from './certificates.ts';
import { copyMigratedPglite } from './pglite-template.ts';
import { freePort, runCommand as run } from './processes.ts';
import { BACKSTOP_MS } from './readiness.ts';

/** An empty directory of the test's own (a gateway's DATA_DIR, say), and how to remove it. */
export function tempDataDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'chat-e2e-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A data directory for an embedded gateway whose database is already
 * created and migrated (copied from a template made once per set of
 * migrations; see `pglite-template.ts`): the gateway opens it in a fraction
 * of the time a fresh one takes. A suite that tests the very first start
 * uses `tempDataDir` instead.
 */
export async function migratedDataDir(): Promise<{ path: string; remove(): void }> {
  const dir = tempDataDir();
  try {
    await addMigratedDatabase(dir.path);
  } catch (error) {
    dir.remove();
    throw error;
  }
  return dir;
}

/** Puts a created and migrated embedded database into a gateway's `dataDir`, as `migratedDataDir` does. */
export async function addMigratedDatabase(dataDir: string): Promise<void> {
  await copyMigratedPglite(join(dataDir, 'pglite'));
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
          const { rows } = await dropper.query<{ open: number }>(
            'SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = $1',
            [name],
          );
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

/** The directory of the newest installed Postgres server binaries (TEST_PG_BIN overrides). */
function postgresBin(): string {
  if (process.env.TEST_PG_BIN) return process.env.TEST_PG_BIN;
  const versions = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest)
    throw new Error(
      'no Postgres server binaries in /usr/lib/postgresql/<version>/bin (Debian: apt-get install postgresql; or set TEST_PG_BIN)',
    );
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
  const asServer = (command: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, command), ...args]) : run(join(bin, command), args);
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
    await asServer('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
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
      ...(certificates
        ? [`-c ssl=on -c ssl_cert_file=${certificates.certFile} -c ssl_key_file=${certificates.keyFile}`]
        : []),
    ].join(' ');
    started = true; // from here on `stop` stops it, even after a start that timed out
    // pg_ctl gives up after -t seconds (and reports the server's own exit at once): wait as long as the kit's backstop.
    const waitSeconds = String(Math.ceil(BACKSTOP_MS / 1000));
    await asServer('pg_ctl', [
      'start',
      '-D',
      data,
      '-w',
      '-t',
      waitSeconds,
      '-l',
      join(dir, 'postgres.log'),
      '-o',
      settings,
    ]);
    const tlsQuery = certificates ? `?sslmode=verify-full&sslrootcert=${encodeURIComponent(certificates.caFile)}` : '';
    const adminUrl = `postgresql://postgres:${superuserPassword}@127.0.0.1:${port}/postgres${tlsQuery}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(
        `CREATE ROLE chat LOGIN PASSWORD '${password}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION`,
      );
      await admin.query('CREATE DATABASE chat OWNER chat');
    } finally {
      await admin.end();
    }
    return {
      url: `postgresql://chat:${password}@127.0.0.1:${port}/chat${tlsQuery}`,
      adminUrl,
      caFile: certificates?.caFile,
      stop,
    };
  } catch (error) {
    const log = existsSync(join(dir, 'postgres.log')) ? readFileSync(join(dir, 'postgres.log'), 'utf8') : '';
    await stop();
    throw new Error(`could not start a secure Postgres: ${String(error)}${log ? `\n---- postgres.log\n${log}` : ''}`, {
      cause: error,
    });
  }
}
