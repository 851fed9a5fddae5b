// SPDX-License-Identifier: Apache-2.0
// The conventions every PostgreSQL store of Bulwark follows (the index's state in pg-state.ts,
// the web pages' store in pg-web-store.ts), in one place so that they cannot drift apart:
//  - INT8 (COUNT, BIGINT columns) comes back as a JS number;
//  - every parameterized query is a named prepared statement on its connection;
//  - a store creates its tables in ONE transaction under an advisory lock, so that processes
//    starting at once neither race nor take DDL locks once the tables exist;
//  - writes run at SERIALIZABLE and are retried from the start on a serialization failure or a
//    deadlock;
//  - messages name the database by a URL without its password.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { ConfigurationError } from '../configuration-error.js';

/** Key for the advisory lock that serializes schema creation between processes. */
export const SCHEMA_LOCK = 0x42756c77; // "Bulw"

/** SQLSTATEs after which a transaction is run again: serialization failure, deadlock. */
export const RETRYABLE = new Set(['40001', '40P01']);
export const MAX_ATTEMPTS = 50;

/** A password-free form of a connection URL, for messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

export function sqlState(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
}

/** How long to wait before another attempt: backoff with jitter, so that colliders spread out. */
export function retryDelay(attempt: number): Promise<void> {
  const ms = Math.min(200, 2 ** Math.min(attempt, 7)) * Math.random();
  return new Promise((r) => setTimeout(r, ms));
}

/** INT8 (COUNT, BIGINT columns) as a JS number: every value we store is far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === 20 && format !== 'binary') return (v: string) => Number(v);
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

/** Statement names by SQL text (a name is prepared once per connection, then reused). */
const statementNames = new Map<string, string>();

/**
 * Makes every parameterized query on this connection a named prepared statement: PostgreSQL
 * parses and plans each distinct SQL text once per connection instead of at every execution.
 * The cluster benchmark showed planning as a large share of the database's CPU per upload.
 */
function preparingQueries(client: pg.PoolClient): void {
  const plain = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (text: unknown, values?: unknown, ...rest: unknown[]) => {
    if (typeof text !== 'string' || !Array.isArray(values) || rest.length > 0) return plain(text, values, ...rest);
    let name = statementNames.get(text);
    if (name === undefined) {
      name = `bulwark_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      statementNames.set(text, name);
    }
    return plain({ name, text, values });
  };
}

export interface SchemaSpec {
  /** What the store is, for messages ("state store", "web store"). */
  what: string;
  /** CREATE … IF NOT EXISTS statements. */
  sql: string;
  /** The table `sql` creates last: when it exists, all of them do. */
  lastTable: string;
  /** Brings a schema an earlier release created up to date (runs at every connect: make it cheap). */
  upgrade?: (c: pg.PoolClient) => Promise<void>;
}

/**
 * The URL leads nowhere usable: no server there, refused credentials, no such database. The
 * setting is what to fix; any other failure while creating the tables is ours.
 */
function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  // SQLSTATE classes 08 (connection exception), 28 (invalid authorization), 3D (no such database).
  if (/^(08|28|3D)[0-9A-Z]{3}$/.test(code)) return true;
  return ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ENOENT'].includes(code);
}

/**
 * A pool on `url` whose tables exist: creates them when missing (safe when several processes
 * start at once). Errors name the database by its redacted URL.
 */
export async function connectPool(url: string, maxConnections: number, schema: SchemaSpec): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections, types });
  // An idle connection that the server drops must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  pool.on('connect', preparingQueries);
  try {
    // The whole schema is created in one transaction, its last table last: when that exists,
    // everything does, and a process joining a running cluster takes no DDL lock at all
    // (CREATE INDEX IF NOT EXISTS locks its table even when the index exists).
    // pg_class itself, not to_regclass(): a name lookup that found nothing is cached by the
    // connection until its next transaction starts, so after waiting for the lock inside the
    // transaction it would still miss the tables another process just committed, and create
    // them again: CREATE INDEX IF NOT EXISTS then locks tables that process is writing, which
    // deadlocked two processes moving an embedded state in at once.
    const exists = async (c: pg.PoolClient) =>
      (
        await c.query(
          'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND n.nspname = current_schema()) AS ok',
          [schema.lastTable]
        )
      ).rows[0]?.ok === true;
    const client = await pool.connect();
    try {
      if (!(await exists(client))) {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        if (!(await exists(client))) await client.query(schema.sql);
        await client.query('COMMIT');
      }
      await schema.upgrade?.(client);
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end().catch(() => {});
    const message = `cannot open the PostgreSQL ${schema.what} at ${redactDatabaseUrl(url)}: ${e instanceof Error ? e.message : String(e)}`;
    throw isUnreachable(e) ? new ConfigurationError(message, { cause: e }) : new Error(message, { cause: e });
  }
  return pool;
}

export type TransactionMode = 'serializable' | 'snapshot' | 'read-committed';

const BEGIN: Record<TransactionMode, string> = {
  serializable: 'BEGIN ISOLATION LEVEL SERIALIZABLE',
  snapshot: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  'read-committed': 'BEGIN ISOLATION LEVEL READ COMMITTED',
};

/** An advisory transaction lock: its two 32-bit keys (class, hash), exclusive unless shared. */
export interface AdvisoryLock {
  key: readonly [number, number];
  shared?: boolean;
}

/**
 * Runs `fn` as one transaction: SERIALIZABLE; a REPEATABLE READ READ ONLY snapshot for
 * multi-statement reads; or READ COMMITTED for writes that `locks` (advisory transaction locks,
 * taken in order in the same round trip as BEGIN) serialize instead. On a serialization failure or
 * deadlock the whole transaction is rolled back and run again (so fn must only touch the
 * database); onRetry counts those.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  mode: TransactionMode,
  fn: (c: pg.PoolClient) => Promise<T>,
  onRetry?: () => void,
  locks: readonly AdvisoryLock[] = []
): Promise<T> {
  // The keys are integers computed by the caller, safe to inline (a multi-statement query takes
  // no parameters); one statement per lock, so they are taken in order.
  if (!locks.every((l) => l.key.every((k) => Number.isSafeInteger(k)))) throw new Error('advisory lock keys must be integers');
  const begin = [BEGIN[mode], ...locks.map((l) => `SELECT pg_advisory_xact_lock${l.shared ? '_shared' : ''}(${l.key[0]}, ${l.key[1]})`)].join('; ');
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      const code = sqlState(e);
      if (code === undefined || !RETRYABLE.has(code) || attempt >= MAX_ATTEMPTS) throw e;
      onRetry?.();
      await retryDelay(attempt);
    } finally {
      client.release(broken);
    }
  }
}
