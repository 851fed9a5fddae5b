// SPDX-License-Identifier: Apache-2.0
// The embedded default state store: SQLite through better-sqlite3, in WAL mode with
// synchronous=FULL so that a committed transaction survives a crash or power loss. One file,
// no server to install. better-sqlite3 is synchronous, so each method runs its whole
// transaction without yielding: no other work interleaves with it.
import Database from 'better-sqlite3';
import { KeyedLocks } from './keyed-locks.js';
import { decideLeadership } from './leadership-rules.js';
import {
  NotLeaderError,
  StateConflictError,
  type FileRecord,
  type LeaderInfo,
  type Lease,
  type ProjectTransaction,
  type StoreEvent,
  type JournalEntry,
  type JournalKind,
  type NewFile,
  type ProjectDelegation,
  type ProjectRecord,
  type ProjectRoleVersion,
  type PublishInputs,
  type RoleState,
  type StateStore,
  type TargetRow,
  type UserRecord,
  type UploadChecks,
  type TwoFactorRecord,
} from './types.js';
import { canonicalTargetFragmentSql, toFile, toJournal, toUser, type Row } from './rows.js';
import { similarProjectSql, tooSimilar, ultranormalSql } from './similar-names.js';
import {
  MEMBERS_WITHOUT_SQL,
  PROJECT_AT_TWO_FACTOR_SQL,
  PROJECTS_OF_MEMBER_SQL,
  twoFactorSchema,
  TWO_FACTOR_USER_SQL,
  USE_RECOVERY_CODE_SQL,
  USE_TOTP_STEP_SQL,
} from './two-factor-sql.js';

/** The journal entries still to apply or publish: the condition of the partial index journal_state. */
const LIVE_JOURNAL = "state IN ('pending', 'applied')";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, is_admin INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
  id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
  token_hash TEXT NOT NULL UNIQUE, description TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
  name TEXT PRIMARY KEY, display_name TEXT NOT NULL, created_at TEXT NOT NULL,
  protection TEXT NOT NULL DEFAULT 'unclaimed', ultranormal TEXT);
CREATE TABLE IF NOT EXISTS project_roles (
  project TEXT NOT NULL REFERENCES projects(name), user_id INTEGER NOT NULL REFERENCES users(id),
  role TEXT NOT NULL CHECK (role IN ('owner', 'maintainer')), PRIMARY KEY (project, user_id));
CREATE TABLE IF NOT EXISTS journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, project TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'published', 'failed')),
  created_at TEXT NOT NULL, applied_at TEXT, published_version INTEGER, error TEXT);
CREATE INDEX IF NOT EXISTS journal_state ON journal(state) WHERE ${LIVE_JOURNAL};
CREATE TABLE IF NOT EXISTS files (
  id INTEGER PRIMARY KEY, project TEXT NOT NULL REFERENCES projects(name), version TEXT NOT NULL,
  filename TEXT NOT NULL UNIQUE, packagetype TEXT NOT NULL, python_version TEXT NOT NULL,
  requires_python TEXT, size INTEGER NOT NULL, sha256 TEXT NOT NULL, md5 TEXT,
  metadata_sha256 TEXT, metadata_size INTEGER, upload_time TEXT NOT NULL,
  uploader_id INTEGER NOT NULL REFERENCES users(id), yanked INTEGER NOT NULL DEFAULT 0,
  yanked_reason TEXT, summary TEXT, journal_seq INTEGER NOT NULL REFERENCES journal(seq));
CREATE INDEX IF NOT EXISTS files_project ON files(project);
CREATE TABLE IF NOT EXISTS targets (
  path TEXT PRIMARY KEY, role TEXT NOT NULL, project TEXT NOT NULL, entry TEXT NOT NULL);
