// SPDX-License-Identifier: Apache-2.0
// The web store on PostgreSQL, for an index whose state lives there (several `bulwark serve`
// processes share sessions, passwords and the CSRF secret through it). Its own small pool and
// its own tables, created when missing; the conventions of pg-state.ts (pg-pool.ts): INT8 as a
// number, SERIALIZABLE writes retried on conflicts, "C" collation on the text columns it
// compares, the URL redacted in errors. The reads are the SQL it shares with SQLite
// (web-store-sql.ts).
import pg from 'pg';
import { connectPool, inTransaction, SCHEMA_LOCK } from './pg-pool.js';
import type { Row } from './rows.js';
import { POSTGRES_DIALECT, SqlWebStore, type Query } from './web-store-sql.js';

/** The SQLite schema's columns; BYTEA for BLOB; needs the index's users table. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS web_passwords (
  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  hash TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS web_sessions (
  id_hash TEXT COLLATE "C" PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at TEXT COLLATE "C" NOT NULL, expires_at TEXT COLLATE "C" NOT NULL);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions(user_id);
CREATE TABLE IF NOT EXISTS web_secrets (name TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS web_signin_failures (key TEXT COLLATE "C" NOT NULL, at_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS web_signin_failures_key ON web_signin_failures(key, at_ms);
CREATE INDEX IF NOT EXISTS web_signin_failures_at ON web_signin_failures(at_ms);
CREATE TABLE IF NOT EXISTS web_descriptions (
  metadata_sha256 TEXT COLLATE "C" PRIMARY KEY, renderer TEXT COLLATE "C" NOT NULL,
  html TEXT, summary TEXT, requires_python TEXT);
`;
/** Sessions that passed the second factor (two-factor sign-in or enrolment). */
const SESSION_FACTORS_TABLE = `CREATE TABLE IF NOT EXISTS web_session_factors (
  id_hash TEXT COLLATE "C" PRIMARY KEY REFERENCES web_sessions(id_hash) ON DELETE CASCADE, passed_at TEXT NOT NULL)`;
/** Created last by SCHEMA: an older database without it gets the missing tables (all IF NOT EXISTS). */
const LAST_TABLE = 'web_descriptions';

/**
 * Tables added after SCHEMA (web_session_factors, for two-factor sessions), created at connect
 * when missing, on a new database and an older one alike: a cheap catalog read when present.
 */
async function upgrade(c: pg.PoolClient): Promise<void> {
  const exists = await c.query("SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'web_session_factors' AND relnamespace = current_schema()::regnamespace) AS ok");
  if (exists.rows[0]?.ok === true) return;
  await c.query('BEGIN');
  await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
  await c.query(SESSION_FACTORS_TABLE);
  await c.query('COMMIT');
}

const numberedSql = new Map<string, string>();

/** The shared SQL's `?` placeholders as $1, $2, … (it has no `?` anywhere else). */
function numbered(sql: string): string {
  let out = numberedSql.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    numberedSql.set(sql, out);
  }
  return out;
}

async function rows(c: pg.Pool | pg.PoolClient, sql: string, args: readonly unknown[]): Promise<Row[]> {
  return (await c.query(numbered(sql), [...args])).rows as Row[];
}

export interface PgWebStoreOptions {
  /** Connections in this store's pool (default 4: page requests are short). */
  maxConnections?: number;
}

/** A password as the embedded web store keeps it (for moving it in). */
export interface PasswordRow {
  user_id: number;
  hash: string;
  updated_at: string;
}

export class PgWebStore extends SqlWebStore {
  private constructor(private readonly pool: pg.Pool) {
    super(POSTGRES_DIALECT);
  }

  /** Connects and creates the web tables when missing (the index's tables must exist). */
  static async connect(url: string, opts: PgWebStoreOptions = {}): Promise<PgWebStore> {
    return new PgWebStore(await connectPool(url, opts.maxConnections ?? 4, { what: 'web store', sql: SCHEMA, lastTable: LAST_TABLE, upgrade }));
  }

