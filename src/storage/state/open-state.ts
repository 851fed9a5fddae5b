// SPDX-License-Identifier: Apache-2.0
// Chooses the state store: PostgreSQL when a postgres:// URL is given (--database) or
// BULWARK_DATABASE_URL is set, otherwise the embedded SQLite file in the data directory.
//
// `bulwark init` always writes the embedded file. The first time a repository is opened on an
// empty PostgreSQL database, its embedded state is copied in (one transaction, once: another
// process that races us finds the rows and uses them), and the embedded file is marked as
// moved, so that a command run later without --database refuses instead of writing to a state
// nobody reads any more.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DATABASE_FILE } from '../../repository/paths.js';
import { ConfigurationError } from '../configuration-error.js';
import { PgState, redactDatabaseUrl, TABLES_IN_ORDER, type PgStateOptions } from './pg-state.js';
import { SqliteState } from './sqlite-state.js';
import type { StateStore } from './types.js';

export const DATABASE_URL_ENV = 'BULWARK_DATABASE_URL';
/** Setting in the embedded state once it has been copied to PostgreSQL. */
export const MOVED_TO_SETTING = 'state-moved-to';

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** `url` when it is a postgres:// URL; otherwise an error that names it without its password. */
export function requirePostgresUrl(url: string): string {
  if (!isPostgresUrl(url)) throw new ConfigurationError(`unsupported database URL ${redactDatabaseUrl(url)}: expected postgres://…`);
  return url;
}

/** The database URL in effect: the explicit one, else $BULWARK_DATABASE_URL, else none. */
export function databaseUrlFrom(explicit?: string | undefined): string | undefined {
  const url = explicit ?? process.env[DATABASE_URL_ENV];
  return url === undefined || url === '' ? undefined : url;
}

export async function openStateStore(dataDir: string, databaseUrl?: string, opts: PgStateOptions = {}): Promise<StateStore> {
  const url = databaseUrlFrom(databaseUrl);
  const sqlitePath = join(dataDir, DATABASE_FILE);
  if (url === undefined) {
    const state = new SqliteState(sqlitePath);
    const moved = await state.getSetting(MOVED_TO_SETTING);
    if (moved !== undefined) {
      await state.close();
      throw new ConfigurationError(`the state of ${dataDir} moved to PostgreSQL (${moved}): pass --database or set ${DATABASE_URL_ENV}`);
    }
    return state;
  }
  const state = await PgState.connect(requirePostgresUrl(url), opts);
  try {
    if ((await state.isEmpty()) && existsSync(sqlitePath)) await moveEmbeddedState(sqlitePath, state, url);
  } catch (e) {
    await state.close();
    throw e;
  }
  return state;
}

/**
 * Throws unless `url` is a PostgreSQL database that holds no repository yet (`bulwark init
 * --database` checks before it creates anything).
 */
export async function assertEmptyDatabase(url: string): Promise<void> {
  const state = await PgState.connect(requirePostgresUrl(url));
  try {
    if (!(await state.isEmpty())) throw new ConfigurationError(`${redactDatabaseUrl(url)} already holds a repository: give each repository a database of its own`);
  } finally {
    await state.close();
  }
}

/** Copies the embedded state into an empty PostgreSQL database and marks the file as moved. */
async function moveEmbeddedState(sqlitePath: string, target: PgState, url: string): Promise<void> {
  const db = new Database(sqlitePath, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    const existing = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
    const tables = new Map<string, Record<string, unknown>[]>();
    // One read transaction: a consistent copy even if a command writes the file meanwhile.
    db.transaction(() => {
      for (const table of TABLES_IN_ORDER) {
        if (existing.has(table)) tables.set(table, db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[]);
      }
    })();
    if ((tables.get('roles') ?? []).length === 0) return; // nothing to move: not an initialized repository
    if (await target.importRows(tables)) {
      db.prepare('INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(MOVED_TO_SETTING, redactDatabaseUrl(url));
    }
  } finally {
    db.close();
  }
}