-- Covering (entry too): a bin's rows are read from the index alone, not from one table page
-- each, which is what a publication at PyPI size waits for.
CREATE INDEX IF NOT EXISTS targets_role_covering ON targets(role, path, entry);
CREATE INDEX IF NOT EXISTS targets_project ON targets(project);
CREATE TABLE IF NOT EXISTS roles (
  name TEXT PRIMARY KEY, version INTEGER NOT NULL, expires TEXT NOT NULL,
  length INTEGER NOT NULL, sha256 TEXT NOT NULL, dirty INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS roles_dirty ON roles(dirty) WHERE dirty > 0;
CREATE TABLE IF NOT EXISTS delegations (
  project TEXT PRIMARY KEY REFERENCES projects(name), role TEXT NOT NULL UNIQUE,
  parent TEXT NOT NULL CHECK (parent IN ('recently-claimed', 'claimed')),
  keys TEXT NOT NULL, keyids TEXT NOT NULL, threshold INTEGER NOT NULL, created_at TEXT NOT NULL,
  pending_keys TEXT, pending_keyids TEXT, pending_threshold INTEGER);
CREATE TABLE IF NOT EXISTS project_role_versions (
  project TEXT NOT NULL REFERENCES projects(name), version INTEGER NOT NULL, bytes BLOB NOT NULL,
  journal_seq INTEGER NOT NULL REFERENCES journal(seq), PRIMARY KEY (project, version));
CREATE TABLE IF NOT EXISTS signed_roles (
  role TEXT NOT NULL, version INTEGER NOT NULL, bytes BLOB NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (role, version));
CREATE TABLE IF NOT EXISTS publications (
  snapshot_version INTEGER PRIMARY KEY, timestamp_bytes BLOB NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leader_lease (
  id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, epoch INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS publication_intents (path TEXT PRIMARY KEY, epoch INTEGER NOT NULL);
`;





export class SqliteState implements StateStore {
  private readonly db: Database.Database;
  /** Project and role locks: the embedded store serves one process (workers need PostgreSQL). */
  private readonly locks = new KeyedLocks();

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 10000'); // the CLI may write while `serve` runs
    this.db.exec(SCHEMA);
    this.db.exec(twoFactorSchema('sqlite'));
    this.migrate();
  }

  /** Columns added after a table was first released (CREATE TABLE IF NOT EXISTS keeps old tables). */
  private migrate(): void {
    const added: [table: string, column: string, decl: string][] = [
      ['delegations', 'pending_keys', 'TEXT'],
      ['delegations', 'pending_keyids', 'TEXT'],
      ['delegations', 'pending_threshold', 'INTEGER'],
      ['projects', 'ultranormal', 'TEXT'], // unique once filled in, below
    ];
    for (const [table, column, decl] of added) {
      const cols = this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
      if (!cols.some((c) => c.name === column)) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${decl}`);
    }
    // Replaced by targets_role_covering (built by SCHEMA above).
    this.db.exec('DROP INDEX IF EXISTS targets_role');
    if (!this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'projects_ultranormal'").get()) {
      // Look-alike names from before the rule: the oldest of each group holds the form.
      this.db.transaction(() => {
        this.db.exec(`UPDATE projects SET ultranormal = ${ultranormalSql('name')} WHERE name IN (
          SELECT name FROM (SELECT name, ROW_NUMBER() OVER (PARTITION BY ${ultranormalSql('name')} ORDER BY created_at, name) AS n FROM projects) WHERE n = 1)`);
        this.db.exec('CREATE UNIQUE INDEX projects_ultranormal ON projects(ultranormal)');
      })();
    }
  }

  /** Registers a new project with its owner; refuses a name too similar to an existing one. */
  private createProject(name: string, displayName: string, ownerId: number, now: string): void {
    const similar = this.db.prepare(similarProjectSql('@name')).get({ name }) as Row | undefined;
    if (similar) throw tooSimilar(displayName, similar['name'] as string);
    this.db.prepare(`INSERT INTO projects(name, display_name, created_at, ultranormal) VALUES (?, ?, ?, ${ultranormalSql('?')})`).run(name, displayName, now, name);
    this.db.prepare("INSERT INTO project_roles(project, user_id, role) VALUES (?, ?, 'owner')").run(name, ownerId);
  }

  private tx<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(this.db.transaction(fn).immediate());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }

  getSetting(key: string): Promise<string | undefined> {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as Row | undefined;
    return Promise.resolve(row?.['value'] as string | undefined);
  }

  setSetting(key: string, value: string): Promise<void> {
    return this.tx(() => {
      this.db.prepare('INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
    });
  }

  addUser(name: string, isAdmin: boolean, tokenHash: string, now: string): Promise<UserRecord> {
    return this.tx(() => {
      if (this.db.prepare('SELECT 1 FROM users WHERE name = ?').get(name)) {
        throw new StateConflictError('USER_EXISTS', `user ${name} already exists`);
      }
      const id = Number(
        this.db.prepare('INSERT INTO users(name, is_admin, created_at) VALUES (?, ?, ?)').run(name, isAdmin ? 1 : 0, now).lastInsertRowid
      );
      this.db.prepare('INSERT INTO tokens(user_id, token_hash, description, created_at) VALUES (?, ?, ?, ?)').run(id, tokenHash, 'initial token', now);
      return { id, name, isAdmin, createdAt: now };
    });
  }

  addToken(userId: number, tokenHash: string, description: string, now: string, twoFactor = false): Promise<void> {
    return this.tx(() => {
      this.db.prepare('INSERT INTO tokens(user_id, token_hash, description, created_at) VALUES (?, ?, ?, ?)').run(userId, tokenHash, description, now);
      if (twoFactor) this.db.prepare('INSERT INTO two_factor_tokens(token_hash) VALUES (?)').run(tokenHash);
    });
  }

  userByTokenHash(tokenHash: string): Promise<UserRecord | undefined> {
    const row = this.db
      .prepare('SELECT users.* FROM tokens JOIN users ON users.id = tokens.user_id WHERE tokens.token_hash = ?')
      .get(tokenHash) as Row | undefined;
    return Promise.resolve(row ? toUser(row) : undefined);
  }

  userByName(name: string): Promise<UserRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as Row | undefined;
    return Promise.resolve(row ? toUser(row) : undefined);
  }

  getProject(name: string): Promise<ProjectRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM projects WHERE name = ?').get(name) as Row | undefined;
    return Promise.resolve(r ? this.toProject(r) : undefined);
  }

  private toProject(r: Row): ProjectRecord {
    return {
      name: r['name'] as string,
      displayName: r['display_name'] as string,
      createdAt: r['created_at'] as string,
      protection: r['protection'] as ProjectRecord['protection'],
    };
  }

  listProjects(): Promise<ProjectRecord[]> {
    const rows = this.db.prepare('SELECT * FROM projects ORDER BY name').all() as Row[];
    return Promise.resolve(rows.map((r) => this.toProject(r)));
  }

  projectFiles(project: string): Promise<FileRecord[]> {
    const rows = this.db.prepare('SELECT * FROM files WHERE project = ? ORDER BY filename').all(project) as Row[];
    return Promise.resolve(rows.map(toFile));
  }

  fileByName(filename: string): Promise<FileRecord | undefined> {
    const r = this.db.prepare('SELECT * FROM files WHERE filename = ?').get(filename) as Row | undefined;
    return Promise.resolve(r ? toFile(r) : undefined);
  }

  private uploadPermission(project: string, userId: number): 'new-project' | 'allowed' | 'forbidden' {
    if (!this.db.prepare('SELECT 1 FROM projects WHERE name = ?').get(project)) return 'new-project';
    const role = this.db.prepare('SELECT 1 FROM project_roles WHERE project = ? AND user_id = ?').get(project, userId);
    return role ? 'allowed' : 'forbidden';
  }

  canUpload(project: string, userId: number): Promise<'new-project' | 'allowed' | 'forbidden'> {
    return Promise.resolve(this.uploadPermission(project, userId));
  }

  uploadChecks(project: string, userId: number, filename: string): Promise<UploadChecks> {
    const read = this.db.transaction((): UploadChecks => {
      const checks: UploadChecks = {
        claimed: this.db.prepare('SELECT 1 FROM delegations WHERE project = ?').get(project) !== undefined,
        permission: this.uploadPermission(project, userId),
        fileExists: this.db.prepare('SELECT 1 FROM files WHERE filename = ?').get(filename) !== undefined,
      };
      const similar = checks.permission === 'new-project' ? (this.db.prepare(similarProjectSql('@name')).get({ name: project }) as Row | undefined) : undefined;
      if (similar) checks.similarTo = similar['name'] as string;
      return checks;
    });
    return Promise.resolve(read());
  }

  recordUpload(file: NewFile, displayName: string, now: string): Promise<{ seq: number; fileId: number }> {
    return this.tx(() => {
      const permission = this.uploadPermission(file.project, file.uploaderId);
      if (permission === 'forbidden') {
        throw new StateConflictError('NOT_OWNER', `you are not an owner or maintainer of project ${file.project}`);
      }
      if (permission === 'new-project') this.createProject(file.project, displayName, file.uploaderId, now);
      if (this.db.prepare('SELECT 1 FROM delegations WHERE project = ?').get(file.project)) {
        throw new StateConflictError('ALREADY_CLAIMED', `project ${file.project} is claimed`);
      }
      const seq = Number(
        this.db.prepare("INSERT INTO journal(kind, project, state, created_at) VALUES ('upload', ?, 'pending', ?)").run(file.project, now)
          .lastInsertRowid
      );
      this.insertFile(file, seq);
      const fileId = Number((this.db.prepare('SELECT id FROM files WHERE filename = ?').get(file.filename) as Row)['id']);
      return { seq, fileId };
    });
  }

  setYanked(
    project: string,
    userId: number,
    which: { version: string } | { filename: string },
    yanked: boolean,
    reason: string | null,
    now: string
  ): Promise<{ seq: number; files: string[] }> {
    return this.tx(() => {
      if (this.uploadPermission(project, userId) !== 'allowed') {
        throw new StateConflictError('NOT_OWNER', `you are not an owner or maintainer of project ${project}`);
      }
      const rows = (
        'version' in which
          ? this.db.prepare('SELECT filename FROM files WHERE project = ? AND version = ?').all(project, which.version)
          : this.db.prepare('SELECT filename FROM files WHERE project = ? AND filename = ?').all(project, which.filename)
      ) as Row[];
      if (rows.length === 0) {
        const what = 'version' in which ? `release ${which.version}` : `file ${which.filename}`;
        throw new StateConflictError('NOT_FOUND', `project ${project} has no ${what}`);
      }
      const seq = Number(
        this.db.prepare("INSERT INTO journal(kind, project, state, created_at) VALUES ('yank', ?, 'pending', ?)").run(project, now).lastInsertRowid
      );
      const upd = this.db.prepare('UPDATE files SET yanked = ?, yanked_reason = ? WHERE filename = ?');
      for (const r of rows) upd.run(yanked ? 1 : 0, yanked ? reason : null, r['filename']);
      return { seq, files: rows.map((r) => r['filename'] as string) };
    });
  }

  addProjectRole(project: string, userName: string, role: 'owner' | 'maintainer'): Promise<void> {
    return this.tx(() => {
      if (!this.db.prepare('SELECT 1 FROM projects WHERE name = ?').get(project)) throw new StateConflictError('NOT_FOUND', `no project named ${project}`);
      const user = this.db.prepare('SELECT id FROM users WHERE name = ?').get(userName) as Row | undefined;
      if (!user) throw new StateConflictError('NOT_FOUND', `no user named ${userName}`);
      this.db
        .prepare('INSERT INTO project_roles(project, user_id, role) VALUES (?, ?, ?) ON CONFLICT(project, user_id) DO UPDATE SET role = excluded.role')
        .run(project, user['id'], role);
      // A new member may lower the project's signed two-factor level: re-publish its pages.
      if (this.db.prepare('SELECT 1 FROM two_factor_projects WHERE project = ?').get(project)) this.journalTwoFactor([project], new Date().toISOString());
    });
  }

  projectRoles(project: string): Promise<{ user: string; role: 'owner' | 'maintainer' }[]> {
    const rows = this.db
      .prepare('SELECT users.name AS user, project_roles.role AS role FROM project_roles JOIN users ON users.id = project_roles.user_id WHERE project = ? ORDER BY role DESC, users.name')
      .all(project) as { user: string; role: 'owner' | 'maintainer' }[];
    return Promise.resolve(rows);
  }

  private toDelegation(r: Row): ProjectDelegation {
    return {
      project: r['project'] as string,
      role: r['role'] as string,
      parent: r['parent'] as ProjectDelegation['parent'],
      keys: JSON.parse(r['keys'] as string) as Record<string, unknown>,
      keyids: JSON.parse(r['keyids'] as string) as string[],
      threshold: r['threshold'] as number,
      createdAt: r['created_at'] as string,
      ...(r['pending_keys']
        ? {
            pending: {
              keys: JSON.parse(r['pending_keys'] as string) as Record<string, unknown>,
              keyids: JSON.parse(r['pending_keyids'] as string) as string[],
              threshold: r['pending_threshold'] as number,
            },
          }
        : {}),
    };
  }

  changeDelegationKeys(p: {
    project: string;
    userId: number;
    expectKeyids: readonly string[];
    keys: Record<string, unknown>;
    keyids: string[];
    threshold: number;
    now: string;
    /** An operator's replacement (compromise recovery): no owner check. */
    operator?: boolean;
  }): Promise<{ seq: number; pendingCeremony: boolean }> {
    return this.tx(() => {
      if (!p.operator && this.uploadPermission(p.project, p.userId) !== 'allowed') throw new StateConflictError('NOT_OWNER', `you are not an owner or maintainer of ${p.project}`);
      const row = this.db.prepare('SELECT parent, keyids FROM delegations WHERE project = ?').get(p.project) as Row | undefined;
      if (!row) throw new StateConflictError('NOT_CLAIMED', `${p.project} is not claimed`);
      const current = JSON.parse(row['keyids'] as string) as string[];
      if (current.length !== p.expectKeyids.length || current.some((k) => !p.expectKeyids.includes(k))) {
        throw new StateConflictError('VERSION_CONFLICT', `the keys of ${p.project} changed meanwhile: sign the change again`);
      }
      const seq = Number(this.db.prepare("INSERT INTO journal(kind, project, state, created_at) VALUES ('key-change', ?, 'pending', ?)").run(p.project, p.now).lastInsertRowid);
      const keys = JSON.stringify(p.keys);
      const keyids = JSON.stringify(p.keyids);
      if (row['parent'] === 'recently-claimed') {
        this.db.prepare('UPDATE delegations SET keys = ?, keyids = ?, threshold = ? WHERE project = ?').run(keys, keyids, p.threshold, p.project);
        this.db.prepare("UPDATE roles SET dirty = dirty + 1 WHERE name = 'recently-claimed'").run();
        return { seq, pendingCeremony: false };
      }
      this.db.prepare('UPDATE delegations SET pending_keys = ?, pending_keyids = ?, pending_threshold = ? WHERE project = ?').run(keys, keyids, p.threshold, p.project);
      return { seq, pendingCeremony: true };
    });
  }

  delegations(parent?: 'recently-claimed' | 'claimed'): Promise<ProjectDelegation[]> {
    const rows = (
      parent ? this.db.prepare('SELECT * FROM delegations WHERE parent = ? ORDER BY role').all(parent) : this.db.prepare('SELECT * FROM delegations ORDER BY role').all()
    ) as Row[];
    return Promise.resolve(rows.map((r) => this.toDelegation(r)));
  }

  getDelegation(project: string): Promise<ProjectDelegation | undefined> {
    const r = this.db.prepare('SELECT * FROM delegations WHERE project = ?').get(project) as Row | undefined;
    return Promise.resolve(r ? this.toDelegation(r) : undefined);
  }

  latestProjectRole(project: string): Promise<ProjectRoleVersion | undefined> {
    const r = this.db.prepare('SELECT * FROM project_role_versions WHERE project = ? ORDER BY version DESC LIMIT 1').get(project) as Row | undefined;
    return Promise.resolve(r ? { project, version: r['version'] as number, bytes: r['bytes'] as Buffer } : undefined);
  }

  private insertFile(file: NewFile, seq: number): void {
    if (this.db.prepare('SELECT 1 FROM files WHERE filename = ?').get(file.filename)) {
      throw new StateConflictError('FILE_EXISTS', `File already exists: ${file.filename}`);
    }
    this.db
      .prepare(
        `INSERT INTO files(project, version, filename, packagetype, python_version, requires_python, size, sha256, md5,
           metadata_sha256, metadata_size, upload_time, uploader_id, summary, journal_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
      )
      .run(
        file.project, file.version, file.filename, file.packagetype, file.pythonVersion, file.requiresPython, file.size,
        file.sha256, file.md5, file.metadataSha256, file.metadataSize, file.uploadTime, file.uploaderId, file.summary, seq
      );
  }

  recordClaim(p: {
    project: string;
    displayName: string;
    userId: number;
    delegation: Omit<ProjectDelegation, 'createdAt' | 'parent' | 'project'>;
    role: ProjectRoleVersion;
    now: string;
  }): Promise<{ seq: number }> {
    return this.tx(() => {
      if (!this.db.prepare('SELECT 1 FROM projects WHERE name = ?').get(p.project)) this.createProject(p.project, p.displayName, p.userId, p.now);
      const owner = this.db.prepare("SELECT 1 FROM project_roles WHERE project = ? AND user_id = ? AND role = 'owner'").get(p.project, p.userId);
      if (!owner) throw new StateConflictError('NOT_OWNER', `only an owner of ${p.project} can claim it`);
      if (this.db.prepare('SELECT 1 FROM delegations WHERE project = ?').get(p.project)) {
        throw new StateConflictError('ALREADY_CLAIMED', `${p.project} is already claimed; add keys with a change signed by a key already trusted for it`);
      }
      const seq = Number(
        this.db.prepare("INSERT INTO journal(kind, project, state, created_at) VALUES ('claim', ?, 'pending', ?)").run(p.project, p.now).lastInsertRowid
      );
      this.db
        .prepare("INSERT INTO delegations(project, role, parent, keys, keyids, threshold, created_at) VALUES (?, ?, 'recently-claimed', ?, ?, ?, ?)")
        .run(p.project, p.delegation.role, JSON.stringify(p.delegation.keys), JSON.stringify(p.delegation.keyids), p.delegation.threshold, p.now);
      this.db.prepare('INSERT INTO project_role_versions(project, version, bytes, journal_seq) VALUES (?, ?, ?, ?)').run(p.project, p.role.version, p.role.bytes, seq);
      this.db.prepare("UPDATE projects SET protection = 'recently-claimed' WHERE name = ?").run(p.project);
      this.db.prepare("INSERT INTO roles(name, version, expires, length, sha256) VALUES (?, 0, '', 0, '') ON CONFLICT(name) DO NOTHING").run(p.delegation.role);
      this.db.prepare("UPDATE roles SET dirty = dirty + 1 WHERE name = 'recently-claimed'").run();
      return { seq };
    });
  }

  recordSignedUpload(p: { project: string; userId: number; files: NewFile[]; role: ProjectRoleVersion; now: string }): Promise<{ seq: number }> {
    return this.tx(() => {
      if (this.uploadPermission(p.project, p.userId) !== 'allowed') {
        throw new StateConflictError('NOT_OWNER', `you are not an owner or maintainer of project ${p.project}`);
      }
      if (!this.db.prepare('SELECT 1 FROM delegations WHERE project = ?').get(p.project)) {
        throw new StateConflictError('NOT_CLAIMED', `${p.project} is not claimed: upload with twine`);
      }
      const latest = this.db.prepare('SELECT MAX(version) AS v FROM project_role_versions WHERE project = ?').get(p.project) as Row;
      const expected = ((latest['v'] as number | null) ?? 0) + 1;
      if (p.role.version !== expected) {
        throw new StateConflictError('VERSION_CONFLICT', `the project role must be version ${expected}, got ${p.role.version}: someone else uploaded meanwhile; run the command again`);
      }
      const seq = Number(
        this.db.prepare("INSERT INTO journal(kind, project, state, created_at) VALUES ('signed-upload', ?, 'pending', ?)").run(p.project, p.now).lastInsertRowid
      );
      for (const f of p.files) this.insertFile(f, seq);
      this.db.prepare('INSERT INTO project_role_versions(project, version, bytes, journal_seq) VALUES (?, ?, ?, ?)').run(p.project, p.role.version, p.role.bytes, seq);
      return { seq };
    });
  }

  promoteDelegations(projects: readonly string[], claimed: { version: number; bytes: Buffer } | null, now: string, bins: readonly { role: string; version: number; bytes: Buffer }[] = []): Promise<void> {
    return this.tx(() => {
      const stmt = this.db.prepare("UPDATE delegations SET parent = 'claimed' WHERE project = ? AND parent = 'recently-claimed'");
      const proj = this.db.prepare("UPDATE projects SET protection = 'claimed' WHERE name = ?");
      for (const p of projects) {
        if (stmt.run(p).changes !== 1) throw new StateConflictError('NOT_FOUND', `${p} is not waiting in recently-claimed`);
        proj.run(p);
      }
      // Key changes of claimed projects take effect with the ceremony that signed them.
      this.db
        .prepare("UPDATE delegations SET keys = pending_keys, keyids = pending_keyids, threshold = pending_threshold, pending_keys = NULL, pending_keyids = NULL, pending_threshold = NULL WHERE parent = 'claimed' AND pending_keys IS NOT NULL")
        .run();
      // With name bins (ADR 0005) the ceremony signs the changed claimed bins, not claimed.
      const signed = [...(claimed ? [{ role: 'claimed', ...claimed }] : []), ...bins];
      const dirty = this.db.prepare('UPDATE roles SET dirty = dirty + 1 WHERE name = ?');
      for (const r of signed) {
        this.db.prepare('INSERT INTO signed_roles(role, version, bytes, created_at) VALUES (?, ?, ?, ?)').run(r.role, r.version, r.bytes, now);
        if (dirty.run(r.role).changes !== 1) throw new Error(`unknown role ${r.role}`);
      }
      dirty.run('recently-claimed');
    });
  }

  recoverOnlineCompromise(p: { since: string | null; now: string }): Promise<{ unclaimedAgain: string[]; discarded: { project: string; filename: string }[] }> {
    return this.tx(() => {
      const rc = (this.db.prepare("SELECT project FROM delegations WHERE parent = 'recently-claimed'").all() as Row[]).map((r) => r['project'] as string);
      const journal = this.db.prepare("INSERT INTO journal(kind, project, state, created_at) VALUES ('recover', ?, 'pending', ?)");
      for (const project of rc) {
        this.db.prepare('DELETE FROM delegations WHERE project = ?').run(project);
        this.db.prepare("UPDATE projects SET protection = 'unclaimed' WHERE name = ?").run(project);
        journal.run(project, p.now);
      }
      if (rc.length > 0) this.db.prepare("UPDATE roles SET dirty = dirty + 1 WHERE name = 'recently-claimed'").run();
      let discarded: { project: string; filename: string }[] = [];
      if (p.since !== null) {
        discarded = this.db
          .prepare("SELECT files.project AS project, files.filename AS filename FROM files JOIN projects ON projects.name = files.project WHERE projects.protection = 'unclaimed' AND files.upload_time >= ?")
          .all(p.since) as { project: string; filename: string }[];
        const del = this.db.prepare('DELETE FROM files WHERE filename = ?');
        for (const d of discarded) del.run(d.filename);
        for (const project of new Set(discarded.map((d) => d.project))) if (!rc.includes(project)) journal.run(project, p.now);
      }
      return { unclaimedAgain: rc, discarded };
    });
  }

  async replaceDelegationKeys(p: { project: string; keys: Record<string, unknown>; keyids: string[]; threshold: number; now: string }): Promise<{ seq: number; pendingCeremony: boolean }> {
    const current = await this.getDelegation(p.project);
    if (!current) throw new StateConflictError('NOT_CLAIMED', `${p.project} is not claimed`);
    return this.changeDelegationKeys({ ...p, userId: -1, expectKeyids: current.keyids, operator: true });
  }

  storeSignedRole(role: string, version: number, bytes: Buffer): Promise<void> {
    return this.tx(() => {
      this.db.prepare('INSERT INTO signed_roles(role, version, bytes, created_at) VALUES (?, ?, ?, ?)').run(role, version, bytes, new Date().toISOString());
    });
  }

  recordBuilderSignedRole(role: string, version: number, bytes: Buffer): Promise<boolean> {
    return this.tx(() => {
      const stored = this.db.prepare('INSERT INTO signed_roles(role, version, bytes, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(role, version, bytes, new Date().toISOString());
      if (stored.changes !== 1) return false;
      this.db.prepare("INSERT INTO roles(name, version, expires, length, sha256) VALUES (?, 0, '', 0, '') ON CONFLICT(name) DO NOTHING").run(role);
      this.db.prepare('UPDATE roles SET dirty = dirty + 1 WHERE name = ?').run(role);
      return true;
    });
  }

  latestSignedRole(role: string): Promise<{ version: number; bytes: Buffer } | undefined> {
    const r = this.db.prepare('SELECT version, bytes FROM signed_roles WHERE role = ? ORDER BY version DESC LIMIT 1').get(role) as Row | undefined;
    return Promise.resolve(r ? { version: r['version'] as number, bytes: r['bytes'] as Buffer } : undefined);
  }

  addRoles(names: readonly string[]): Promise<void> {
    return this.tx(() => {
      const ins = this.db.prepare("INSERT INTO roles(name, version, expires, length, sha256) VALUES (?, 0, '', 0, '') ON CONFLICT(name) DO NOTHING");
      for (const n of names) ins.run(n);
    });
  }

  markDirty(roles: readonly string[]): Promise<void> {
    return this.tx(() => {
      const stmt = this.db.prepare('UPDATE roles SET dirty = dirty + 1 WHERE name = ?');
      for (const r of roles) if (stmt.run(r).changes !== 1) throw new Error(`unknown role ${r}`);
    });
  }

  pendingJournal(limit: number): Promise<JournalEntry[]> {
    // The IN term lets SQLite use the partial index journal_state (its WHERE must appear in the
    // query's, word for word): without it, every call scans the whole journal, ~100 ms at PyPI size.
    const rows = this.db.prepare(`SELECT * FROM journal WHERE state = 'pending' AND ${LIVE_JOURNAL} ORDER BY seq LIMIT ?`).all(limit) as Row[];
    return Promise.resolve(rows.map(toJournal));
  }

  journalEntry(seq: number): Promise<JournalEntry | undefined> {
    const r = this.db.prepare('SELECT * FROM journal WHERE seq = ?').get(seq) as Row | undefined;
    return Promise.resolve(r ? toJournal(r) : undefined);
  }

  applyProjectTransaction(project: string, seqs: number[], targets: TargetRow[], now: string, alsoDirty: readonly string[] = []): Promise<void> {
    return this.tx(() => {
      const touched = new Set<string>(alsoDirty);
      const old = this.db.prepare('SELECT path, role, entry FROM targets WHERE project = ?').all(project) as Row[];
      const oldByPath = new Map(old.map((r) => [r['path'] as string, r]));
      const upsert = this.db.prepare(
        'INSERT INTO targets(path, role, project, entry) VALUES (?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET role = excluded.role, entry = excluded.entry'
      );
      for (const t of targets) {
        const before = oldByPath.get(t.path);
        oldByPath.delete(t.path);
        if (before && before['entry'] === t.entry && before['role'] === t.role) continue;
        if (before) touched.add(before['role'] as string);
        upsert.run(t.path, t.role, t.project, t.entry);
        touched.add(t.role);
      }
      const del = this.db.prepare('DELETE FROM targets WHERE path = ?');
      for (const [path, r] of oldByPath) {
        del.run(path);
        touched.add(r['role'] as string);
      }
      const markDirty = this.db.prepare('UPDATE roles SET dirty = dirty + 1 WHERE name = ?');
      for (const role of touched) {
        if (markDirty.run(role).changes !== 1) throw new Error(`unknown role ${role}`);
      }
      const mark = this.db.prepare("UPDATE journal SET state = 'applied', applied_at = ? WHERE seq = ? AND state = 'pending'");
      for (const seq of seqs) mark.run(now, seq);
    });
  }

  failJournal(seqs: number[], error: string): Promise<void> {
    return this.tx(() => {
      const stmt = this.db.prepare("UPDATE journal SET state = 'failed', error = ? WHERE seq = ?");
      for (const seq of seqs) stmt.run(error, seq);
    });
  }

  roleStates(): Promise<RoleState[]> {
    const rows = this.db.prepare('SELECT name, version, expires, length, sha256 FROM roles').all() as RoleState[];
    return Promise.resolve(rows);
  }

  recordRoleVersion(role: RoleState): Promise<void> {
    return this.tx(() => {
      this.db
        .prepare('INSERT INTO roles(name, version, expires, length, sha256) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version, expires = excluded.expires, length = excluded.length, sha256 = excluded.sha256')
        .run(role.name, role.version, role.expires, role.length, role.sha256);
    });
  }

  hasPendingWork(): Promise<boolean> {
    const r =
      this.db.prepare(`SELECT 1 FROM journal WHERE ${LIVE_JOURNAL} LIMIT 1`).get() ??
      this.db.prepare('SELECT 1 FROM roles WHERE dirty > 0 LIMIT 1').get();
    return Promise.resolve(r !== undefined);
  }

  collectPublishInputs(alsoRebuild: readonly string[]): Promise<PublishInputs> {
    return this.tx(() => {
      const dirty = this.db.prepare('SELECT name, dirty FROM roles WHERE dirty > 0').all() as Row[];
      const seen = new Set(dirty.map((r) => r['name'] as string));
      for (const name of alsoRebuild) if (!seen.has(name)) dirty.push({ name, dirty: 0 });
      const dirtyRoles = dirty.map((r) => ({ name: r['name'] as string, generation: r['dirty'] as number }));
      const applied = this.db.prepare(`SELECT seq FROM journal WHERE state = 'applied' AND ${LIVE_JOURNAL} ORDER BY seq`).all() as Row[];
      return { dirtyRoles, appliedSeqs: applied.map((r) => r['seq'] as number) };
    });
  }

  roleTargets(names: readonly string[]): Promise<Map<string, { path: string; entry: string }[]>> {
    // One read transaction (deferred: it does not block writers in WAL mode), one indexed
    // query per role, answered from targets_role_covering alone (no sort, no table lookup).
    const targetsOf = this.db.prepare('SELECT path, entry FROM targets WHERE role = ? ORDER BY path');
    const read = this.db.transaction(() => new Map(names.map((name) => [name, targetsOf.all(name) as { path: string; entry: string }[]])));
    return Promise.resolve(read());
  }

  roleTargetsCanonical(names: readonly string[]): Promise<Map<string, string>> {
    // Same transaction and index as roleTargets(); path's BINARY collation is byte order.
    const bodyOf = this.db.prepare(`SELECT group_concat(${canonicalTargetFragmentSql('char')}, ',' ORDER BY path) AS body FROM targets WHERE role = ?`);
    const read = this.db.transaction(() => new Map(names.map((name) => [name, ((bodyOf.get(name) as { body: string | null }).body ?? '')])));
    return Promise.resolve(read());
  }

  commitPublication(p: {
    lease: Lease;
    roles: RoleState[];
    clearedDirty: { name: string; generation: number }[];
    publishedSeqs: number[];
    snapshotVersion: number;
    timestampBytes: Buffer;
    now: string;
  }): Promise<void> {
    return this.tx(() => {
      this.checkLease(p.lease);
      this.db.prepare('DELETE FROM publication_intents').run();
      const upd = this.db.prepare(
        'INSERT INTO roles(name, version, expires, length, sha256) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version, expires = excluded.expires, length = excluded.length, sha256 = excluded.sha256'
      );
      for (const r of p.roles) upd.run(r.name, r.version, r.expires, r.length, r.sha256);
      const clear = this.db.prepare('UPDATE roles SET dirty = 0 WHERE name = ? AND dirty = ?');
      for (const d of p.clearedDirty) clear.run(d.name, d.generation);
      const pub = this.db.prepare("UPDATE journal SET state = 'published', published_version = ? WHERE seq = ? AND state = 'applied'");
      for (const seq of p.publishedSeqs) pub.run(p.snapshotVersion, seq);
      this.db.prepare('INSERT INTO publications(snapshot_version, timestamp_bytes, created_at) VALUES (?, ?, ?)').run(
        p.snapshotVersion, p.timestampBytes, p.now
      );
    });
  }

  latestTimestamp(): Promise<{ snapshotVersion: number; bytes: Buffer } | undefined> {
    const r = this.db.prepare('SELECT snapshot_version, timestamp_bytes FROM publications ORDER BY snapshot_version DESC LIMIT 1').get() as
      | Row
      | undefined;
    return Promise.resolve(r ? { snapshotVersion: r['snapshot_version'] as number, bytes: r['timestamp_bytes'] as Buffer } : undefined);
  }

  recentTimestamps(limit: number): Promise<Buffer[]> {
    const rows = this.db.prepare('SELECT timestamp_bytes FROM publications ORDER BY snapshot_version DESC LIMIT ?').all(limit) as Row[];
    return Promise.resolve(rows.map((r) => r['timestamp_bytes'] as Buffer));
  }

  initRoles(roles: RoleState[], targets: TargetRow[]): Promise<void> {
    return this.tx(() => {
      const ins = this.db.prepare('INSERT INTO roles(name, version, expires, length, sha256) VALUES (?, ?, ?, ?, ?)');
      for (const r of roles) ins.run(r.name, r.version, r.expires, r.length, r.sha256);
      const t = this.db.prepare('INSERT INTO targets(path, role, project, entry) VALUES (?, ?, ?, ?)');
      for (const row of targets) t.run(row.path, row.role, row.project, row.entry);
    });
  }

  currentTarget(path: string): Promise<TargetRow | undefined> {
    const r = this.db.prepare('SELECT * FROM targets WHERE path = ?').get(path) as TargetRow | undefined;
    return Promise.resolve(r);
  }

  publishedVersions(seqs: readonly number[]): Promise<Map<number, number>> {
    const stmt = this.db.prepare("SELECT published_version FROM journal WHERE seq = ? AND state = 'published'");
    const out = new Map<number, number>();
    for (const seq of seqs) {
      const r = stmt.get(seq) as Row | undefined;
      if (r) out.set(seq, r['published_version'] as number);
    }
    return Promise.resolve(out);
  }

  // ---- PEP 480 concurrency rules (in this process) --------------------------------------------

  async withProjectTransaction<T>(project: string, fn: (tx: ProjectTransaction) => Promise<T>): Promise<{ busy: true } | { busy: false; value: T }> {
    const releaseProject = this.locks.tryAcquire(`project:${project}`);
    if (!releaseProject) return { busy: true };
    const releases = [releaseProject];
    let locked = false;
    const tx: ProjectTransaction = {
      pending: () =>
        Promise.resolve(
          (this.db.prepare("SELECT seq, kind FROM journal WHERE state = 'pending' AND project = ? ORDER BY seq").all(project) as Row[]).map((r) => ({
            seq: r['seq'] as number,
            kind: r['kind'] as JournalKind,
          }))
        ),
      files: () => this.projectFiles(project),
      delegation: () => this.getDelegation(project),
      latestProjectRole: () => this.latestProjectRole(project),
      currentRoles: () =>
        Promise.resolve((this.db.prepare('SELECT DISTINCT role FROM targets WHERE project = ?').all(project) as Row[]).map((r) => r['role'] as string)),
      twoFactor: () => Promise.resolve(this.projectAtTwoFactor(project)),
      lock: async (keys) => {
        if (locked) throw new Error('ProjectTransaction.lock may be called once');
        locked = true;
        for (const key of [...new Set(keys)].sort()) releases.push(await this.locks.acquire(`lock:${key}`));
      },
      // Committed when fn returns, as PostgreSQL commits its transaction: all or nothing.
      apply: (seqs, targets, now, alsoDirty) => {
        if (deferred) return Promise.reject(new Error('ProjectTransaction.apply may be called once'));
        deferred = () => this.applyProjectTransaction(project, [...seqs], [...targets], now, alsoDirty);
        return Promise.resolve();
      },
    };
    let deferred: (() => Promise<void>) | undefined;
    try {
      const value = await fn(tx);
      await deferred?.();
      return { busy: false, value };
    } finally {
      for (const r of releases.reverse()) r();
    }
  }

  // ---- the snapshot leader --------------------------------------------------------------------

  private leaseRow(): { holder: string; epoch: number; expires_at: number } | undefined {
    return this.db.prepare('SELECT holder, epoch, expires_at FROM leader_lease WHERE id = 1').get() as
      | { holder: string; epoch: number; expires_at: number }
      | undefined;
  }

  /** Throws NotLeaderError unless `lease` is the current, unexpired lease (inside a transaction). */
  private checkLease(lease: Lease): void {
    const row = this.leaseRow();
    if (!row || row.holder !== lease.holder || row.epoch !== lease.epoch || row.expires_at <= Date.now()) throw new NotLeaderError(lease);
  }

  acquireLeadership(holder: string, ttlMs: number, replacing?: Lease): Promise<Lease | undefined> {
    // The lease is kept on this machine's clock: every process of an embedded store runs here.
    return this.tx(() => {
      const row = this.leaseRow();
      const now = Date.now();
      const current = row && { holder: row.holder, epoch: row.epoch, live: row.expires_at > now };
      const decision = decideLeadership(current, holder, replacing);
      if (decision === undefined) return undefined;
      this.db
        .prepare('INSERT INTO leader_lease(id, holder, epoch, expires_at) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at')
        .run(holder, decision.epoch, now + ttlMs);
      return decision;
    });
  }

  renewLeadership(lease: Lease, ttlMs: number): Promise<boolean> {
    return this.tx(() => {
      const now = Date.now();
      const r = this.db.prepare('UPDATE leader_lease SET expires_at = ? WHERE id = 1 AND holder = ? AND epoch = ? AND expires_at > ?').run(now + ttlMs, lease.holder, lease.epoch, now);
      return r.changes === 1;
    });
  }

  releaseLeadership(lease: Lease): Promise<void> {
    return this.tx(() => {
      this.db.prepare('UPDATE leader_lease SET expires_at = 0 WHERE id = 1 AND holder = ? AND epoch = ?').run(lease.holder, lease.epoch);
    });
  }

  leader(): Promise<LeaderInfo | undefined> {
    const row = this.leaseRow();
    return Promise.resolve(
      row && { holder: row.holder, epoch: row.epoch, expiresAt: new Date(row.expires_at).toISOString(), expired: row.expires_at <= Date.now() }
    );
  }

  recordPublicationIntent(lease: Lease, paths: readonly string[]): Promise<void> {
    return this.tx(() => {
      this.checkLease(lease);
      const ins = this.db.prepare('INSERT INTO publication_intents(path, epoch) VALUES (?, ?) ON CONFLICT(path) DO NOTHING');
      for (const path of paths) ins.run(path, lease.epoch);
    });
  }

  publicationIntents(): Promise<string[]> {
    return Promise.resolve((this.db.prepare('SELECT path FROM publication_intents ORDER BY path').all() as Row[]).map((r) => r['path'] as string));
  }

  clearPublicationIntents(lease: Lease): Promise<void> {
    return this.tx(() => {
      this.checkLease(lease);
      this.db.prepare('DELETE FROM publication_intents').run();
    });
  }

  // ---- two-factor authentication ------------------------------------------------------------

  private projectAtTwoFactor(project: string): boolean {
    return (this.db.prepare(PROJECT_AT_TWO_FACTOR_SQL).get(project, project) as Row)['ok'] === 1;
  }

  /** Journals a re-publication of each project (its signed two-factor field may change). */
  private journalTwoFactor(projects: readonly string[], now: string): number[] {
    const insert = this.db.prepare("INSERT INTO journal(kind, project, state, created_at) VALUES ('two-factor', ?, 'pending', ?)");
    return projects.map((p) => Number(insert.run(p, now).lastInsertRowid));
  }

  private journalMemberProjects(userId: number, now: string): number[] {
    const projects = (this.db.prepare(PROJECTS_OF_MEMBER_SQL).all(userId) as Row[]).map((r) => r['project'] as string);
    return this.journalTwoFactor(projects, now);
  }

  twoFactor(userId: number): Promise<TwoFactorRecord | undefined> {
    const r = this.db.prepare(TWO_FACTOR_USER_SQL).get(userId, userId) as Row | undefined;
    return Promise.resolve(
      r ? { secret: r['secret'] as string, lastStep: r['last_step'] as number, enabledAt: r['enabled_at'] as string, recoveryLeft: r['recovery_left'] as number } : undefined
    );
  }

  enableTwoFactor(userId: number, secret: string, step: number, recoveryHashes: readonly string[], now: string): Promise<{ seqs: number[] }> {
    return this.tx(() => {
      if (this.db.prepare('SELECT 1 FROM two_factor_users WHERE user_id = ?').get(userId)) {
        throw new StateConflictError('TWO_FACTOR_ON', 'two-factor authentication is on already: turn it off first to enrol another authenticator');
      }
      this.db.prepare('INSERT INTO two_factor_users(user_id, secret, last_step, enabled_at) VALUES (?, ?, ?, ?)').run(userId, secret, step, now);
      this.db.prepare('DELETE FROM two_factor_recovery WHERE user_id = ?').run(userId);
      const add = this.db.prepare('INSERT INTO two_factor_recovery(user_id, code_hash) VALUES (?, ?)');
      for (const h of recoveryHashes) add.run(userId, h);
      return { seqs: this.journalMemberProjects(userId, now) };
    });
  }

  disableTwoFactor(userId: number, now: string): Promise<{ seqs: number[] }> {
    return this.tx(() => {
      const seqs = this.journalMemberProjects(userId, now);
      this.db.prepare('DELETE FROM two_factor_recovery WHERE user_id = ?').run(userId);
      this.db.prepare('DELETE FROM two_factor_users WHERE user_id = ?').run(userId);
      return { seqs };
    });
  }

  useTotpStep(userId: number, step: number): Promise<boolean> {
    return Promise.resolve(this.db.prepare(USE_TOTP_STEP_SQL).run(step, userId, step).changes === 1);
  }

  useRecoveryCode(userId: number, codeHash: string, now: string): Promise<boolean> {
    return Promise.resolve(this.db.prepare(USE_RECOVERY_CODE_SQL).run(now, userId, codeHash).changes === 1);
  }

  tokenTwoFactor(tokenHash: string): Promise<boolean> {
    return Promise.resolve(this.db.prepare('SELECT 1 FROM two_factor_tokens WHERE token_hash = ?').get(tokenHash) !== undefined);
  }

  projectTwoFactor(project: string): Promise<{ required: boolean; membersWithout: string[] }> {
    const required = this.db.prepare('SELECT 1 FROM two_factor_projects WHERE project = ?').get(project) !== undefined;
    const without = this.db.prepare(MEMBERS_WITHOUT_SQL).all(project) as Row[];
    return Promise.resolve({ required, membersWithout: without.map((r) => r['name'] as string) });
  }

  setProjectTwoFactor(project: string, userId: number, required: boolean, now: string): Promise<{ seq: number }> {
    return this.tx(() => {
      if (!this.db.prepare('SELECT 1 FROM projects WHERE name = ?').get(project)) throw new StateConflictError('NOT_FOUND', `no project named ${project}`);
      if (!this.db.prepare("SELECT 1 FROM project_roles WHERE project = ? AND user_id = ? AND role = 'owner'").get(project, userId)) {
        throw new StateConflictError('NOT_OWNER', `only an owner of ${project} may change whether it requires two-factor authentication`);
      }
      if (required) this.db.prepare('INSERT INTO two_factor_projects(project, required_at) VALUES (?, ?) ON CONFLICT(project) DO NOTHING').run(project, now);
      else this.db.prepare('DELETE FROM two_factor_projects WHERE project = ?').run(project);
      return { seq: this.journalTwoFactor([project], now)[0] as number };
    });
  }

  /** No other process announces work to an embedded store: the caller's polling finds it. */
  listen(_listener: (event: StoreEvent) => void): Promise<() => Promise<void>> {
    return Promise.resolve(() => Promise.resolve());
  }
}
