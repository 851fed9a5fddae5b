// SPDX-License-Identifier: Apache-2.0
// The web store's queries that read (and the one-statement writes), written once for both
// databases so that SQLite and PostgreSQL answer alike: same rows, same order. The backends
// supply how a statement runs (`?` placeholders) and a dialect for the two places where the
// databases differ by default:
//  - SQLite's LIKE ignores the case of ASCII letters only; PostgreSQL's LIKE is case-sensitive
//    and its ILIKE folds case by the locale (É = é). ILIKE under the "C" collation folds ASCII
//    only, exactly like SQLite.
//  - SQLite compares and sorts text by bytes; PostgreSQL by the database's locale unless the
//    column or the expression says COLLATE "C".
// What needs a transaction (secret, setPassword, createSession) each backend writes itself.
import type { UserRecord } from './types.js';
import type { ProtectionLevelName } from '../../repository/protection-levels.js';
import { PROTECTION_LEVELS } from '../../repository/protection-levels.js';
import { toUser, type Row } from './rows.js';
import { PROJECT_LEVEL_SQL } from './two-factor-sql.js';
import type { JournalSummary, ProjectListing, StoredDescription, TokenInfo, UserProject, WebStore } from './web-store.js';

export interface SqlDialect {
  /** The LIKE operator that ignores the case of ASCII letters only. */
  readonly like: string;
  /** Appended to a text expression so that it compares and sorts by bytes. */
  readonly bytes: string;
}

export const SQLITE_DIALECT: SqlDialect = { like: 'LIKE', bytes: '' };
export const POSTGRES_DIALECT: SqlDialect = { like: 'COLLATE "C" ILIKE', bytes: ' COLLATE "C"' };

/** Runs one statement with `?` placeholders and returns its rows. */
export type Query = (sql: string, args?: readonly unknown[]) => Promise<Row[]>;

/** LIKE pattern for a substring, with the wildcards escaped. */
function likeSubstring(s: string): string {
  return `%${likeEscape(s)}%`;
}
function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function toListing(r: Row): ProjectListing {
  return {
    name: r['name'] as string,
    displayName: r['display_name'] as string,
    protection: r['protection'] as ProtectionLevelName,
    createdAt: r['created_at'] as string,
    summary: (r['summary'] as string | null) ?? null,
    lastUpload: (r['last_upload'] as string | null) ?? null,
  };
}

/** Counts by a key column, with 0 for the keys that have no row (and unknown keys ignored). */
function countsOf<K extends string>(rows: Row[], column: string, keys: readonly K[]): Record<K, number> {
  const counts = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const r of rows) {
    const k = r[column] as K;
    if (keys.includes(k)) counts[k] = r['n'] as number;
  }
  return counts;
}

export abstract class SqlWebStore implements WebStore {
  protected constructor(private readonly dialect: SqlDialect) {}

  /** Runs one statement (`?` placeholders) and returns its rows. */
  protected abstract all(sql: string, args?: readonly unknown[]): Promise<Row[]>;
  /** Runs one statement (`?` placeholders) and returns how many rows it changed. */
  protected abstract run(sql: string, args?: readonly unknown[]): Promise<number>;
  /** Runs reads that belong together; on PostgreSQL in one snapshot. */
  protected abstract snapshot<T>(fn: (all: Query) => Promise<T>): Promise<T>;

  abstract close(): Promise<void>;
  abstract secret(name: string, make: () => Buffer): Promise<Buffer>;
  abstract setPassword(userId: number, hash: string, now: string, keepSessionHash?: string): Promise<void>;
  abstract createSession(idHash: string, userId: number, now: Date, lifetimeMs: number, twoFactor?: boolean): Promise<void>;
  abstract secondFactorPassed(idHash: string, userId: number, now: Date): Promise<void>;

  protected async one(sql: string, args: readonly unknown[] = []): Promise<Row | undefined> {
    return (await this.all(sql, args))[0];
  }

  // ---- passwords and sessions -------------------------------------------------------------

  async passwordHash(userId: number): Promise<string | undefined> {
    return (await this.one('SELECT hash FROM web_passwords WHERE user_id = ?', [userId]))?.['hash'] as string | undefined;
  }

  async rehashPassword(userId: number, hash: string): Promise<void> {
    await this.run('UPDATE web_passwords SET hash = ? WHERE user_id = ?', [hash, userId]);
  }

