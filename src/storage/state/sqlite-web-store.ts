// SPDX-License-Identifier: Apache-2.0
// The web store in the embedded SQLite file (bulwark.db), on a connection of its own: WAL lets
// it share the file with the index's store and with the CLI. better-sqlite3 is synchronous;
// the methods are async only to fit the WebStore interface. Transactions are IMMEDIATE, so a
// read-then-write cannot interleave with another connection's.
import Database from 'better-sqlite3';
import type { Row } from './rows.js';
import { SQLITE_DIALECT, SqlWebStore, type Query } from './web-store-sql.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS web_passwords (
  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  hash TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS web_sessions (
  id_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions(user_id);
CREATE TABLE IF NOT EXISTS web_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS web_signin_failures (key TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS web_signin_failures_key ON web_signin_failures(key, at_ms);
CREATE INDEX IF NOT EXISTS web_signin_failures_at ON web_signin_failures(at_ms);
CREATE TABLE IF NOT EXISTS web_descriptions (
  metadata_sha256 TEXT PRIMARY KEY, renderer TEXT NOT NULL,
  html TEXT, summary TEXT, requires_python TEXT);
CREATE TABLE IF NOT EXISTS web_session_factors (
  id_hash TEXT PRIMARY KEY REFERENCES web_sessions(id_hash) ON DELETE CASCADE, passed_at TEXT NOT NULL);
`;

export class SqliteWebStore extends SqlWebStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    super(SQLITE_DIALECT);
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(SCHEMA);
  }

  protected async all(sql: string, args: readonly unknown[] = []): Promise<Row[]> {
    return this.db.prepare(sql).all(...args) as Row[];
  }

  protected async run(sql: string, args: readonly unknown[] = []): Promise<number> {
    return this.db.prepare(sql).run(...args).changes;
  }

  /** One connection, statements in turn: as before, no transaction is needed for these reads. */
  protected snapshot<T>(fn: (all: Query) => Promise<T>): Promise<T> {
    return fn((sql, args) => this.all(sql, args));
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async secret(name: string, make: () => Buffer): Promise<Buffer> {
    const tx = this.db.transaction(() => {
      const row = this.db.prepare('SELECT value FROM web_secrets WHERE name = ?').get(name) as Row | undefined;
      if (row) return row['value'] as Buffer;
      const value = make();
      this.db.prepare('INSERT INTO web_secrets(name, value) VALUES (?, ?)').run(name, value);
      return value;
    });
    return tx.immediate();
  }

  async setPassword(userId: number, hash: string, now: string, keepSessionHash?: string): Promise<void> {
    this.db
      .transaction(() => {
        this.db
          .prepare('INSERT INTO web_passwords(user_id, hash, updated_at) VALUES (?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at')
          .run(userId, hash, now);
        this.db.prepare('DELETE FROM web_sessions WHERE user_id = ? AND id_hash IS NOT ?').run(userId, keepSessionHash ?? null);
      })
      .immediate();
  }

  async createSession(idHash: string, userId: number, now: Date, lifetimeMs: number, twoFactor = false): Promise<void> {
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM web_sessions WHERE expires_at <= ?').run(now.toISOString());
        this.db
          .prepare('INSERT INTO web_sessions(id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)')
          .run(idHash, userId, now.toISOString(), new Date(now.getTime() + lifetimeMs).toISOString());
        if (twoFactor) this.db.prepare('INSERT INTO web_session_factors(id_hash, passed_at) VALUES (?, ?)').run(idHash, now.toISOString());
      })
      .immediate();
  }

  async secondFactorPassed(idHash: string, userId: number, now: Date): Promise<void> {
    this.db
      .transaction(() => {
        this.db.prepare('INSERT INTO web_session_factors(id_hash, passed_at) VALUES (?, ?) ON CONFLICT(id_hash) DO NOTHING').run(idHash, now.toISOString());
        this.db.prepare('DELETE FROM web_sessions WHERE user_id = ? AND id_hash <> ?').run(userId, idHash);
      })
      .immediate();
  }
}
