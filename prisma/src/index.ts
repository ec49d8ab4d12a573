/**
 * The one home of relational data access: opens the database chosen by
 * configuration (embedded PGlite, or a real Postgres server), applies pending
 * migrations, and hands out a Prisma client. Both modes run the same client
 * and the same SQL migrations.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import pg from 'pg';
import { Prisma, PrismaClient } from './generated/prisma/client.ts';
import { applyMigrations, type SqlSession } from './migrate.ts';

export { Prisma, PrismaClient } from './generated/prisma/client.ts';
export type * from './generated/prisma/client.ts';
export { ChatKind, ChatRole, PresenceStatus } from './generated/prisma/enums.ts';
export { applyMigrations, listMigrations } from './migrate.ts';
export { migratedTemplate, migratedTemplateKey } from './template.ts';

/**
 * Whether a Prisma error is a unique-constraint violation: P2002 from the
 * query builder, or P2010 carrying Postgres' 23505 from raw SQL (driver
 * adapters report it that way).
 */
export function isUniqueViolation(error: unknown): error is Prisma.PrismaClientKnownRequestError {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  return (
    error.code === 'P2002' || (error.code === 'P2010' && /\b23505\b|UniqueConstraintViolation/.test(error.message))
  );
}

/**
 * The first connection to the Postgres server failed: it refused the
 * credentials, or could not be reached. The message names the store and shows
 * DATABASE_URL with its password masked; `cause` is the driver's error.
 */
export class DatabaseConnectionError extends Error {
  override name = 'DatabaseConnectionError';
  /**
   * The server refused the login (SQLSTATE class 28: a wrong password, an
   * unknown role, a pg_hba.conf rule): a configuration error, not an outage.
   */
  readonly rejectedCredentials: boolean;

  constructor(url: string, cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    const rejected = typeof code === 'string' && code.startsWith('28');
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      rejected
        ? `Postgres at ${redactUrl(url)} refused the credentials in DATABASE_URL: ${reason}`
        : `cannot connect to Postgres at ${redactUrl(url)} (DATABASE_URL): ${reason}`,
      { cause },
    );
    this.rejectedCredentials = rejected;
  }
}

export type DatabaseConfig =
  /**
   * A Postgres server, e.g. `postgresql://user:pass@host:5432/db`, with TLS
   * `?sslmode=verify-full&sslrootcert=/path/ca.pem` (node-postgres verifies
   * the certificate for `require` too; `no-verify` does not). Everything
   * node-postgres reads in a connection string applies (`sslcert`, `sslkey`,
   * `application_name`, `options`, ...). `workerId` asks for that Snowflake
   * worker number instead of any free one.
   */
  | { kind: 'postgres'; url: string; poolSize?: number; workerId?: number }
  /**
   * Embedded Postgres (PGlite) kept in `dataDir`; `memory://` keeps nothing.
   * `loadDataDir` starts it from a dump instead of an empty directory (tests:
   * `migratedTemplate()`).
   */
  | { kind: 'embedded'; dataDir: string; loadDataDir?: Blob };

export interface Database {
  prisma: PrismaClient;
  /**
   * A Snowflake worker number no other live process on this database holds:
   * 0 for the embedded database (one process per data directory), otherwise
   * taken with a session-level advisory lock that Postgres frees when the
   * holding process dies.
   */
  workerId: number;
  close(): Promise<void>;
}

const MIGRATION_LOCK = 727274;
const WORKER_LOCK_SPACE = 727275;

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  if (config.kind === 'embedded') {
    if (!config.dataDir.startsWith('memory://')) mkdirSync(config.dataDir, { recursive: true });
    // pg_trgm backs user search (the migrations create it, as on a Postgres server).
    const lite = await PGlite.create(config.dataDir, { extensions: { pg_trgm }, loadDataDir: config.loadDataDir });
    // PGlite serves one connection; the process is the only writer, so no lock.
    await applyMigrations({
      query: async (sql, params) => (await lite.query<Record<string, unknown>>(sql, params)).rows,
      exec: async (sql) => void (await lite.exec(sql)),
    });
    const prisma = new PrismaClient({ adapter: new PrismaPGlite(lite) });
    return {
      prisma,
      workerId: 0,
      close: async () => {
        await prisma.$disconnect();
        await lite.close();
      },
    };
  }

  const pool = openPool(config.url, config.poolSize ?? 10);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new DatabaseConnectionError(config.url, error);
  }
  try {
    const session: SqlSession = {
      query: async (sql, params) => (await client.query(sql, params)).rows,
      exec: async (sql) => void (await client.query(sql)),
    };
    // Several processes may start at once against one database: serialize.
    await client.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
    try {
      await applyMigrations(session);
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`);
    }
  } finally {
    client.release();
  }
  let claim: Awaited<ReturnType<typeof claimWorkerId>>;
  try {
    claim = await claimWorkerId(config.url, config.workerId);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const { workerId, release } = claim;
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    workerId,
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
      await release();
    },
  };
}

/**
 * A pool on `url`, parsed by node-postgres itself for every connection it
 * opens, so whatever it understands in the URL (credentials, TLS settings and
 * files) applies. node-postgres hides a `password` option from logs and
 * stack traces, not a connection string: hide that the same way.
 */
function openPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  Object.defineProperty(pool.options, 'connectionString', { enumerable: false });
  return pool;
}

/** `url` with its password replaced by `***`. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an invalid URL)';
  }
}

async function claimWorkerId(
  url: string,
  wanted?: number,
): Promise<{ workerId: number; release: () => Promise<void> }> {
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  const tryLock = async (candidate: number) =>
    (await holder.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [WORKER_LOCK_SPACE, candidate]))
      .rows[0]?.ok === true;
  if (wanted !== undefined) {
    if (await tryLock(wanted)) return { workerId: wanted, release: () => holder.end() };
    await holder.end();
    throw new WorkerIdInUseError(`Snowflake worker ${wanted} (WORKER_ID) is held by another live process`);
  }
  const start = Math.floor(Math.random() * 1024);
  for (let i = 0; i < 1024; i++) {
    const candidate = (start + i) % 1024;
    if (await tryLock(candidate)) return { workerId: candidate, release: () => holder.end() };
  }
  await holder.end();
  throw new WorkerIdInUseError('all 1024 Snowflake worker numbers are held by live processes');
}

export class WorkerIdInUseError extends Error {
  override name = 'WorkerIdInUseError';
}
