/**
 * The relational stores of the history scenario: a database of its own on
 * the Postgres server (created, migrated with the project's own migrations,
 * dropped), and an embedded PGlite directory seeded before its gateway
 * starts (PGlite serves one process: the gateway then owns it).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { applyMigrations, openDatabase } from '@chat/prisma';
import pg from 'pg';
import type { HistoryDataset } from './dataset.ts';
import { checkSeededSql, seedSql } from './seed-sql.ts';

export interface SeedOptions {
  /** Whether message rows go to this database (Postgres history) or not (Cassandra history). */
  withHistory: boolean;
  progress(message: string): void;
}

/** A database of the Postgres server at `adminUrl`, named `name`. */
export class PostgresDatabase {
  readonly url: string;

  constructor(
    private readonly adminUrl: string,
    readonly name: string,
  ) {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    this.url = url.toString();
  }

  async #admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  async #session<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  async exists(): Promise<boolean> {
    return this.#admin(
      async (client) =>
        (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [this.name])).rowCount === 1,
    );
  }

  /** Creates the database (empty) and applies the project's migrations, as a gateway would at start. */
  async create(): Promise<void> {
    await this.#admin((client) => client.query(`CREATE DATABASE ${this.name}`));
    await this.#session(async (client) => {
      await applyMigrations({
        query: async (sql, params) => (await client.query(sql, params)).rows as Record<string, unknown>[],
        exec: async (sql) => void (await client.query(sql)),
      });
    });
  }

  async seed(data: HistoryDataset, options: SeedOptions): Promise<void> {
    await this.#session(async (client) => {
      await client.query('SET synchronous_commit = off');
      await seedSql((sql, params) => client.query(sql, params), data, options);
      if (options.withHistory)
        await checkSeededSql(async (sql, params) => (await client.query(sql, params)).rows, data);
    });
  }

  /** Size on disk of the history tables (table, indexes, TOAST), for the report. */
  async sizes(): Promise<string> {
    return this.#session(async (client) => {
      const { rows } = await client.query<{ name: string; size: string }>(
        `SELECT relname AS name, pg_size_pretty(pg_total_relation_size(oid)) AS size FROM pg_class WHERE relname IN ('messages', 'message_seqs') ORDER BY relname`,
      );
      return rows.map((row) => `${row.name} ${row.size}`).join(', ');
    });
  }

  /** `EXPLAIN (ANALYZE, BUFFERS)` of a statement, for looking into slow pages. */
  async explain(sql: string, params: unknown[]): Promise<string> {
    return this.#session(async (client) => {
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
  }

  async drop(): Promise<void> {
    await this.#admin((client) => client.query(`DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`));
  }
}

/**
 * Seeds an embedded database in `dataDir` (the gateway's DATA_DIR) through
 * the project's own opener, which creates it and applies the migrations;
 * closed again before the gateway takes the directory.
 */
export async function seedEmbedded(dataDir: string, data: HistoryDataset, options: SeedOptions): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const db = await openDatabase({ kind: 'embedded', dataDir: join(dataDir, 'pglite') });
  try {
    await seedSql((sql, params = []) => db.prisma.$executeRawUnsafe(sql, ...params), data, options);
    await checkSeededSql((sql, params) => db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(sql, ...params), data);
  } finally {
    await db.close();
  }
}