  async passwordUpdatedAt(userId: number): Promise<string | undefined> {
    return (await this.one('SELECT updated_at FROM web_passwords WHERE user_id = ?', [userId]))?.['updated_at'] as string | undefined;
  }

  async sessionUser(idHash: string, now: Date): Promise<{ user: UserRecord; expiresAt: string; twoFactor: boolean } | undefined> {
    const row = await this.one(
      `SELECT users.*, web_sessions.expires_at AS session_expires,
         EXISTS (SELECT 1 FROM web_session_factors f WHERE f.id_hash = web_sessions.id_hash) AS session_two_factor
       FROM web_sessions JOIN users ON users.id = web_sessions.user_id WHERE id_hash = ? AND expires_at > ?`,
      [idHash, now.toISOString()]
    );
    if (!row) return undefined;
    const twoFactor = row['session_two_factor'] === true || row['session_two_factor'] === 1;
    return { user: toUser(row), expiresAt: row['session_expires'] as string, twoFactor };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.run('DELETE FROM web_sessions WHERE id_hash = ?', [idHash]);
  }

  deleteUserSessions(userId: number): Promise<number> {
    return this.run('DELETE FROM web_sessions WHERE user_id = ?', [userId]);
  }

  // ---- failed sign-ins ---------------------------------------------------------------------

  async signInFailures(key: string, since: number): Promise<number[]> {
    const rows = await this.all('SELECT at_ms FROM web_signin_failures WHERE key = ? AND at_ms > ? ORDER BY at_ms', [key, since]);
    return rows.map((r) => Number(r['at_ms']));
  }

  async recordSignInFailure(key: string, at: number, forgetBefore: number): Promise<void> {
    // Old failures go on the way (by the at_ms index), so the table holds one window at most.
    await this.run('DELETE FROM web_signin_failures WHERE at_ms <= ?', [forgetBefore]);
    await this.run('INSERT INTO web_signin_failures(key, at_ms) VALUES (?, ?)', [key, at]);
  }

  async clearSignInFailures(key: string): Promise<void> {
    await this.run('DELETE FROM web_signin_failures WHERE key = ?', [key]);
  }

  // ---- descriptions ----------------------------------------------------------------------

  async storedDescription(metadataSha256: string, renderer: string): Promise<StoredDescription | undefined> {
    const row = await this.one('SELECT html, summary, requires_python FROM web_descriptions WHERE metadata_sha256 = ? AND renderer = ?', [metadataSha256, renderer]);
    if (!row) return undefined;
    return { html: (row['html'] as string | null) ?? null, summary: (row['summary'] as string | null) ?? null, requiresPython: (row['requires_python'] as string | null) ?? null };
  }

  async storeDescription(metadataSha256: string, renderer: string, d: StoredDescription): Promise<void> {
    // One statement: processes that render the same file at once each write the same row.
    await this.run(
      `INSERT INTO web_descriptions(metadata_sha256, renderer, html, summary, requires_python) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(metadata_sha256) DO UPDATE SET renderer = excluded.renderer, html = excluded.html, summary = excluded.summary, requires_python = excluded.requires_python`,
      [metadataSha256, renderer, d.html, d.summary, d.requiresPython]
    );
  }

  // ---- reads of the index's tables ----------------------------------------------------

  async userById(id: number): Promise<UserRecord | undefined> {
    const row = await this.one('SELECT * FROM users WHERE id = ?', [id]);
    return row ? toUser(row) : undefined;
  }

  async tokens(userId: number): Promise<TokenInfo[]> {
    const rows = await this.all(
      `SELECT id, description, created_at, EXISTS (SELECT 1 FROM two_factor_tokens t WHERE t.token_hash = tokens.token_hash) AS two_factor
       FROM tokens WHERE user_id = ? ORDER BY created_at${this.dialect.bytes} DESC, id DESC`,
      [userId]
    );
    return rows.map((r) => ({
      id: r['id'] as number,
      description: r['description'] as string,
      createdAt: r['created_at'] as string,
      twoFactor: r['two_factor'] === true || r['two_factor'] === 1,
    }));
  }

