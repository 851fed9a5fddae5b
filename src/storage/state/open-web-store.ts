// SPDX-License-Identifier: Apache-2.0
// Chooses the web store the way openStateStore() chooses the state store: PostgreSQL when a
// postgres:// URL is given (--database) or BULWARK_DATABASE_URL is set, otherwise the embedded
// SQLite file in the data directory. Open the repository first: the web tables refer to its
// users, and on PostgreSQL the embedded state is moved in by openStateStore().
// The web passwords of an embedded state that moved follow it on first use, so that accounts
// still sign in after the move; sessions and the CSRF secret do not (signing in again is enough).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DATABASE_FILE } from '../../repository/paths.js';
import { databaseUrlFrom, MOVED_TO_SETTING, requirePostgresUrl } from './open-state.js';
import { PgWebStore, type PasswordRow } from './pg-web-store.js';
import { SqliteWebStore } from './sqlite-web-store.js';
import type { WebStore } from './web-store.js';

export async function openWebStore(dataDir: string, databaseUrl?: string): Promise<WebStore> {
  const url = databaseUrlFrom(databaseUrl);
  const sqlitePath = join(dataDir, DATABASE_FILE);
  if (url === undefined) return new SqliteWebStore(sqlitePath);
  const store = await PgWebStore.connect(requirePostgresUrl(url));
  try {
    if (await store.hasNoPasswords()) {
      const rows = movedPasswords(sqlitePath);
      if (rows.length > 0) await store.importPasswords(rows);
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

/** The web passwords in the embedded file, if its state was moved to PostgreSQL. */
function movedPasswords(sqlitePath: string): PasswordRow[] {
  if (!existsSync(sqlitePath)) return [];
  const db = new Database(sqlitePath, { readonly: true, fileMustExist: true });
  try {
    const has = (table: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
    if (!has('settings') || !has('web_passwords')) return [];
    if (db.prepare('SELECT 1 FROM settings WHERE key = ?').get(MOVED_TO_SETTING) === undefined) return [];
    return db.prepare('SELECT user_id, hash, updated_at FROM web_passwords').all() as PasswordRow[];
  } finally {
    db.close();
  }
}
