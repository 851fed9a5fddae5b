// SPDX-License-Identifier: Apache-2.0
// What the web pages keep besides the index's state: password hashes, browser sessions and the
// CSRF secret, in their own tables of the same database file (its own connection; WAL lets it
// share the file with the index's store and with the CLI). It also reads the index's tables for
// pages — search, a user's tokens and projects, the journal — and never writes them: changes to
// accounts and projects go through Repository/Accounts/StateStore.
import Database from 'better-sqlite3';
import type { ProjectRecord, UserRecord } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS web_passwords (
  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  hash TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS web_sessions (
  id_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions(user_id);
CREATE TABLE IF NOT EXISTS web_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
`;

type Row = Record<string, unknown>;

export interface TokenInfo {
  id: number;
  description: string;
  createdAt: string;
}

export interface UserProject {
  name: string;
  displayName: string;
  protection: ProjectRecord['protection'];
  role: 'owner' | 'maintainer';
  files: number;
  lastUpload: string | null;
}

export interface ProjectListing {
  name: string;
  displayName: string;
  protection: ProjectRecord['protection'];
  createdAt: string;
  summary: string | null;
  lastUpload: string | null;
}

export interface JournalSummary {
  counts: Record<'pending' | 'applied' | 'published' | 'failed', number>;
  failed: { seq: number; kind: string; project: string; createdAt: string; error: string | null }[];
  lastPublication: { snapshotVersion: number; createdAt: string } | undefined;
}

function toUser(r: Row): UserRecord {
  return { id: r['id'] as number, name: r['name'] as string, isAdmin: r['is_admin'] === 1, createdAt: r['created_at'] as string };
}

function toListing(r: Row): ProjectListing {
  return {
    name: r['name'] as string,
    displayName: r['display_name'] as string,
    protection: r['protection'] as ProjectRecord['protection'],
    createdAt: r['created_at'] as string,
    summary: (r['summary'] as string | null) ?? null,
    lastUpload: (r['last_upload'] as string | null) ?? null,
  };
}

const LISTING = `SELECT p.name, p.display_name, p.protection, p.created_at,
  (SELECT f.summary FROM files f WHERE f.project = p.name AND f.summary IS NOT NULL AND f.summary <> '' ORDER BY f.upload_time DESC, f.id DESC LIMIT 1) AS summary,
  (SELECT MAX(f.upload_time) FROM files f WHERE f.project = p.name) AS last_upload
  FROM projects p`;

/** LIKE pattern for a substring, with the wildcards escaped. */
function likeSubstring(s: string): string {
  return `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export class WebStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /** A named random secret, made on first use and kept (the CSRF key). */
  secret(name: string, make: () => Buffer): Buffer {
    const tx = this.db.transaction(() => {
      const row = this.db.prepare('SELECT value FROM web_secrets WHERE name = ?').get(name) as Row | undefined;
      if (row) return row['value'] as Buffer;
      const value = make();
      this.db.prepare('INSERT INTO web_secrets(name, value) VALUES (?, ?)').run(name, value);
      return value;
    });
    return tx.immediate();
  }

  // ---- passwords ------------------------------------------------------------------------

  passwordHash(userId: number): string | undefined {
    const row = this.db.prepare('SELECT hash FROM web_passwords WHERE user_id = ?').get(userId) as Row | undefined;
    return row?.['hash'] as string | undefined;
  }

  /** Sets a password and ends the user's other sessions (all of them unless one is kept). */
  setPassword(userId: number, hash: string, now: string, keepSessionHash?: string): void {
    this.db
      .transaction(() => {
        this.db
          .prepare('INSERT INTO web_passwords(user_id, hash, updated_at) VALUES (?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at')
          .run(userId, hash, now);
        this.db.prepare('DELETE FROM web_sessions WHERE user_id = ? AND id_hash IS NOT ?').run(userId, keepSessionHash ?? null);
      })
      .immediate();
  }

  /** Replaces a hash with a stronger one of the same password (sessions stay). */
  rehashPassword(userId: number, hash: string): void {
    this.db.prepare('UPDATE web_passwords SET hash = ? WHERE user_id = ?').run(hash, userId);
  }

  passwordUpdatedAt(userId: number): string | undefined {
    const row = this.db.prepare('SELECT updated_at FROM web_passwords WHERE user_id = ?').get(userId) as Row | undefined;
    return row?.['updated_at'] as string | undefined;
  }

  // ---- sessions -------------------------------------------------------------------------

  createSession(idHash: string, userId: number, now: Date, lifetimeMs: number): void {
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM web_sessions WHERE expires_at <= ?').run(now.toISOString());
        this.db
          .prepare('INSERT INTO web_sessions(id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)')
          .run(idHash, userId, now.toISOString(), new Date(now.getTime() + lifetimeMs).toISOString());
      })
      .immediate();
  }

  /** The user of a live session, or undefined (unknown or expired). */
  sessionUser(idHash: string, now: Date): { user: UserRecord; expiresAt: string } | undefined {
    const row = this.db
      .prepare('SELECT users.*, web_sessions.expires_at AS session_expires FROM web_sessions JOIN users ON users.id = web_sessions.user_id WHERE id_hash = ? AND expires_at > ?')
      .get(idHash, now.toISOString()) as Row | undefined;
    return row ? { user: toUser(row), expiresAt: row['session_expires'] as string } : undefined;
  }

  deleteSession(idHash: string): void {
    this.db.prepare('DELETE FROM web_sessions WHERE id_hash = ?').run(idHash);
  }

  deleteUserSessions(userId: number): number {
    return this.db.prepare('DELETE FROM web_sessions WHERE user_id = ?').run(userId).changes;
  }

  // ---- reads of the index's tables ----------------------------------------------------

  userById(id: number): UserRecord | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as Row | undefined;
    return row ? toUser(row) : undefined;
  }

  /** A user's API tokens: what they are for and when they were made (never the secret). */
  tokens(userId: number): TokenInfo[] {
    const rows = this.db.prepare('SELECT id, description, created_at FROM tokens WHERE user_id = ? ORDER BY created_at DESC, id DESC').all(userId) as Row[];
    return rows.map((r) => ({ id: r['id'] as number, description: r['description'] as string, createdAt: r['created_at'] as string }));
  }

  userProjects(userId: number): UserProject[] {
    const rows = this.db
      .prepare(
        `SELECT p.name, p.display_name, p.protection, r.role,
           (SELECT COUNT(*) FROM files f WHERE f.project = p.name) AS files,
           (SELECT MAX(f.upload_time) FROM files f WHERE f.project = p.name) AS last_upload
         FROM project_roles r JOIN projects p ON p.name = r.project WHERE r.user_id = ? ORDER BY p.name`
      )
      .all(userId) as Row[];
    return rows.map((r) => ({
      name: r['name'] as string,
      displayName: r['display_name'] as string,
      protection: r['protection'] as ProjectRecord['protection'],
      role: r['role'] as 'owner' | 'maintainer',
      files: r['files'] as number,
      lastUpload: (r['last_upload'] as string | null) ?? null,
    }));
  }

  /**
   * Projects whose name or a summary contains every word (name words are matched normalized),
   * best candidates first (exact name, name prefix, name contains; better protected first), so
   * that the limit drops the weakest matches.
   */
  searchProjects(words: readonly string[], normalized: string, limit: number): ProjectListing[] {
    const where: string[] = [];
    const args: string[] = [];
    for (const w of words) {
      const normalized = w.toLowerCase().replace(/[-_.]+/g, '-');
      where.push(
        `(p.name LIKE ? ESCAPE '\\' OR p.display_name LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM files f WHERE f.project = p.name AND f.summary LIKE ? ESCAPE '\\'))`
      );
      args.push(likeSubstring(normalized), likeSubstring(w), likeSubstring(w));
    }
    const order = `CASE WHEN p.name = ? THEN 0 WHEN p.name LIKE ? ESCAPE '\\' THEN 1 WHEN p.name LIKE ? ESCAPE '\\' THEN 2 ELSE 3 END,
      CASE p.protection WHEN 'claimed' THEN 0 WHEN 'recently-claimed' THEN 1 ELSE 2 END, p.name`;
    const prefix = `${normalized.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const sql = `${LISTING}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`;
    return (this.db.prepare(sql).all(...args, normalized, prefix, likeSubstring(normalized), limit) as Row[]).map(toListing);
  }

  recentProjects(limit: number): ProjectListing[] {
    return (this.db.prepare(`${LISTING} ORDER BY last_upload IS NULL, last_upload DESC, p.name LIMIT ?`).all(limit) as Row[]).map(toListing);
  }

  protectionCounts(): Record<ProjectRecord['protection'], number> {
    const counts = { unclaimed: 0, 'recently-claimed': 0, claimed: 0 };
    for (const r of this.db.prepare('SELECT protection, COUNT(*) AS n FROM projects GROUP BY protection').all() as Row[]) {
      const k = r['protection'] as keyof typeof counts;
      if (k in counts) counts[k] = r['n'] as number;
    }
    return counts;
  }

  userCounts(): { users: number; admins: number; withPassword: number } {
    const r = this.db
      .prepare('SELECT COUNT(*) AS users, SUM(is_admin) AS admins, (SELECT COUNT(*) FROM web_passwords) AS with_password FROM users')
      .get() as Row;
    return { users: r['users'] as number, admins: (r['admins'] as number | null) ?? 0, withPassword: r['with_password'] as number };
  }

  journalSummary(failedLimit: number): JournalSummary {
    const counts = { pending: 0, applied: 0, published: 0, failed: 0 };
    for (const r of this.db.prepare('SELECT state, COUNT(*) AS n FROM journal GROUP BY state').all() as Row[]) {
      const k = r['state'] as keyof typeof counts;
      if (k in counts) counts[k] = r['n'] as number;
    }
    const failed = (this.db.prepare("SELECT seq, kind, project, created_at, error FROM journal WHERE state = 'failed' ORDER BY seq DESC LIMIT ?").all(failedLimit) as Row[]).map((r) => ({
      seq: r['seq'] as number,
      kind: r['kind'] as string,
      project: r['project'] as string,
      createdAt: r['created_at'] as string,
      error: (r['error'] as string | null) ?? null,
    }));
    const pub = this.db.prepare('SELECT snapshot_version, created_at FROM publications ORDER BY snapshot_version DESC LIMIT 1').get() as Row | undefined;
    return {
      counts,
      failed,
      lastPublication: pub ? { snapshotVersion: pub['snapshot_version'] as number, createdAt: pub['created_at'] as string } : undefined,
    };
  }
}