  async userProjects(userId: number): Promise<UserProject[]> {
    const rows = await this.all(
      `SELECT p.name, p.display_name, ${PROJECT_LEVEL_SQL} AS protection, r.role,
         (SELECT COUNT(*) FROM files f WHERE f.project = p.name) AS files,
         (SELECT MAX(f.upload_time${this.dialect.bytes}) FROM files f WHERE f.project = p.name) AS last_upload
       FROM project_roles r JOIN projects p ON p.name = r.project WHERE r.user_id = ? ORDER BY p.name`,
      [userId]
    );
    return rows.map((r) => ({
      name: r['name'] as string,
      displayName: r['display_name'] as string,
      protection: r['protection'] as ProtectionLevelName,
      role: r['role'] as 'owner' | 'maintainer',
      files: r['files'] as number,
      lastUpload: (r['last_upload'] as string | null) ?? null,
    }));
  }

  /** Projects with their newest summary and latest upload time. */
  private get listing(): string {
    const { bytes } = this.dialect;
    return `SELECT p.name, p.display_name, ${PROJECT_LEVEL_SQL} AS protection, p.created_at,
  (SELECT f.summary FROM files f WHERE f.project = p.name AND f.summary IS NOT NULL AND f.summary <> '' ORDER BY f.upload_time${bytes} DESC, f.id DESC LIMIT 1) AS summary,
  (SELECT MAX(f.upload_time${bytes}) FROM files f WHERE f.project = p.name) AS last_upload
  FROM projects p`;
  }

  async searchProjects(words: readonly string[], normalized: string, limit: number): Promise<ProjectListing[]> {
    const like = `${this.dialect.like} ? ESCAPE '\\'`;
    const where: string[] = [];
    const args: unknown[] = [];
    for (const w of words) {
      const normalizedWord = w.toLowerCase().replace(/[-_.]+/g, '-');
      where.push(`(p.name ${like} OR p.display_name ${like} OR EXISTS (SELECT 1 FROM files f WHERE f.project = p.name AND f.summary ${like}))`);
      args.push(likeSubstring(normalizedWord), likeSubstring(w), likeSubstring(w));
    }
    const order = `CASE WHEN p.name = ? THEN 0 WHEN p.name ${like} THEN 1 WHEN p.name ${like} THEN 2 ELSE 3 END,
      CASE p.protection WHEN 'claimed' THEN 0 WHEN 'recently-claimed' THEN 1 ELSE 2 END, p.name`;
    const sql = `${this.listing}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`;
    return (await this.all(sql, [...args, normalized, `${likeEscape(normalized)}%`, likeSubstring(normalized), limit])).map(toListing);
  }

  async recentProjects(limit: number): Promise<ProjectListing[]> {
    return (await this.all(`${this.listing} ORDER BY last_upload DESC NULLS LAST, p.name LIMIT ?`, [limit])).map(toListing);
  }

  async protectionCounts(): Promise<Record<ProtectionLevelName, number>> {
    const rows = await this.all(`SELECT level, COUNT(*) AS n FROM (SELECT ${PROJECT_LEVEL_SQL} AS level FROM projects p) AS l GROUP BY level`);
    return countsOf(rows, 'level', PROTECTION_LEVELS);
  }

  async userCounts(): Promise<{ users: number; admins: number; withPassword: number }> {
    // is_admin is 0/1 in SQLite and a BOOLEAN in PostgreSQL: CASE WHEN reads both.
    const r = await this.one(
      'SELECT COUNT(*) AS users, SUM(CASE WHEN is_admin THEN 1 ELSE 0 END) AS admins, (SELECT COUNT(*) FROM web_passwords) AS with_password FROM users'
    );
    return { users: r?.['users'] as number, admins: (r?.['admins'] as number | null) ?? 0, withPassword: r?.['with_password'] as number };
  }

  journalSummary(failedLimit: number): Promise<JournalSummary> {
    return this.snapshot(async (all) => {
      const counts = countsOf(await all('SELECT state, COUNT(*) AS n FROM journal GROUP BY state'), 'state', ['pending', 'applied', 'published', 'failed'] as const);
      const failed = (await all("SELECT seq, kind, project, created_at, error FROM journal WHERE state = 'failed' ORDER BY seq DESC LIMIT ?", [failedLimit])).map((r) => ({
        seq: r['seq'] as number,
        kind: r['kind'] as string,
        project: r['project'] as string,
        createdAt: r['created_at'] as string,
        error: (r['error'] as string | null) ?? null,
      }));
      const [pub] = await all('SELECT snapshot_version, created_at FROM publications ORDER BY snapshot_version DESC LIMIT 1');
      return {
        counts,
        failed,
        lastPublication: pub ? { snapshotVersion: pub['snapshot_version'] as number, createdAt: pub['created_at'] as string } : undefined,
      };
    });
  }
}
