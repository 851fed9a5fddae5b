// SPDX-License-Identifier: Apache-2.0
// The state store's two-factor tables (issue 14, level 2) and their SQL, written once for the
// SQLite and PostgreSQL stores (`?` placeholders; pgSql() numbers them for PostgreSQL):
//   two_factor_users     a row while the user has TOTP on: the secret, the last time step used
//                        (a code of that step or an earlier one is a replay) and since when
//   two_factor_recovery  the user's one-time recovery codes, by SHA-256; used_at once spent
//   two_factor_tokens    API tokens made from a session that passed the second factor
//   two_factor_projects  projects whose owners require two-factor for every upload, claim or yank
// New tables rather than new columns of users/tokens/projects: an older database gets them from
// CREATE TABLE IF NOT EXISTS, and the tables other features add stay untouched.

export function twoFactorSchema(dialect: 'sqlite' | 'postgres'): string {
  const text = dialect === 'postgres' ? 'TEXT COLLATE "C"' : 'TEXT';
  return `
CREATE TABLE IF NOT EXISTS two_factor_users (
  user_id INTEGER PRIMARY KEY REFERENCES users(id), secret TEXT NOT NULL,
  last_step INTEGER NOT NULL, enabled_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS two_factor_recovery (
  user_id INTEGER NOT NULL REFERENCES users(id), code_hash ${text} NOT NULL, used_at TEXT,
  PRIMARY KEY (user_id, code_hash));
CREATE TABLE IF NOT EXISTS two_factor_tokens (token_hash ${text} PRIMARY KEY REFERENCES tokens(token_hash));
CREATE TABLE IF NOT EXISTS two_factor_projects (
  project ${text} PRIMARY KEY REFERENCES projects(name), required_at TEXT NOT NULL);
`;
}

/** Created last by twoFactorSchema(): when it exists, all of them do. */
export const TWO_FACTOR_LAST_TABLE = 'two_factor_projects';

/** The tables, in an order that satisfies their foreign keys (for moving an embedded state). */
export const TWO_FACTOR_TABLES = ['two_factor_users', 'two_factor_recovery', 'two_factor_tokens', 'two_factor_projects'] as const;

/**
 * Whether a project is at level two-factor: its owners require it, and every owner and
 * maintainer has it on. One row, column `ok`: 0/1 on SQLite, a boolean on PostgreSQL.
 * Parameters: project, project.
 */
export const PROJECT_AT_TWO_FACTOR_SQL = `SELECT (EXISTS (SELECT 1 FROM two_factor_projects WHERE project = ?)
  AND NOT EXISTS (SELECT 1 FROM project_roles r WHERE r.project = ? AND NOT EXISTS (SELECT 1 FROM two_factor_users t WHERE t.user_id = r.user_id))) AS ok`;

/**
 * The projects whose signed two-factor field may change when a user's second factor does: those
 * that require it, that the user is a member of, and whose pages the index signs (unclaimed:
 * a claimed project's pages are what its developers signed). Parameter: user id.
 */
export const PROJECTS_OF_MEMBER_SQL = `SELECT p.project FROM two_factor_projects p JOIN project_roles r ON r.project = p.project
  WHERE r.user_id = ? AND NOT EXISTS (SELECT 1 FROM delegations d WHERE d.project = p.project) ORDER BY p.project`;

/** The names of a project's owners and maintainers without two-factor, by name. Parameter: project. */
export const MEMBERS_WITHOUT_SQL = `SELECT u.name FROM project_roles r JOIN users u ON u.id = r.user_id
  WHERE r.project = ? AND NOT EXISTS (SELECT 1 FROM two_factor_users t WHERE t.user_id = r.user_id) ORDER BY u.name`;

/** Marks one recovery code used, once. Parameters: used_at, user id, code hash. */
export const USE_RECOVERY_CODE_SQL = 'UPDATE two_factor_recovery SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL';

/** Records the time step of an accepted code, if it is later than the last one. Parameters: step, user id, step. */
export const USE_TOTP_STEP_SQL = 'UPDATE two_factor_users SET last_step = ? WHERE user_id = ? AND last_step < ?';

/** The user's TOTP secret, last step, since when, and recovery codes left. Parameter: user id, user id. */
export const TWO_FACTOR_USER_SQL = `SELECT secret, last_step, enabled_at,
  (SELECT COUNT(*) FROM two_factor_recovery WHERE user_id = ? AND used_at IS NULL) AS recovery_left
  FROM two_factor_users WHERE user_id = ?`;

/** `?` placeholders as $1, $2, … (these statements have no `?` anywhere else). */
export function pgSql(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * A project's level in SQL, for lists and counts: its protection, or 'two-factor' for an
 * unclaimed project at that level (as PROJECT_AT_TWO_FACTOR_SQL). `p` is the projects row.
 */
export const PROJECT_LEVEL_SQL = `CASE WHEN p.protection = 'unclaimed'
  AND EXISTS (SELECT 1 FROM two_factor_projects tp WHERE tp.project = p.name)
  AND NOT EXISTS (SELECT 1 FROM project_roles pr WHERE pr.project = p.name AND NOT EXISTS (SELECT 1 FROM two_factor_users tu WHERE tu.user_id = pr.user_id))
  THEN 'two-factor' ELSE p.protection END`;