  protected all(sql: string, args: readonly unknown[] = []): Promise<Row[]> {
    return rows(this.pool, sql, args);
  }

  protected async run(sql: string, args: readonly unknown[] = []): Promise<number> {
    return (await this.pool.query(numbered(sql), [...args])).rowCount ?? 0;
  }

  protected snapshot<T>(fn: (all: Query) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, 'snapshot', (c) => fn((sql, args = []) => rows(c, sql, args)));
  }

  private write(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    return inTransaction(this.pool, 'serializable', fn);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * The first INSERT wins and every process reads the winner's value: two processes that start
   * at once sign their CSRF tokens with the same key.
   */
  async secret(name: string, make: () => Buffer): Promise<Buffer> {
    const read = async () => (await this.one('SELECT value FROM web_secrets WHERE name = ?', [name]))?.['value'] as Buffer | undefined;
    const existing = await read();
    if (existing) return existing;
    await this.pool.query('INSERT INTO web_secrets(name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, make()]);
    const value = await read();
    if (!value) throw new Error(`the web secret ${name} was not stored`);
    return value;
  }

  setPassword(userId: number, hash: string, now: string, keepSessionHash?: string): Promise<void> {
    return this.write(async (c) => {
      await c.query(
        'INSERT INTO web_passwords(user_id, hash, updated_at) VALUES ($1, $2, $3) ON CONFLICT(user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at',
        [userId, hash, now]
      );
      await c.query('DELETE FROM web_sessions WHERE user_id = $1 AND id_hash IS DISTINCT FROM $2', [userId, keepSessionHash ?? null]);
    });
  }

  /** True when no account has a web password here yet. */
  async hasNoPasswords(): Promise<boolean> {
    return (await this.one('SELECT NOT EXISTS (SELECT 1 FROM web_passwords) AS none'))?.['none'] === true;
  }

  /**
   * Copies the passwords of an embedded state that moved here, if and only if no account has a
   * password here yet (so once, and never over a password set since); rows of users that do not
   * exist here are skipped. Processes that race copy the same rows once.
   */
  importPasswords(rows: readonly PasswordRow[]): Promise<void> {
    return this.write(async (c) => {
      await c.query(
        `INSERT INTO web_passwords(user_id, hash, updated_at)
         SELECT u.user_id, u.hash, u.updated_at FROM unnest($1::int[], $2::text[], $3::text[]) AS u(user_id, hash, updated_at)
         WHERE NOT EXISTS (SELECT 1 FROM web_passwords) AND EXISTS (SELECT 1 FROM users WHERE users.id = u.user_id)
         ON CONFLICT (user_id) DO NOTHING`,
        [rows.map((r) => r.user_id), rows.map((r) => r.hash), rows.map((r) => r.updated_at)]
      );
    });
  }

  createSession(idHash: string, userId: number, now: Date, lifetimeMs: number, twoFactor = false): Promise<void> {
    return this.write(async (c) => {
      await c.query('DELETE FROM web_sessions WHERE expires_at <= $1', [now.toISOString()]);
      await c.query('INSERT INTO web_sessions(id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [
        idHash,
        userId,
        now.toISOString(),
        new Date(now.getTime() + lifetimeMs).toISOString(),
      ]);
      if (twoFactor) await c.query('INSERT INTO web_session_factors(id_hash, passed_at) VALUES ($1, $2)', [idHash, now.toISOString()]);
    });
  }

  secondFactorPassed(idHash: string, userId: number, now: Date): Promise<void> {
    return this.write(async (c) => {
      await c.query('INSERT INTO web_session_factors(id_hash, passed_at) VALUES ($1, $2) ON CONFLICT(id_hash) DO NOTHING', [idHash, now.toISOString()]);
      await c.query('DELETE FROM web_sessions WHERE user_id = $1 AND id_hash <> $2', [userId, idHash]);
    });
  }
}
